#!/usr/bin/env bash
# The server's instructions per request, counted by callgrind: repeatable on
# this machine whatever else it is doing, where wall-clock rates wander ±30 %
# (BENCHMARKS "Sixteenth part"). The server runs under valgrind against a
# database already loaded (the environment names it, as for `serve`), is
# warmed, zeroed, sent exactly N requests over C keep-alive connections, and
# dumped; the script prints instructions per request and the functions that
# spent the most (inclusive), for the page given.
#
#   FILINGDESK_DATABASE_URL=… FILINGDESK_DATA_KEY=… FILINGDESK_JWT_SECRET=… \
#     ./scripts/bench/instructions-per-request.sh BINARY LOGIN_JSON PATH [N [C]]
#
# LOGIN_JSON is the staff sign-in's body (`{"tenant":…,"username":…,"password":…}`),
# or `-` for none.
#
# FILINGDESK_BENCH_LUA=SCRIPT sends wrk's requests instead (one thread, C
# connections): N is then seconds (a quarter of them to warm), and the
# requests are counted by wrk, which must see no answer other than 2xx.
# Public submissions across 100 tenants (BENCHMARKS "Seventeenth part"):
#
#   FILINGDESK_BENCH_LUA=scripts/bench/submit.lua TENANTS=100 … \
#     ./scripts/bench/instructions-per-request.sh BINARY - /api/v1/public/tenant-001/tickets 20 8
#
# FILINGDESK_BENCH_DUMP=FILE keeps callgrind's dump for callgrind_annotate.
# Needs valgrind (callgrind_control, callgrind_annotate) and python3.
set -euo pipefail
BIN=$1 LOGIN=$2 TARGET=$3 N=${4:-400} C=${5:-8}
PORT=${FILINGDESK_BENCH_PORT:-18386}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
export FILINGDESK_LISTEN=127.0.0.1:$PORT FILINGDESK_LOG=${FILINGDESK_LOG:-warn} FILINGDESK_SCHEDULER=0
valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.%p" "$BIN" serve >"$WORK/serve.log" 2>&1 &
VG=$!
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
TOKEN=
[ "$LOGIN" = - ] || TOKEN=$(curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' -d "$LOGIN" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
send() { # count (seconds with a wrk script)
  if [ -n "${FILINGDESK_BENCH_LUA:-}" ]; then
    wrk -t1 -c"$C" -d"$1"s -s "$FILINGDESK_BENCH_LUA" "http://127.0.0.1:$PORT$TARGET" >"$WORK/wrk.txt"
    if grep -q Non-2xx "$WORK/wrk.txt"; then cat "$WORK/wrk.txt" >&2; exit 1; fi
    return
  fi
  python3 - "$PORT" "$TOKEN" "$TARGET" "$1" "$C" <<'EOF'
import http.client, sys, threading
port, token, target, n, c = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
left = [n]; lock = threading.Lock(); bad = []
def worker():
    h = http.client.HTTPConnection('127.0.0.1', int(port), timeout=120)
    while True:
        with lock:
            if left[0] == 0: return
            left[0] -= 1
        h.request('GET', target, headers={'Authorization': 'Bearer ' + token})
        r = h.getresponse(); r.read()
        if r.status != 200: bad.append(r.status)
ts = [threading.Thread(target=worker) for _ in range(c)]
[t.start() for t in ts]; [t.join() for t in ts]
if bad: sys.exit(f'{len(bad)} answers were not 200: {sorted(set(bad))}')
EOF
}
send $((N / 4))              # warm: connections opened, statements prepared
callgrind_control -z "$VG" >/dev/null
send "$N"
callgrind_control -d "$VG" >/dev/null
kill "$VG"; wait "$VG" 2>/dev/null || true
# With wrk, N was seconds: the requests are what wrk counted.
[ -z "${FILINGDESK_BENCH_LUA:-}" ] || N=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
# The dump asked for above (the one valgrind writes at exit holds only the stop).
DUMP=$(ls "$WORK"/cg.*.1 2>/dev/null | head -1)
TOTAL=$(callgrind_annotate "$DUMP" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
[ -n "${FILINGDESK_BENCH_DUMP:-}" ] && cp "$DUMP" "$FILINGDESK_BENCH_DUMP"
echo "instructions per request: $((TOTAL / N)) ($N requests, $C connections, $TARGET)"
callgrind_annotate --inclusive=yes "$DUMP" 2>/dev/null | sed -n '/^Ir/,$p' | head -${FILINGDESK_BENCH_TOP:-40}
