"""The private stack of a fault run: its own PostgreSQL cluster and Redis server under
``var/faults/``, and gunicorn, Celery workers and beats against them. The shared PostgreSQL and
Redis are never touched: these two are the only ones the run stops and restarts."""

import atexit
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

PROJECT_DIR = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
BIN = Path(sys.executable).parent


def port_open(port):
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {seconds} s waiting for {what}")


def settle(condition, seconds):
    """Wait up to ``seconds`` for ``condition``; whether it came true."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def postgres_bin():
    """The PostgreSQL server binaries: $PG_BIN, else the newest /usr/lib/postgresql/*/bin."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL server binaries not found (install postgresql or set PG_BIN)")


class Stack:
    """Start, stop and kill the pieces; ``close()`` (also at exit) ends everything it started."""

    postgres_options = "-c full_page_writes=off -c max_connections=100"

    def __init__(self, root, *, pg_port=5440, redis_port=6390, web_port=None, database="crm_faults"):
        self.root = Path(root)
        self.pg_data = self.root / "pg"
        self.run_dir = self.root / "run"
        self.logs = self.root / "logs"
        self.pg_port, self.redis_port = pg_port, redis_port
        self.web_port = web_port or free_port()
        self.database = database
        self.pg_bin = postgres_bin()
        self.redis_server = shutil.which("redis-server")
        if not self.redis_server:
            raise RuntimeError("redis-server not found (install redis-server)")
        self.processes = {}
        shutil.rmtree(self.logs, ignore_errors=True)  # each run's logs start empty
        self._closed = False
        atexit.register(self.close)

    # --- environment ---------------------------------------------------------------------------

    @property
    def database_url(self):
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/{self.database}"

    @property
    def redis_url(self):
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def env(self, **extra):
        """The environment of every process of the run (and of the run's own Django)."""
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CRM_VAR_DIR": str(self.root / "var"),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DB_CONN_MAX_AGE": "60",
            "DEBUG": "0",
            "API_RATE_LIMIT": "1000000/min",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "PYTHONPATH": str(PROJECT_DIR),
            **extra,
        }

    # --- PostgreSQL ----------------------------------------------------------------------------

    def _as_postgres(self, args):
        return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args

    def _owned_by_postgres(self, path):
        path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")

    def _pg(self, tool, *args):
        return subprocess.run(
            self._as_postgres([str(self.pg_bin / tool), *args]), check=True, capture_output=True, text=True, cwd="/"
        )

    def init_postgres(self):
        """A fresh cluster (the previous run's is removed), started, with an empty database."""
        self.stop_postgres(quiet=True)
        if port_open(self.pg_port):
            raise RuntimeError(f"port {self.pg_port} is taken by another server: choose --pg-port")
        shutil.rmtree(self.pg_data, ignore_errors=True)
        self._owned_by_postgres(self.pg_data)
        self.pg_data.chmod(0o700)
        self._owned_by_postgres(self.run_dir)
        self._pg("initdb", "-D", str(self.pg_data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        self.start_postgres()
        self._pg("createdb", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres", self.database)

    def start_postgres(self, data=None, port=None, log="postgres.log"):
        """Start the cluster in ``data`` (the primary's by default) on ``port``, with
        ``postgres_options``."""
        data, port = data or self.pg_data, port or self.pg_port
        options = f"-p {port} -k {self.run_dir} -c listen_addresses=127.0.0.1 -c fsync=off {self.postgres_options}"
        self._pg("pg_ctl", "-D", str(data), "-o", options, "-l", str(self.run_dir / log), "-w", "-t", "60", "start")

    def stop_postgres(self, mode="fast", quiet=False, data=None):
        data = data or self.pg_data
        if not (data / "postmaster.pid").exists():
            return
        try:
            self._pg("pg_ctl", "-D", str(data), "-m", mode, "-w", "-t", "60", "stop")
        except subprocess.CalledProcessError:
            if not quiet:
                raise

    # --- Redis ---------------------------------------------------------------------------------

    def start_redis(self):
        if port_open(self.redis_port):
            self.stop_redis()  # our own, left by an interrupted run (its pid file says so)
        if port_open(self.redis_port):
            raise RuntimeError(f"port {self.redis_port} is taken by another server: choose --redis-port")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                self.redis_server,
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--dir",
                str(self.run_dir),
                "--pidfile",
                str(self.run_dir / "redis.pid"),
                "--logfile",
                str(self.run_dir / "redis.log"),
            ],
            check=True,
            capture_output=True,
        )
        wait_until(lambda: port_open(self.redis_port), 10, "Redis to listen")

    def stop_redis(self):
        pid_file = self.run_dir / "redis.pid"
        if not pid_file.exists():
            return
        pid = int(pid_file.read_text().strip() or 0)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            cmdline = ""
        if pid and "redis-server" in cmdline and str(self.redis_port) in cmdline:
            os.kill(pid, signal.SIGTERM)  # no persistence configured: it exits without saving
            wait_until(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), 10, "Redis to stop")
        pid_file.unlink(missing_ok=True)

    # --- the product's processes ---------------------------------------------------------------

    def manage(self, *args):
        """``manage.py *args`` in the run's environment; raises with the output's tail on failure."""
        done = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=PROJECT_DIR, env=self.env(), capture_output=True, text=True
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")

    def wait_answers(self, name, port, what):
        """Wait until the web process ``name`` answers the sign-in page on ``port``."""

        def answers():
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{what} exited; see {self.logs / (name + '.log')}")
            try:
                return requests.get(f"http://127.0.0.1:{port}/login/", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_until(answers, 60, what)

    def start(self, name, args, **extra_env):
        self.logs.mkdir(parents=True, exist_ok=True)
        log = open(self.logs / f"{name}.log", "ab")
        process = subprocess.Popen(
            args,
            cwd=PROJECT_DIR,
            env=self.env(**extra_env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes[name] = process
        return process

    def start_web(self, workers=2):
        self.start(
            "web",
            [
                str(BIN / "gunicorn"),
                "config.wsgi:application",
                "-b",
                f"127.0.0.1:{self.web_port}",
                "-w",
                str(workers),
                "--timeout",
                "60",
                "--log-level",
                "warning",
            ],
        )
        self.wait_answers("web", self.web_port, "gunicorn")

    def start_worker(self, name):
        return self.start(
            name,
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-P",
                "solo",
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "WARNING",
            ],
        )

    def start_beat(self, name, seconds):
        return self.start(
            name,
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "bench.faults.fast_beat",
                "beat",
                "-S",
                "celery.beat:PersistentScheduler",
                "-s",
                str(self.root / f"{name}-schedule"),
                "--max-interval",
                "1",
                "-l",
                "INFO",
            ],
            FAULTS_BEAT_SECONDS=str(seconds),
        )

    def log_text(self, name):
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self, name, sig=signal.SIGKILL):
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def close(self):
        if self._closed:
            return
        self._closed = True
        for name in list(self.processes):
            self.kill(name, signal.SIGTERM)
        try:
            self.stop_redis()
        finally:
            self.stop_postgres(quiet=True)


def _zombie(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True
