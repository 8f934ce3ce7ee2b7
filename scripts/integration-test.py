#!/usr/bin/env python3
"""Integration, checked with libraries nobody here wrote, against the real
server (started as production starts it, scheduler on):

  1. OAuth 2.0 client credentials with Authlib's OAuth2Session (Basic and
     form client authentication, scope narrowing, its error handling);
  2. the console's calls with the token Authlib manages;
  3. webhooks received by a real HTTP receiver and verified with the
     reference `standardwebhooks` package, before and after a secret
     rotation (both signatures for a day);
  4. an audit checkpoint verified with `cryptography`'s Ed25519 over the
     documented canonical JSON.

    ./scripts/integration-test.py              (SQLite)
    FILINGDESK_CI_PG_URL=postgres://… ./scripts/integration-test.py   (also PostgreSQL)

Python packages come from PyPI, pinned, into target/integration-venv.
"""

import base64
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "target", "integration-venv")
PACKAGES = ["Authlib==1.9.10", "requests==2.34.2", "standardwebhooks==1.1.0", "cryptography==50.0.2"]


def ensure_venv():
    py = os.path.join(VENV, "bin", "python")
    marker = os.path.join(VENV, "packages.txt")
    wanted = "\n".join(PACKAGES)
    if not (os.path.exists(marker) and open(marker).read() == wanted):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([os.path.join(VENV, "bin", "pip"), "install", "--quiet", "--disable-pip-version-check", *PACKAGES],
                       check=True)
        open(marker, "w").write(wanted)
    if os.path.realpath(sys.prefix) != os.path.realpath(VENV) and os.environ.get("FD_IN_VENV") != "1":
        os.execve(py, [py, *sys.argv], dict(os.environ, FD_IN_VENV="1"))


ensure_venv()

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from authlib.integrations.base_client.errors import OAuthError  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey  # noqa: E402
from standardwebhooks.webhooks import Webhook, WebhookVerificationError  # noqa: E402

NUMBER = "京ICP备12345678号"


class Receiver:
    """A webhook receiver that keeps each request's headers and raw body."""

    def __init__(self):
        self.got = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.lock:
                    outer.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait(self, count, seconds=20):
        deadline = time.time() + seconds
        while time.time() < deadline:
            with self.lock:
                if len(self.got) >= count:
                    return list(self.got)
            time.sleep(0.05)
        raise SystemExit(f"FAIL: {len(self.got)} webhook requests arrived, {count} expected")


def check(cond, what):
    if not cond:
        raise SystemExit("FAIL: " + what)
    print("  ok:", what)


def run(db_url, label):
    print(f"--- {label}")
    port = harness.free_port()
    base = f"http://127.0.0.1:{port}"
    work = tempfile.mkdtemp()
    log = open(os.path.join(work, "serve.log"), "w")
    env = harness.server_env(db_url, port, FILINGDESK_WEBHOOK_ALLOW_PRIVATE="1")
    server = harness.start_server(env, log)
    try:
        _, boss, _ = harness.seed_tenant(base, "acme", filings=1)
        call = lambda *a, **k: harness.call(base, *a, **k)  # noqa: E731

        # 1. An API client, and Authlib fetching its token.
        status, client, _ = call("POST", "/api/v1/api-clients", boss,
                                 {"name": "console", "scopes": ["tickets:read", "tickets:write", "filings:read"]})
        check(status == 201 and client["client_secret"].startswith("fdcs_"), "API client created, secret fdcs_…")
        token_url = base + "/api/v1/oauth/token"
        basic = OAuth2Session(client["client_id"], client["client_secret"], scope="tickets:read tickets:write",
                              token_endpoint_auth_method="client_secret_basic")
        token = basic.fetch_token(token_url, grant_type="client_credentials")
        check(token["token_type"] == "Bearer" and token["expires_in"] == 900, "Authlib (Basic): a 15-minute Bearer token")
        check(token["scope"] == "tickets:read tickets:write", "the scope asked for, not more")
        post = OAuth2Session(client["client_id"], client["client_secret"], token_endpoint_auth_method="client_secret_post")
        check("access_token" in post.fetch_token(token_url, grant_type="client_credentials"),
              "Authlib (client_secret_post): a token")
        for wrong, expected in [(("nobody", "fdcs_x"), "invalid_client"), ((client["client_id"], "fdcs_wrong"), "invalid_client")]:
            try:
                OAuth2Session(*wrong).fetch_token(token_url, grant_type="client_credentials")
                check(False, "a wrong secret gets no token")
            except OAuthError as e:
                check(e.error == expected, f"Authlib reads the RFC 6749 error: {e.error}")
        try:
            OAuth2Session(client["client_id"], client["client_secret"], scope="tickets:delete").fetch_token(
                token_url, grant_type="client_credentials")
            check(False, "an unknown scope gets no token")
        except OAuthError as e:
            check(e.error == "invalid_scope", "Authlib reads invalid_scope")

        # 2. A webhook subscription, then the console submits for its customer.
        rx = Receiver()
        status, hook, _ = call("POST", "/api/v1/webhooks", boss,
                               {"url": rx.url, "events": ["ticket.submitted", "ticket.status_changed"]})
        check(status == 201 and hook["secret"].startswith("whsec_"), "webhook created, secret whsec_…")
        r = basic.post(base + "/api/v1/tickets", json={
            "kind": "password_reset", "filing_number": NUMBER, "contact_name": "张三", "phone": "13812345678",
            "id_number": "11010519491231002X", "console_verified": True})
        check(r.status_code == 201, f"the console submits with the token Authlib holds ({r.status_code})")
        listed = basic.get(base + "/api/v1/tickets", params={"filing_number": NUMBER}).json()
        check(len(listed["items"]) == 1, "and finds it by filing number")
        check(basic.get(base + "/api/v1/staff").status_code == 403, "a route outside its scopes: 403")

        # 3. The event, verified by the reference library.
        got = rx.wait(1)
        headers, body = got[0]
        payload = Webhook(hook["secret"]).verify(body, headers)
        check(payload["type"] == "ticket.submitted", "standardwebhooks verifies ticket.submitted")
        check("13812345678" not in body.decode() and "11010519491231002X" not in body.decode(), "no personal data in it")
        try:
            Webhook(hook["secret"]).verify(body + b" ", headers)
            check(False, "a changed body is refused")
        except WebhookVerificationError:
            check(True, "a changed body does not verify")
        old_secret = hook["secret"]
        status, rotated, _ = call("POST", f"/api/v1/webhooks/{hook['id']}/rotate-secret", boss)
        check(status == 200, "secret rotated")
        ticket_id = listed["items"][0]["id"]
        assert call("POST", f"/api/v1/tickets/{ticket_id}/claim", boss)[0] == 200
        headers, body = rx.wait(2)[1]
        check(headers["webhook-signature"].count("v1,") == 2, "after rotation: two signatures")
        for secret, which in [(rotated["secret"], "new"), (old_secret, "old")]:
            check(Webhook(secret).verify(body, headers)["type"] == "ticket.status_changed",
                  f"standardwebhooks verifies with the {which} secret")

        # 4. A checkpoint, verified with cryptography's Ed25519.
        status, cp, _ = call("GET", "/api/v1/audit-events/checkpoint", boss)
        key = call("GET", "/api/v1/audit-events/public-key")[1]
        signed = {k: v for k, v in cp.items() if k != "signature"}
        canonical = json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
        public.verify(base64.b64decode(cp["signature"]), canonical)
        check(True, "the checkpoint's Ed25519 signature verifies over the canonical JSON")
        try:
            public.verify(base64.b64decode(cp["signature"]), canonical.replace(b'"seq":', b'"seq":1'))
            check(False, "a changed checkpoint is refused")
        except InvalidSignature:
            check(True, "a changed checkpoint does not verify")
        status, v, _ = call("POST", "/api/v1/audit-events/verify", boss, cp)
        check(status == 200 and v["checkpoint_ok"] and v["ok"], "the service agrees the chain holds it")
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()


def main():
    with tempfile.TemporaryDirectory() as d:
        run(f"sqlite://{d}/integration.db", "SQLite")
    pg = os.environ.get("FILINGDESK_CI_PG_URL")
    if pg:
        name = f"filingdesk_integration_{os.getpid()}"
        harness.psql(pg, f"CREATE DATABASE {name}")
        try:
            run(pg.rsplit("/", 1)[0] + "/" + name, "PostgreSQL")
        finally:
            harness.psql(pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print("integration: passed")


if __name__ == "__main__":
    main()
