#!/usr/bin/env bash
# Swagger UI in a real browser: Debian's chromium, headless, driven by
# playwright-core from npm (tests/browser). Opens /swagger-ui/, authorizes
# with a tenant admin's token, executes one call; the screenshot is kept in
# target/swagger-ui.png. Installs chromium (apt) and playwright-core (npm,
# into target/browser-test) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FILINGDESK_BIN:-$PWD/target/debug/filingdesk}
PORT=${BROWSER_PORT:-18898}
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
NODE_DIR=$PWD/target/browser-test
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

[ -x "$BIN" ] || cargo build --locked --quiet
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# Chinese text needs a CJK font in the screenshots (1.6 MB).
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  echo "installing a CJK font"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null
fi
mkdir -p "$NODE_DIR"
cp tests/browser/package.json tests/browser/swagger-ui.mjs "$NODE_DIR/"
if [ ! -d "$NODE_DIR/node_modules/playwright-core" ]; then
  (cd "$NODE_DIR" && npm install --silent --no-audit --no-fund)
fi

FILINGDESK_DATABASE_URL="sqlite://$WORK/ui.db" FILINGDESK_LISTEN=127.0.0.1:$PORT FILINGDESK_LOG=warn \
  FILINGDESK_BOOTSTRAP_PASSWORD=Browser-Root-Pass-1 FILINGDESK_DEMO=1 \
  FILINGDESK_DRAIN_SECONDS=0 FILINGDESK_OUTBOX_INTERVAL_SECONDS=1 FILINGDESK_NOTIFY_MAX_ATTEMPTS=1 FILINGDESK_SMS_WEBHOOK_URL=http://127.0.0.1:9/sms \
  "$BIN" serve >"$WORK/serve.log" 2>&1 &
for _ in $(seq 1 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done
PW=$(grep "  tenant admin " "$WORK/serve.log" | awk '{print $NF}')
TOKEN=$(curl -sf "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"tenant\":\"demo\",\"username\":\"demo-admin\",\"password\":\"$PW\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
node "$NODE_DIR/swagger-ui.mjs" "$BASE" "$TOKEN" "$PWD/target/swagger-ui.png"

# The reviewer workbench (/console/): a second reviewer `rob` (an admin-set
# password, changed at the first sign-in), two approvals for password resets,
# twenty-seven public tickets for the demo filing, the last three worked. The scheduler runs (outbox every
# second) against an SMS gateway nobody listens on, so SMS give up at the
# first attempt and the admin has one to retry.
cp tests/browser/console.mjs "$NODE_DIR/"
RITA_PW=$(grep "  reviewer " "$WORK/serve.log" | awk '{print $NF}')
ROB_PW=Second-Reviewer-Initial-9
curl -sf "$BASE/api/v1/staff" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d "{\"username\":\"rob\",\"display_name\":\"Rob\",\"email\":\"rob@example.com\",\"role\":\"reviewer\",\"password\":\"$ROB_PW\"}" >/dev/null
curl -sf -X PUT "$BASE/api/v1/settings" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"approvals_required":{"password_reset":2,"initial_password_resend":1,"contact_change":2}}' >/dev/null
ticket() {
  curl -sf "$BASE/api/v1/public/demo/tickets" -H 'content-type: application/json' \
    -d "{\"kind\":\"password_reset\",\"filing_number\":\"京ICP备00000001号\",\"contact_name\":\"张三\",\"phone\":\"$1\",\"id_number\":\"11010519491231002X\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["number"])'
}
# Older tickets with wrong phones: a second queue page, and repeated
# mismatches flag the later ones.
for i in $(seq 10 33); do ticket 136000000$i >/dev/null; done
FIRST=$(ticket 13800138000)
SECOND=$(ticket 13900001111)
THIRD=$(ticket 13700002222)
ADMIN_PASSWORD="$PW" TICKETS="[\"$FIRST\",\"$SECOND\",\"$THIRD\"]" node "$NODE_DIR/console.mjs" "$BASE" "$RITA_PW" "$ROB_PW" "$PWD/target"
