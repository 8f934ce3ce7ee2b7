"""What the fault scripts (`crash-test.py`, `outage-test.py`) share: the
server binary started as production starts it, a JSON client that never
raises, stub SMS and SMTP peers that record what reached them and can be
taken down and brought back, and PostgreSQL helpers. Standard library only;
loopback only.
"""

import base64
import http.server
import json
import os
import random
import shutil
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("FILINGDESK_BIN", os.path.join(ROOT, "target", "debug", "filingdesk"))
PG = os.environ.get("FILINGDESK_CI_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
ROOT_PASSWORD = "Fault-Root-Pass-1"
STAFF_PASSWORD = "Staff-Password-9"
INITIAL_PASSWORD = "Initial-Password-7"


def free_port():
    """A free port below the kernel's ephemeral range. A port from that range
    (what binding port 0 gives) can be taken again, while a peer is down, as
    the local port of any outgoing connection — a database connection, a
    client's request, or a sender's own connect to the closed port, which
    then connects to itself — and the peer cannot come back up on it."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(1000):
        port = random.randrange(10000, low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def psql(url, sql):
    return subprocess.run(["psql", url, "-Atc", sql], check=True, capture_output=True, text=True).stdout.strip()


def call(base, method, path, token=None, body=None, timeout=15):
    """(status, parsed body, content type); status None when nothing answered."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null"), resp.headers.get("content-type")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return e.code, parsed, e.headers.get("content-type")
    except (urllib.error.URLError, ConnectionError, socket.timeout, OSError):
        return None, None, None


def server_env(db_url, port, **extra):
    env = dict(
        os.environ,
        FILINGDESK_DATABASE_URL=db_url,
        FILINGDESK_DATA_KEY=base64.b64encode(b"k" * 32).decode(),
        FILINGDESK_JWT_SECRET="fault-test-jwt-secret-0123456789abcdef",
        FILINGDESK_LISTEN=f"127.0.0.1:{port}",
        FILINGDESK_BOOTSTRAP_PASSWORD=ROOT_PASSWORD,
        FILINGDESK_OUTBOX_INTERVAL_SECONDS="1",
        FILINGDESK_LOG="warn",
        # No load balancer to drain from, unless a script says otherwise.
        FILINGDESK_DRAIN_SECONDS="0",
    )
    env.update(extra)
    return env


def start_server(env, log):
    """Starts `filingdesk serve` and waits until it answers `/healthz`."""
    base = "http://" + env["FILINGDESK_LISTEN"]
    p = subprocess.Popen([BIN, "serve"], env=env, stdout=log, stderr=log)
    for _ in range(400):
        if call(base, "GET", "/healthz")[0] == 200:
            return p
        if p.poll() is not None:
            raise SystemExit(f"the server exited with {p.returncode}; see {log.name}")
        time.sleep(0.05)
    raise SystemExit("the server did not start")


# Filings that `submit_ticket` sends every fourth ticket about (from their
# numbers on file, which get SMS); seed_tenant(…, filings=SEEDED_FILINGS).
SEEDED_FILINGS = 40
# The SMS budget seed_tenant gives the tenant, per phone. A ticket's news
# beyond it is not an outage's fault but the budget's: it goes a minute
# later (or not at all), and a script waiting for "every notification sent"
# then waited for a minute it does not allow for. How many tickets a script
# submits depends on the machine's speed (a fast machine put more than ten
# on one phone within a minute, and the outage test failed so), so
# `submit_ticket` gives each seeded phone at most `per_minute` tickets per
# server and sends the rest from numbers not on file.
SMS_BUDGET = {"per_minute": 10, "per_hour": 60, "per_day": 200}
_sms_tickets = {}  # (base URL, seeded filing) -> tickets submitted from its phone
_sms_tickets_lock = threading.Lock()


def _take_seeded_phone(base, i):
    """Whether filing `i`'s phone may bring one more ticket to `base`."""
    with _sms_tickets_lock:
        taken = _sms_tickets.get((base, i), 0)
        if taken >= SMS_BUDGET["per_minute"]:
            return False
        _sms_tickets[(base, i)] = taken + 1
        return True


def seed_tenant(base, slug="acme", filings=1):
    """A tenant with an admin `boss` and a reviewer `rita`, generous rate
    limits, and `filings` filings (0, 1, …); returns (tenant, admin token,
    reviewer token)."""
    root = call(base, "POST", "/api/v1/auth/login", body={"username": "admin", "password": ROOT_PASSWORD})[1]
    root = root["access_token"]
    status, tenant, _ = call(base, "POST", "/api/v1/tenants", root, {"slug": slug, "name": slug.title()})
    assert status == 201, status
    # The platform admin gives the tenant its first admin, who creates the
    # rest; each changes the password an admin set at the first sign-in.
    creator = root
    for name, role in [("boss", "tenant_admin"), ("rita", "reviewer")]:
        body = {"username": name, "display_name": name, "email": f"{name}@example.com", "role": role,
                "password": INITIAL_PASSWORD}
        if creator is root:
            body["tenant_id"] = tenant["id"]
        status, _, _ = call(base, "POST", "/api/v1/staff", creator, body)
        assert status == 201, status
        first_sign_in(base, slug, name)
        creator = login(base, slug, "boss")
    boss, rita = (login(base, slug, name) for name in ("boss", "rita"))
    limits = {"rate_limits": {"per_address_per_minute": 1000000, "per_tenant_per_minute": 10000000,
                              "per_filing_per_hour": 1000},
              "sms_budget": SMS_BUDGET}
    assert call(base, "PUT", "/api/v1/settings", boss, limits)[0] == 200
    for n in range(filings):
        assert create_filing(base, boss, n)[0] == 201
    return tenant, boss, rita


def first_sign_in(base, slug, username):
    """Signs in with the password an admin set and changes it to STAFF_PASSWORD."""
    token = call(base, "POST", "/api/v1/auth/login", body={
        "tenant": slug, "username": username, "password": INITIAL_PASSWORD})[1]["access_token"]
    status = call(base, "PUT", "/api/v1/auth/password", token,
                  {"current_password": INITIAL_PASSWORD, "new_password": STAFF_PASSWORD})[0]
    assert status == 204, status


def login(base, slug, username):
    return call(base, "POST", "/api/v1/auth/login", body={
        "tenant": slug, "username": username, "password": STAFF_PASSWORD})[1]["access_token"]


def create_filing(base, token, n):
    """Filing `n` (0, 1, …) with its own number, phone and e-mail address."""
    return call(base, "POST", "/api/v1/filings", token, {
        "filing_number": f"京ICP备{12345678 + n:08d}号", "subject_name": f"示例{n}", "subject_type": "enterprise",
        "responsible_person": "张三", "id_number": "11010519491231002X", "phone": f"138{12345678 + n:08d}",
        "email": f"z{n}@example.com"})


def submit_ticket(base, k, n):
    """A public ticket. Most name filings nobody hosts, from numbers not on
    file (which get no SMS); every fourth is about one of the seeded filings,
    from its number on file, which gets the ticket's news by SMS — while that
    phone is within its budget (SMS_BUDGET)."""
    i = (k * 7 + n // 4) % SEEDED_FILINGS
    if n % 4 == 0 and _take_seeded_phone(base, i):
        number, phone = f"京ICP备{12345678 + i:08d}号", f"138{12345678 + i:08d}"
    else:
        number, phone = f"京ICP备{(k * 1000000 + n) % 100000000:08d}号", f"139{(k * 1000000 + n) % 100000000:08d}"
    return call(base, "POST", "/api/v1/public/acme/tickets", body={
        "kind": "password_reset", "filing_number": number, "contact_name": "张三", "phone": phone,
        "id_number": "11010519491231002X"})


class Peer:
    """A stub peer on a fixed loopback port that can be taken down (nothing
    listens: connections are refused) and brought back, and can answer
    with failures while up. Records what reached it, by notification id."""

    def __init__(self, handler_factory):
        self.port = free_port()
        self.received = []
        self.refused = 0
        self.failing = False
        self.lock = threading.Lock()
        self._factory = handler_factory
        self._server = None

    def up(self):
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), self._factory(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def record(self, notification_id):
        with self.lock:
            self.received.append(notification_id)

    def refuse(self):
        with self.lock:
            self.refused += 1

    def counts(self):
        with self.lock:
            out = {}
            for i in self.received:
                out[i] = out.get(i, 0) + 1
            return out


def sms_peer():
    """The SMS gateway: JSON with `notification_id`; 200, or 503 while failing."""

    def factory(peer):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if peer.failing:
                    peer.refuse()
                    self.send_response(503)
                else:
                    peer.record(body["notification_id"])
                    self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler

    return Peer(factory)


def smtp_peer():
    """A minimal SMTP server: records each accepted message by the
    notification id in its Message-ID; answers 451 to DATA while failing."""

    def factory(peer):
        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(b"220 stub ESMTP\r\n")
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    verb = line[:4].upper()
                    if verb in (b"EHLO", b"HELO"):
                        self.wfile.write(b"250 stub\r\n")
                    elif verb == b"DATA":
                        if peer.failing:
                            peer.refuse()
                            self.wfile.write(b"451 try again later\r\n")
                            continue
                        self.wfile.write(b"354 go on\r\n")
                        message = []
                        while (data := self.rfile.readline()) not in (b".\r\n", b""):
                            message.append(data)
                        ids = [m for m in message if m.lower().startswith(b"message-id:")]
                        peer.record(ids[0].split(b"<")[1].split(b"@")[0].decode() if ids else "?")
                        self.wfile.write(b"250 queued\r\n")
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:  # MAIL, RCPT, RSET, NOOP
                        self.wfile.write(b"250 ok\r\n")

        return Handler

    return Peer(factory)


class PrivatePostgres:
    """A PostgreSQL cluster of our own (initdb in a temporary directory, its
    own port) that the outage test may stop and start without touching the
    machine's shared one."""

    def __init__(self):
        self.bin = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        if not os.path.exists(os.path.join(self.bin, "initdb")):
            versions = sorted(os.listdir("/usr/lib/postgresql"))
            self.bin = f"/usr/lib/postgresql/{versions[-1]}/bin"
        self.dir = tempfile.mkdtemp(prefix="filingdesk-pg-")
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.dir, "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        else:
            self._as = []
        self._run("initdb", "-D", self.dir + "/data", "-U", "postgres", "-A", "trust", "--no-sync")

    def _run(self, tool, *args):
        subprocess.run(self._as + [os.path.join(self.bin, tool), *args], check=True, capture_output=True)

    def start(self):
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
        self._run("pg_ctl", "-D", self.dir + "/data", "-o", opts, "-l", self.dir + "/log", "-w", "start")

    def stop(self):
        # `fast`: what a restart or failover does to clients: every session is ended.
        self._run("pg_ctl", "-D", self.dir + "/data", "-m", "fast", "-w", "stop")

    def destroy(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
