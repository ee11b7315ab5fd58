"""``make prod-rehearsal`` (``python -m bench.rehearsal``): the production topology of
docs/deployment.md, brought up on this machine from Debian and PyPI packages under a temporary
folder with ports of its own, a load test through it and a failover drill, then everything stopped
and removed.

    nginx :N ──► gunicorn A :a ─┐                       ┌─► PostgreSQL primary :p
             └─► gunicorn B :b ─┴─► PgBouncer :B ───────┤      │ streaming (pg_basebackup -R)
    celery worker 1, worker 2 ─────► (transaction pool)  └─► PostgreSQL replica :r  (dashboards, exports)
    celery beat (one: crm.beat_lock) ──► Redis :R (broker, cache, the beat lock)

Steps: a private PostgreSQL primary (``initdb``), a streaming replica of it (``pg_basebackup -R``),
PgBouncer in transaction pooling in front of both, a private Redis, the small demo set migrated and
loaded *through PgBouncer* (``DISABLE_SERVER_SIDE_CURSORS=1``), static files collected for nginx,
two gunicorn instances (``config/gunicorn.py``), two Celery workers and one beat — and a second
beat that must refuse to start. Then:

1. **load**: ``--clients`` people (``bench.faults.traffic``: pages including the three dashboards,
   leads, orders with items, coupon claims and redemptions through the API) through nginx for
   ``--seconds``; requests/s, p95, errors; /healthz and /metrics through nginx; how many
   transactions the replica served.
2. **failover drill**: the same traffic, and reminders due at once for the workers; gunicorn A is
   killed (SIGKILL) and, inside a batch of reminders, worker 1; the rest carries on. Afterwards
   every acknowledged write is in the database whole (``bench.faults.scenarios.check_data``), and
   every reminder notice and email went out exactly once.

Needs root (PostgreSQL and PgBouncer run as the ``postgres`` user) and the Debian packages
``postgresql`` (server binaries), ``pgbouncer``, ``nginx-light`` (or ``nginx``) and
``redis-server``. Nothing shared is touched: the machine's own PostgreSQL and Redis keep running.
"""

import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.faults.stack import BIN, PROJECT_DIR, Stack, free_port, port_open, settle, wait_until
from bench.faults.traffic import Traffic

DATABASE = "crm_rehearsal"


class Rehearsal(Stack):
    """The fault runs' stack, plus a replica, PgBouncer, nginx and two gunicorns."""

    postgres_options = (
        "-c timezone=UTC -c max_connections=100 -c wal_level=replica -c max_wal_senders=5 -c hot_standby=on"
    )

    def __init__(self, root):
        super().__init__(root, pg_port=free_port(), redis_port=free_port(), database=DATABASE)
        self.replica_data = self.root / "replica"
        self.replica_port = free_port()
        self.bouncer_port = free_port()
        self.nginx_port = free_port()
        self.web_ports = {"web-a": free_port(), "web-b": free_port()}
        self.web_port = self.nginx_port  # what bench.faults' traffic talks to
        for tool in ("pgbouncer", "nginx"):
            if not (shutil.which(tool) or Path(f"/usr/sbin/{tool}").exists()):
                raise RuntimeError(f"{tool} not found: apt-get install pgbouncer nginx-light")

    # --- environment: the product reaches PostgreSQL through PgBouncer only ---------------------

    @property
    def database_url(self):
        return f"postgres://postgres@127.0.0.1:{self.bouncer_port}/{DATABASE}"

    @property
    def replica_url(self):
        return f"postgres://postgres@127.0.0.1:{self.bouncer_port}/{DATABASE}_replica"

    def env(self, **extra):
        return super().env(
            DATABASE_REPLICA_URL=self.replica_url,
            DISABLE_SERVER_SIDE_CURSORS="1",
            READ_YOUR_WRITES_SECONDS="5",
            REPLICA_MAX_LAG_SECONDS="10",
            BEAT_LOCK="1",
            CRM_HEARTBEAT_SECONDS="2",
            BEAT_MAX_AGE_SECONDS="30",
            **extra,
        )

    # --- PostgreSQL primary and replica ---------------------------------------------------------

    def init_replica(self):
        shutil.rmtree(self.replica_data, ignore_errors=True)
        self._owned_by_postgres(self.replica_data)
        self.replica_data.chmod(0o700)
        self._pg(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.pg_port),
            "-U",
            "postgres",
            "-D",
            str(self.replica_data),
            "-R",  # standby.signal and primary_conninfo: a streaming standby
            "-X",
            "stream",
            "--no-sync",
        )
        self.start_postgres(self.replica_data, self.replica_port, "replica.log")

    def stop_replica(self):
        self.stop_postgres(quiet=True, data=self.replica_data)

    def psql(self, port, sql):
        return self._pg("psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", DATABASE, "-Atc", sql)

    # --- PgBouncer ------------------------------------------------------------------------------

    def start_pgbouncer(self):
        folder = self.root / "pgbouncer"
        self._owned_by_postgres(folder)
        (folder / "userlist.txt").write_text('"postgres" ""\n')
        (folder / "pgbouncer.ini").write_text(
            pgbouncer_ini(
                primary=self.pg_port,
                replica=self.replica_port,
                port=self.bouncer_port,
                folder=folder,
            )
        )
        for path in folder.iterdir():
            if os.geteuid() == 0:
                shutil.chown(path, "postgres", "postgres")
        self.start("pgbouncer", self._as_postgres(["/usr/sbin/pgbouncer", str(folder / "pgbouncer.ini")]))
        wait_until(lambda: port_open(self.bouncer_port), 20, "PgBouncer to listen")

    # --- nginx and gunicorn ---------------------------------------------------------------------

    def start_nginx(self):
        folder = self.root / "nginx"
        for sub in ("", "body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
            (folder / sub).chmod(0o777)
        (folder / "nginx.conf").write_text(
            nginx_conf(
                port=self.nginx_port,
                upstreams=list(self.web_ports.values()),
                static_root=self.root / "var" / "staticfiles",
                folder=folder,
                logs=self.logs,
            )
        )
        check = subprocess.run(
            ["/usr/sbin/nginx", "-t", "-q", "-p", str(folder), "-c", str(folder / "nginx.conf")],
            capture_output=True,
            text=True,
        )
        if check.returncode:
            raise RuntimeError(f"nginx -t: {check.stderr}")
        self.start(
            "nginx", ["/usr/sbin/nginx", "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"]
        )
        wait_until(lambda: port_open(self.nginx_port), 20, "nginx to listen")

    def start_gunicorn(self, name):
        metrics = self.root / f"metrics-{name}"
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir(parents=True)
        port = self.web_ports[name]
        self.start(
            name,
            [str(BIN / "gunicorn"), "-c", "config/gunicorn.py"],
            WEB_BIND=f"127.0.0.1:{port}",
            WEB_WORKERS="2",
            WEB_THREADS="4",
            WEB_NAME=f"crm-{name}",
            PROMETHEUS_MULTIPROC_DIR=str(metrics),
            LOG_FORMAT="json",
            LOG_LEVEL="INFO",
        )
        self.wait_answers(name, port, name)

    def close(self):
        try:
            super().close()
        finally:
            self.stop_replica()


def pgbouncer_ini(*, primary, replica, port, folder):
    return f"""[databases]
{DATABASE} = host=127.0.0.1 port={primary} dbname={DATABASE}
{DATABASE}_replica = host=127.0.0.1 port={replica} dbname={DATABASE}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/userlist.txt
admin_users = postgres
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
reserve_pool_size = 5
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
logfile = {folder}/pgbouncer.log
pidfile = {folder}/pgbouncer.pid
"""


def nginx_conf(*, port, upstreams, static_root, folder, logs):
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in upstreams)
    return f"""worker_processes 2;
pid {folder}/nginx.pid;
error_log {logs}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    log_format crm '$remote_addr [$time_iso8601] "$request" $status $body_bytes_sent '
                   '$request_time $upstream_addr $upstream_response_time id=$request_id';
    access_log {logs}/nginx-access.log crm;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream crm {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 20m;
        location /static/ {{
            alias {static_root}/;
            expires 30d;
            access_log off;
        }}
        location / {{
            proxy_pass http://crm;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Request-ID $request_id;
            # a request that never reached a live instance goes to the other one; a POST that did
            # reach one that died is not sent again (the client retries with its Idempotency-Key)
            proxy_next_upstream error timeout http_502 http_503;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


# --- the run ------------------------------------------------------------------------------------


def replica_transactions(stack):
    return int(
        stack.psql(
            stack.replica_port, f"SELECT xact_commit FROM pg_stat_database WHERE datname = '{DATABASE}'"
        ).stdout.strip()
    )


def second_beat_refused(stack):
    """A second beat started beside the first exits with status 3 (the lock), sending nothing."""
    process = stack.start_beat("beat-second", 1)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        stack.kill("beat-second")
        return False, None
    stack.processes.pop("beat-second", None)
    return process.returncode == 3, process.returncode


def run(args):
    from bench.faults import scenarios
    from bench.faults.traffic import summarize

    figures = {"load_average_before": [round(v, 2) for v in os.getloadavg()], "cpus": os.cpu_count()}
    root = Path(tempfile.mkdtemp(prefix="crm-rehearsal-"))
    root.chmod(0o755)  # nginx's workers read the static files, postgres its folders
    stack = Rehearsal(root)
    lines, passed = [], True
    started = time.monotonic()

    def say(text):
        print(f"rehearsal: {text}", flush=True)

    try:
        say(
            f"under {root}: nginx :{stack.nginx_port}, gunicorn :{stack.web_ports['web-a']} "
            f":{stack.web_ports['web-b']}, PgBouncer :{stack.bouncer_port}, PostgreSQL primary "
            f":{stack.pg_port} and replica :{stack.replica_port}, Redis :{stack.redis_port}"
        )
        stack.init_postgres()
        stack.init_replica()
        stack.start_pgbouncer()
        stack.start_redis()
        streaming = stack.psql(stack.pg_port, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
        in_recovery = stack.psql(stack.replica_port, "SELECT pg_is_in_recovery()").stdout.strip()
        say(f"replica streaming: {streaming.stdout.strip()} standby, in recovery: {in_recovery}")
        ctx = scenarios.prepare(stack)  # migrate + the small demo set, through PgBouncer
        stack.manage("collectstatic", "--noinput", "-v", "0")
        stack.start_gunicorn("web-a")
        stack.start_gunicorn("web-b")
        stack.start_nginx()
        stack.start_worker("worker-1")
        stack.start_worker("worker-2")
        stack.start_beat("beat", 1)  # the product's beat (its lock on), on the fault runs' fast schedule
        refused, status = second_beat_refused(stack)
        passed &= refused
        lines.append(f"{'PASS' if refused else 'FAIL'} a second beat refused to start (exit status {status})")
        base = f"http://127.0.0.1:{stack.nginx_port}"
        settle(lambda: requests.get(f"{base}/healthz", timeout=30).status_code == 200, 60)
        health = requests.get(f"{base}/healthz", timeout=30)
        replica_lag = health.json()["checks"].get("replica", {}).get("lag_seconds")
        ok = health.status_code == 200 and "replica" in health.json()["checks"]
        passed &= ok
        lines.append(
            f"{'PASS' if ok else 'FAIL'} /healthz through nginx: {health.status_code}, "
            + ", ".join(f"{k} {'ok' if v['ok'] else 'FAILING'}" for k, v in health.json()["checks"].items())
            + f"; replica lag {replica_lag} s; X-Request-ID {health.headers.get('X-Request-ID', '')[:8]}…"
        )
        static = requests.get(f"{base}/static/css/app.css", timeout=30)
        ok = static.status_code == 200 and "X-Request-ID" not in static.headers  # nginx, not Django
        passed &= ok
        lines.append(f"{'PASS' if ok else 'FAIL'} static files served by nginx: {static.status_code}")
        figures["ready_seconds"] = round(time.monotonic() - started)
        say(f"stack ready in {figures['ready_seconds']} s (static through nginx: {static.status_code})")

        # 1. load
        replica_before = replica_transactions(stack)
        traffic = Traffic(
            base_url=base,
            token=ctx.token,
            customers=ctx.customers,
            batch_code=ctx.batch_code,
            run_id=ctx.run_id,
            clients=args.clients,
            # everyone signs in at once on a shared two-core machine: wait up to a minute for it
            login_timeout=60,
        )
        traffic.start()
        signed_in_by = time.monotonic()
        settle(lambda: len({id(o) for o in traffic.outcomes}) >= args.clients, 180)  # everyone signed in
        load_start = time.monotonic()
        figures["sign_in_seconds"] = round(load_start - signed_in_by, 1)
        time.sleep(args.seconds)
        load_end = time.monotonic()
        load = summarize(traffic.window(load_start, load_end))
        load_seconds = args.seconds
        figures["load"] = {**load, "seconds": load_seconds, "per_second": round(load["requests"] / load_seconds, 1)}
        figures["load"]["load_average"] = [round(v, 2) for v in os.getloadavg()]
        figures["replica_transactions"] = replica_transactions(stack) - replica_before
        ok = load["errors"] == 0 and load["unclean"] == 0 and figures["replica_transactions"] > 0
        passed &= ok
        lines.append(
            f"{'PASS' if ok else 'FAIL'} load through nginx: {args.clients} people, {load['requests']} requests in "
            f"{load_seconds:.0f} s ({figures['load']['per_second']}/s), p95 {load['p95_ms']} ms, "
            f"{load['errors']} errors, {load['refused']} refused by rules; by kind {load['by_kind']}; "
            f"the replica served {figures['replica_transactions']} transactions; load average "
            f"{figures['load']['load_average']}"
        )
        metrics = requests.get(f"{base}/metrics", timeout=30).text
        ok = "crm_request_seconds_bucket" in metrics and "crm_queue_length" in metrics
        passed &= ok
        lines.append(
            f"{'PASS' if ok else 'FAIL'} /metrics through nginx: "
            f"{sum(1 for line in metrics.splitlines() if not line.startswith('#'))} samples"
        )

        # 2. failover drill: gunicorn A and worker 1 killed under load
        from django.utils import timezone

        tag = f"RH{ctx.run_id}"
        reminders = args.reminders
        scenarios.make_reminders(ctx, tag, reminders, due_from=timezone.now() - datetime.timedelta(minutes=1))
        expected = 3 * reminders
        drill_start = time.monotonic()
        settle(scenarios.dispatch_transaction_open, 30)
        inside = scenarios.dispatch_transaction_open()
        stack.kill("worker-1", signal.SIGKILL)
        killed_worker_at = time.monotonic()
        time.sleep(2)
        stack.kill("web-a", signal.SIGKILL)
        killed_web_at = time.monotonic()
        time.sleep(args.drill_seconds)
        traffic.stop()
        drill_end = time.monotonic()
        settle(lambda: scenarios.notice_figures(tag)["emails_sent"] >= expected, 180)
        time.sleep(3)  # more beat ticks: nothing more may go out
        notices = scenarios.notice_figures(tag)
        drill = summarize(traffic.window(load_end, drill_end))
        around_kill = summarize(traffic.window(killed_web_at - 0.5, killed_web_at + 3))
        figures["drill"] = {
            **drill,
            "seconds": round(drill_end - load_end, 1),
            "around_the_kill": around_kill,
            "worker_killed_inside_batch": inside,
            "notices": notices,
            "expected_notices": expected,
            "worker_killed_after_s": round(killed_worker_at - drill_start, 1),
        }
        data = scenarios.check_data(ctx, [traffic])
        once = scenarios.exactly_once(notices, expected)
        # the requests in flight on the killed instance get a 502 (a POST is not sent twice: API
        # clients retry with their Idempotency-Key); a client that gave up waiting (ReadTimeout on an
        # overloaded machine) is counted apart; anything else is a failure
        timeouts = drill["statuses"].get("ReadTimeout", 0)
        other = drill["errors"] - around_kill["errors"] - timeouts
        figures["drill"]["timeouts"] = timeouts
        ok = data.passed and once and other <= 0
        passed &= ok
        lines.append(
            f"{'PASS' if ok else 'FAIL'} failover drill: gunicorn A and worker 1 SIGKILLed under load "
            f"(worker {'inside' if inside else 'outside'} a reminder batch); {drill['requests']} requests in "
            f"{figures['drill']['seconds']} s, {drill['errors']} errors ({around_kill['errors']} within 3 s of the "
            f"kill: requests in flight on the killed instance {around_kill['statuses']}; {timeouts} client "
            f"time-outs), p95 {drill['p95_ms']} ms; statuses {drill['statuses']}"
        )
        lines.append(
            f"{'PASS' if once else 'FAIL'} no duplicate send: {reminders} reminders → {notices['notices']} notices, "
            f"{notices['notifications']} notifications, {notices['emails_sent']} emails sent, "
            f"{notices['emails_sent_twice']} sent twice (expected {expected} each)"
        )
        lines.append(f"{'PASS' if data.passed else 'FAIL'} no lost write: {data.line}")
        health = requests.get(f"{base}/healthz", timeout=30)
        lines.append(
            f"INFO /healthz after the drill (one gunicorn, one worker left): {health.status_code} "
            f"{json.dumps({k: v['ok'] for k, v in health.json()['checks'].items()})}"
        )
    except Exception as exc:  # a run that could not finish fails in one line
        passed = False
        lines.append(f"FAIL the rehearsal stopped: {type(exc).__name__}: {exc}")
    finally:
        stack.close()
        figures["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
        figures["seconds"] = round(time.monotonic() - started)
        output = Path(args.output) if args.output else PROJECT_DIR / "var" / "rehearsal"
        output.mkdir(parents=True, exist_ok=True)
        if args.keep:
            say(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
        (output / "results.json").write_text(
            json.dumps({"passed": passed, "lines": lines, **figures}, indent=2, ensure_ascii=False, default=str)
        )
    print()
    for line in lines:
        print(line)
    print(
        f"\nrehearsal: {figures['seconds']} s on {figures['cpus']} cores, load average before "
        f"{figures['load_average_before']}, after {figures['load_average_after']}; "
        f"figures in {output / 'results.json'}"
    )
    failed = sum(line.startswith("FAIL") for line in lines)
    print(f"{sum(line.startswith('PASS') for line in lines)} passed, {failed} failed")
    return 0 if passed and not failed else 1


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.rehearsal", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent people through nginx (8)")
    parser.add_argument("--seconds", type=float, default=30, help="the load test's length (30)")
    parser.add_argument("--drill-seconds", type=float, default=15, help="traffic after the kills (15)")
    parser.add_argument("--reminders", type=int, default=400, help="reminders due during the drill (400)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, configuration)")
    parser.add_argument("--output", help="folder for results.json (var/rehearsal)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("rehearsal: run as root (PostgreSQL and PgBouncer are started as the postgres user)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on a plain kill too
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
