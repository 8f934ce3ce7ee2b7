#!/usr/bin/env python3
"""Three instances behind nginx on one PostgreSQL, a rolling restart under
steady load.

    ./scripts/multi-instance-test.py [SECONDS_OF_LOAD_BETWEEN_RESTARTS [ROUNDS]]

nginx (Debian's package) runs with `deploy/nginx/filingdesk.conf` as it is,
only its ports replaced by free ones, in front of three `filingdesk serve`
on loopback sharing a fresh database, a stub SMS gateway and a stub SMTP
server. While public submissions, queue reads and staff sign-ins go through
nginx without pause, each instance in turn gets SIGTERM, is waited for, and
is started again, for ROUNDS rounds (default 3: a stop that reset queued
connections failed about one restart in seven, so nine give it a fair
chance to show). Then:

- no read got a 5xx or no answer, and no write either;
- `/readyz` answered 503 on each stopping instance while it still served
  (the drain), before it stopped accepting;
- every acknowledged submission is in the database exactly once;
- the outbox delivered every SMS and e-mail exactly once per notification id
  (one scheduler leader at a time across the three);
- a per-address rate limit holds across the three: of 3 x L requests from one
  client address, spread round robin, exactly L are accepted.

Figures are printed; the exit code is 1 when a check fails.
"""

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import call, psql  # noqa: E402

LOAD_SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
SITE = os.path.join(harness.ROOT, "deploy", "nginx", "filingdesk.conf")
FAILURES = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        FAILURES.append(what)


def nginx_binary():
    for path in ("/usr/sbin/nginx", shutil.which("nginx")):
        if path and os.path.exists(path):
            return path
    raise SystemExit("nginx is missing: apt-get install nginx (CI installs it)")


def start_nginx(port, upstreams):
    """nginx in a temporary prefix with the deploy site, ports replaced."""
    prefix = tempfile.mkdtemp(prefix="filingdesk-nginx-")
    os.chmod(prefix, 0o755)
    site = open(SITE).read()
    site = re.sub(r"listen 8080;", f"listen 127.0.0.1:{port};", site)
    for default, actual in zip((8081, 8082, 8083), upstreams):
        site = site.replace(f"127.0.0.1:{default} ", f"127.0.0.1:{actual} ")
    assert all(f":{u} " in site for u in upstreams), "the site's upstreams were not found"
    with open(os.path.join(prefix, "site.conf"), "w") as f:
        f.write(site)
    temp = os.path.join(prefix, "temp")
    os.makedirs(temp)
    os.chmod(temp, 0o777)
    with open(os.path.join(prefix, "nginx.conf"), "w") as f:
        f.write(f"""
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {prefix}/site.conf;
}}
""")
    conf = os.path.join(prefix, "nginx.conf")
    subprocess.run([nginx_binary(), "-t", "-q", "-p", prefix, "-c", conf], check=True)
    p = subprocess.Popen([nginx_binary(), "-p", prefix, "-c", conf])
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        if call(base, "GET", "/healthz")[0] == 200:
            return p, prefix
        time.sleep(0.05)
    raise SystemExit(f"nginx did not come up; see {prefix}/error.log")


class Load:
    """Steady traffic through nginx: submissions, queue reads, sign-ins."""

    def __init__(self, base, rita):
        self.base, self.rita = base, rita
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.results = {"write": [], "read": [], "signin": []}  # (status, seconds)
        self.acknowledged = []
        self.threads = []

    def _note(self, kind, status, seconds):
        with self.lock:
            self.results[kind].append((status, seconds))

    def _writer(self, k):
        n = 0
        while not self.stop.is_set():
            t = time.monotonic()
            status, body, _ = harness.submit_ticket(self.base, 100 + k, n)
            self._note("write", status, time.monotonic() - t)
            if status == 201:
                with self.lock:
                    self.acknowledged.append(body["number"])
            n += 1

    def _reader(self):
        while not self.stop.is_set():
            t = time.monotonic()
            status = call(self.base, "GET", "/api/v1/tickets?limit=20", self.rita)[0]
            self._note("read", status, time.monotonic() - t)

    def _signer(self):
        while not self.stop.is_set():
            t = time.monotonic()
            status = call(self.base, "POST", "/api/v1/auth/login", body={
                "tenant": "acme", "username": "rita", "password": harness.STAFF_PASSWORD})[0]
            self._note("signin", status, time.monotonic() - t)

    def start(self):
        targets = [(self._writer, (0,)), (self._writer, (1,)), (self._reader, ()), (self._reader, ()),
                   (self._signer, ())]
        for fn, args in targets:
            th = threading.Thread(target=fn, args=args, daemon=True)
            th.start()
            self.threads.append(th)

    def finish(self):
        self.stop.set()
        for th in self.threads:
            th.join()


def wait_ready(port, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if call(f"http://127.0.0.1:{port}", "GET", "/readyz", timeout=2)[0] == 200:
            return True
        time.sleep(0.05)
    return False


def rolling_restart(servers, ports, env_of, logs):
    """SIGTERM each in turn; note whether /readyz went 503 while the
    instance still answered; wait for it to exit; start it again."""
    drained = []
    for r, (i, port) in enumerate((i, p) for _ in range(ROUNDS) for i, p in enumerate(ports)):
        time.sleep(LOAD_SECONDS if r < len(ports) else 1.0)
        base = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        servers[i].send_signal(signal.SIGTERM)
        saw_drain = False
        while servers[i].poll() is None:
            ready = call(base, "GET", "/readyz", timeout=2)[0]
            alive = call(base, "GET", "/healthz", timeout=2)[0]
            if ready == 503 and alive == 200:
                saw_drain = True
            time.sleep(0.05)
        stopped = time.monotonic() - started
        drained.append(saw_drain)
        check(servers[i].returncode == 0, f"instance {i + 1} exited cleanly after SIGTERM ({servers[i].returncode})")
        servers[i] = harness.start_server(env_of(port), logs[i])
        check(wait_ready(port), f"instance {i + 1} ready again")
        print(f"      instance {i + 1}: drained and stopped in {stopped:.1f} s, "
              f"back after {time.monotonic() - started:.1f} s")
    return drained


def show_tail(path, what, lines):
    try:
        with open(path, errors="replace") as f:
            tail = f.readlines()[-lines:]
    except OSError as e:
        tail = [f"(cannot read it: {e})\n"]
    print(f"      --- the last {len(tail)} lines of {what}:")
    for line in tail:
        print("      " + line.rstrip())


def summary(kind, samples):
    statuses = {}
    for s, _ in samples:
        statuses[s] = statuses.get(s, 0) + 1
    times = sorted(t for _, t in samples)
    p99 = times[int(len(times) * 0.99) - 1] if len(times) >= 100 else times[-1]
    print(f"      {kind:7} {len(samples):6} requests  median {statistics.median(times) * 1000:6.1f} ms  "
          f"p99 {p99 * 1000:7.1f} ms  statuses {dict(sorted(statuses.items(), key=str))}")
    return sum(n for s, n in statuses.items() if s is None or s >= 500)


def rate_limit_holds(base, boss, limit):
    """Of 3 x limit public requests from one client address, round robin
    over the three instances, exactly `limit` pass (the counters live in the
    database). Starts early in a minute so the window does not turn."""
    body = {"rate_limits": {"per_address_per_minute": limit, "per_tenant_per_minute": 10000000,
                            "per_filing_per_hour": 1000}}
    assert call(base, "PUT", "/api/v1/settings", boss, body)[0] == 200
    while time.time() % 60 > 45:
        time.sleep(0.5)
    import urllib.request
    passed = limited = 0
    for n in range(3 * limit):
        req = urllib.request.Request(
            base + "/api/v1/public/acme/tickets/WO-00000000-0000?tracking_code=AAAA-BBBB-CCCC-DDDD",
            headers={"x-forwarded-for": "203.0.113.7"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        if status == 429:
            limited += 1
        else:
            passed += 1
    print(f"      rate limit {limit}/min from one address: {passed} answered, {limited} refused with 429")
    return passed == limit and limited == 2 * limit


def main():
    name = f"filingdesk_multi_{os.getpid()}"
    psql(harness.PG, f"CREATE DATABASE {name}")
    db_url = harness.PG.rsplit("/", 1)[0] + "/" + name
    sms, smtp = harness.sms_peer(), harness.smtp_peer()
    sms.up()
    smtp.up()
    ports = [harness.free_port() for _ in range(3)]
    proxy_port = harness.free_port()
    logs = [tempfile.NamedTemporaryFile("w", prefix=f"multi-{i + 1}-", suffix=".log", delete=False)
            for i in range(3)]

    def env_of(port):
        return harness.server_env(
            db_url, port,
            FILINGDESK_SMS_WEBHOOK_URL=f"http://127.0.0.1:{sms.port}/sms",
            FILINGDESK_SMTP_URL=f"smtp://127.0.0.1:{smtp.port}",
            FILINGDESK_TRUSTED_PROXIES="127.0.0.1",
            FILINGDESK_DRAIN_SECONDS="2",
            FILINGDESK_DB_POOL_SIZE="8",
            # A stopped instance's unrecorded sends would come back after
            # this lease (sent twice): short, so the test would see them.
            FILINGDESK_NOTIFY_LEASE_SECONDS="20",
            FILINGDESK_JWT_SECRET="multi-instance-jwt-secret-0123456789abcdef")

    # Started together on the empty database: the start-up lock decides.
    servers = [subprocess.Popen([harness.BIN, "serve"], env=env_of(p), stdout=logs[i], stderr=logs[i])
               for i, p in enumerate(ports)]
    nginx = None
    try:
        for i, p in enumerate(ports):
            check(wait_ready(p), f"instance {i + 1} ready (started together)")
        nginx, prefix = start_nginx(proxy_port, ports)
        base = f"http://127.0.0.1:{proxy_port}"
        _, boss, rita = harness.seed_tenant(base, filings=harness.SEEDED_FILINGS)
        psql(db_url, "ANALYZE")

        load = Load(base, rita)
        load.start()
        drained = rolling_restart(servers, ports, env_of, logs)
        time.sleep(LOAD_SECONDS)
        load.finish()

        print("      through nginx, during the rolling restart:")
        bad_writes = summary("write", load.results["write"])
        bad_reads = summary("read", load.results["read"])
        bad_signins = summary("signin", load.results["signin"])
        check(bad_reads == 0, f"no 5xx or unanswered read ({bad_reads})")
        check(bad_writes == 0, f"no 5xx or unanswered write ({bad_writes})")
        check(bad_signins == 0, f"no 5xx or unanswered sign-in ({bad_signins})")
        check(all(drained), f"/readyz answered 503 on each stopping instance while it still served ({drained})")

        numbers = load.acknowledged
        stored = psql(db_url, "SELECT number, count(*) FROM tickets GROUP BY number")
        counts = dict(line.split("|") for line in stored.splitlines() if line)
        missing = [n for n in numbers if n not in counts]
        doubled = [n for n, c in counts.items() if int(c) != 1]
        check(not missing and not doubled and len(set(numbers)) == len(numbers),
              f"every acknowledged submission stored once ({len(numbers)} acknowledged, "
              f"{len(missing)} missing, {len(doubled)} doubled)")

        # The outbox drains once per id, whichever instance leads.
        deadline = time.time() + 90
        while time.time() < deadline:
            waiting = int(psql(db_url, "SELECT count(*) FROM notifications WHERE status IN ('pending', 'failed') "
                                       "AND next_attempt_at <= now() + interval '2 seconds'"))
            if waiting == 0:
                break
            time.sleep(0.5)
        sent_sms = int(psql(db_url, "SELECT count(*) FROM notifications WHERE status = 'sent' AND channel = 'sms'"))
        sent_mail = int(psql(db_url, "SELECT count(*) FROM notifications WHERE status = 'sent' AND channel = 'email'"))
        sms_counts, mail_counts = sms.counts(), smtp.counts()
        print(f"      outbox: {sent_sms} SMS and {sent_mail} e-mails sent; the gateway saw {len(sms_counts)} ids, "
              f"the SMTP server {len(mail_counts)}")
        check(len(sms_counts) == sent_sms and all(c == 1 for c in sms_counts.values()),
              "every SMS reached the gateway exactly once")
        check(len(mail_counts) == sent_mail and all(c == 1 for c in mail_counts.values()),
              "every e-mail reached the SMTP server exactly once")
        check(sent_sms > 0, "SMS were sent during the test")

        check(rate_limit_holds(base, boss, 10), "a per-address rate limit holds across the three instances")
    finally:
        if nginx:
            nginx.terminate()
            nginx.wait()
        for s in servers:
            if s.poll() is None:
                s.send_signal(signal.SIGINT)
                s.send_signal(signal.SIGINT)
        for s in servers:
            try:
                s.wait(timeout=30)
            except subprocess.TimeoutExpired:
                s.kill()
        sms.down()
        smtp.down()
        psql(harness.PG, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    if FAILURES:
        # CI keeps the output, not the files: what failed is shown here.
        if nginx:
            show_tail(os.path.join(prefix, "error.log"), "nginx's error log", 20)
        for log in logs:
            show_tail(log.name, f"instance log {log.name}", 15)
        print(f"{len(FAILURES)} check(s) failed; instance logs: {[l.name for l in logs]}")
        sys.exit(1)
    print("multi-instance test: all checks passed")


if __name__ == "__main__":
    main()
