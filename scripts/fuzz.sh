#!/usr/bin/env bash
# Fuzzing from the contract: schemathesis (from PyPI, pinned) against the
# OpenAPI document the server serves, with real tokens for a tenant admin, a
# reviewer and the platform admin, then without a token. Fails on any 5xx,
# any undocumented status code, content type or response shape.
#
#   ./scripts/fuzz.sh [SECONDS_PER_ROLE]     (default 30; CI runs it so)
#
# The `coverage` phase is left out: under Python 3.11 it crashes inside
# hypothesis now and then ("AST constructor recursion depth mismatch"), an
# error of the tool, not of the API. Longer runs: ./scripts/fuzz.sh 600. Any failure prints a curl command that
# reproduces it and the seed to replay the run (`--generation-seed`).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-30}
BIN=${FILINGDESK_BIN:-$PWD/target/debug/filingdesk}
VENV=${SCHEMATHESIS_VENV:-$PWD/target/schemathesis-venv}
WORK=$(mktemp -d)
PORT=${FUZZ_PORT:-18899}
BASE=http://127.0.0.1:$PORT
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

[ -x "$BIN" ] || cargo build --locked --quiet
if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
fi

FILINGDESK_DATABASE_URL="sqlite://$WORK/fuzz.db" FILINGDESK_LISTEN=127.0.0.1:$PORT FILINGDESK_LOG=warn \
  FILINGDESK_BOOTSTRAP_PASSWORD=Fuzz-Root-Pass-1 FILINGDESK_DEMO=1 FILINGDESK_SCHEDULER=0 \
  "$BIN" serve >"$WORK/serve.log" 2>&1 &
for _ in $(seq 1 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done

token() { # tenant-or-null username password
  curl -sf "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"tenant\":$1,\"username\":\"$2\",\"password\":\"$3\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
pw() { grep "  $1 " "$WORK/serve.log" | awk '{print $NF}'; }

run() { # label [header]
  local label=$1; shift
  echo "--- schemathesis as $label, ${SECS}s"
  local status=0
  "$VENV/bin/schemathesis" run "$BASE/openapi.json" "$@" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases examples,fuzzing,stateful --max-time "$SECS" -w 2 --warnings off >"$WORK/st.txt" 2>&1 || status=$?
  tail -n 25 "$WORK/st.txt"
  if [ "$status" -ne 0 ]; then
    # A failed check fails the run; an error inside the tool alone is reported, not fatal.
    if grep -q '^Failures:' "$WORK/st.txt" || ! grep -q 'Runtime Error' "$WORK/st.txt"; then
      cat "$WORK/st.txt"
      echo "fuzzing as $label failed" >&2
      exit 1
    fi
    echo "note: schemathesis reported an internal error (not a finding about the API); see above"
  fi
}

# The reviewer goes first: the tenant admin's run may disable its account
# (it did: the reviewer's run then went without a token and proved little).
# Each token is taken by an assignment of its own, so that a refused sign-in
# stops the script instead of fuzzing as nobody.
reviewer=$(token '"demo"' demo-reviewer "$(pw reviewer)")
run "reviewer" -H "Authorization: Bearer $reviewer"
admin=$(token '"demo"' demo-admin "$(pw 'tenant admin')")
run "tenant admin" -H "Authorization: Bearer $admin"
root=$(token null admin Fuzz-Root-Pass-1)
run "platform admin" -H "Authorization: Bearer $root"
run "anonymous"
echo "fuzzing passed"
