"""``python -m bench.loadtest``: the mix of ``locustfile.py`` through gunicorn on 127.0.0.1, for each
number of gunicorn workers × concurrent users, then a reconciliation of the data.

``DATABASE_URL`` must name a PostgreSQL database that holds the large demo set
(``manage.py seed_demo --size large``). The run writes to it (claims, redemptions, orders, leads,
follow-ups, API clients, a few coupon batches), so point it at a copy of the benchmark database::

    createdb -h 127.0.0.1 -U postgres -T crm_bench crm_load      # nobody connected to crm_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_load REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python -m bench.loadtest [--users 8,32,64] [--workers 2,4] [--run-time 45]

Steps: migrate (a copy may predate the code), check that the data reconciles, set up API clients
and claimable batches, note the counters; then per worker count start gunicorn (``config.wsgi``,
``DEBUG=0``, sync workers as in the README's deployment, the API throttle out of the way) and per
user count run locust headless (every user logs in — the warm-up — then ``--run-time`` seconds are
measured); stop gunicorn, reconcile again, compare what locust wrote with what the database
gained, print a markdown table and PASS/FAIL lines, write ``var/loadtest/results.md`` and
``results.json``. Exit status 1 on any 5xx, broken rule or lost/doubled write.
"""

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
REP_LOGINS = ["rep1", "rep2", "rep3", "rep4", "rep1", "rep2", "rep3", "rep4", "manager1", "manager2", "director"]
CHANNEL_CLIENTS = ["loadtest-mini-program", "loadtest-shop", "loadtest-pos"]
CUSTOMER_SAMPLE = 5000


def int_list(text):
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of positive numbers")
    return values


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int_list, default=[8, 32, 64], help="concurrent users (8,32,64)")
    parser.add_argument("--workers", type=int_list, default=[2, 4], help="gunicorn workers (2,4)")
    parser.add_argument("--run-time", type=float, default=45, help="measured seconds per combination (45)")
    parser.add_argument(
        "--warmup-max",
        type=float,
        default=120,
        help="at most this long for every user to log in before measuring (120)",
    )
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=[0.5, 1.5],
        metavar=("MIN", "MAX"),
        help="think time between a user's requests, seconds (0.5 1.5)",
    )
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=1, help="threads per worker with gthread (1)")
    parser.add_argument("--port", type=int, default=0, help="gunicorn port (default: a free one)")
    parser.add_argument(
        "--allow-small",
        action="store_true",
        help="run on a database without the large demo set (to try the test, not for figures)",
    )
    parser.add_argument("--output", default=None, help="folder for the results (var/loadtest)")
    return parser.parse_args(argv)


# --- set-up (Django) ----------------------------------------------------------------------------


def setup_django():
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def counters():
    """What the run should change by exactly what locust reports having written."""
    from django.db.models import Sum

    from coupons.models import Batch, BudgetAccount, Redemption
    from customers.models import Order
    from sales.models import FollowUp, Lead

    budgets = BudgetAccount.objects.aggregate(used=Sum("used"), reserved=Sum("reserved"))
    return {
        "issued": Batch.objects.aggregate(n=Sum("issued"))["n"] or 0,
        "live_redemptions": Redemption.objects.filter(reversed_at__isnull=True).count(),
        "orders": Order.objects.count(),
        "leads": Lead.objects.count(),
        "followups": FollowUp.objects.count(),
        "budget_used": str(budgets["used"] or 0),
        "budget_reserved": str(budgets["reserved"] or 0),
    }


def prepare(stamp):
    """API clients and tokens for the channels, the batches they claim from, a sample of customers."""
    from django.db.models import F
    from django.utils import timezone

    from bench.coupon_claims import _scratch
    from coupons.models import Batch
    from coupons.services import production
    from crm.models import ApiClient, ApiScope, User
    from crm.services import create_api_client, issue_token
    from customers.models import Customer

    tokens, raw = [], []
    for name in CHANNEL_CLIENTS:
        client = ApiClient.objects.filter(name=name).first() or create_api_client(
            name=name, description="python -m bench.loadtest"
        )
        token, secret = issue_token(client=client, scopes=list(ApiScope.values), name=f"loadtest-{stamp}")
        tokens.append(token)
        raw.append(secret)
    # Scratch batches (the benchmark's helper, budget "BENCH"): one that sells out during the run,
    # one whose customers hit the per-customer limit, one the per-day limit (with decay).
    scratch = [
        (f"lt{stamp}-soldout", 20, {}),
        (f"lt{stamp}-percust", 100_000, {"per_customer_limit": 2, "per_day_limit": 5}),
        (
            f"lt{stamp}-perday",
            100_000,
            {"per_customer_limit": 5, "per_day_limit": 1, "decay_factor": "0.80", "decay_floor": "2"},
        ),
    ]
    for code, quantity, extra in scratch:
        batch = _scratch(quantity, code=code, budget_mode="reserve")
        production.produce(batch)
        Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.ACTIVE, **extra)
    now = timezone.now()
    open_batches = (
        Batch.objects.filter(
            status=Batch.Status.ACTIVE,
            claim_start__lte=now,
            claim_end__gt=now + datetime.timedelta(hours=2),
            issued__lt=F("quantity"),
            audience=Batch.Audience.EVERYONE,
        )
        .order_by("code")
        .values("code", "threshold", "channels")
    )
    batches = []
    for row in open_batches:
        scratch_batch = row["code"].startswith(f"lt{stamp}-")
        if row["code"].startswith("lt") and not scratch_batch:
            continue  # an earlier run's scratch batch
        batches.append(
            {
                "code": row["code"],
                "threshold": str(row["threshold"]),
                "channels": [c.strip() for c in row["channels"].split(",") if c.strip()],
                "repeat": row["code"].endswith(("-percust", "-perday")),
                # the scratch batches get a bigger share of the claims, so their limits are met
                "weight": 8 if scratch_batch else 1,
            }
        )
    customers = list(Customer.objects.order_by("?").values_list("id", flat=True)[:CUSTOMER_SAMPLE])
    logins = [name for name in REP_LOGINS if User.objects.filter(username=name, is_active=True).exists()]
    clients = [token.client_id for token in tokens]
    return {"tokens": raw, "batches": batches, "customers": customers, "logins": logins}, tokens, clients


def revoke(tokens):
    from crm.services import revoke_token

    for token in tokens:
        revoke_token(token=token)


def queued_tasks():
    """Messages waiting in the Celery queue (none expected: the mix enqueues nothing)."""
    url = os.environ.get("REDIS_URL")
    if not url:
        return None
    try:
        import redis

        return redis.Redis.from_url(url, socket_timeout=2).llen("celery")
    except Exception:  # a report detail, not a reason to fail the run
        return None


# --- one combination ----------------------------------------------------------------------------


def run_locust(*, base_config, users, workers, port, args, folder):
    name = f"w{workers}-u{users}"
    summary_path = folder / f"summary-{name}.json"
    summary_path.unlink(missing_ok=True)
    # the run id prefixes the orders' external ids: unique per combination
    config = dict(
        base_config,
        run=f"{base_config['run']}w{workers}u{users}",
        summary=str(summary_path),
        run_time=args.run_time,
        warmup_max=args.warmup_max,
        settle=3,
        think=args.think,
    )
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, dir=folder) as handle:
        json.dump(config, handle)  # holds the bearer tokens: removed below, and revoked after the run
        config_path = handle.name
    os.chmod(config_path, 0o600)
    cap = int(args.warmup_max + args.run_time + 60)  # locust stops by itself at the latest then
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(users),
        "--run-time",
        f"{cap}s",
        "--host",
        f"http://127.0.0.1:{port}",
        "--csv",
        str(folder / "csv" / name),
        "--only-summary",
        "--stop-timeout",
        "30",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]
    (folder / "csv").mkdir(exist_ok=True)
    try:
        with open(folder / f"locust-{name}.log", "w") as log:
            subprocess.run(
                command,
                cwd=PROJECT_DIR,
                env=dict(os.environ, LOADTEST_CONFIG=config_path),
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=cap + 120,
                check=False,
            )
    finally:
        os.unlink(config_path)
    if not summary_path.exists():
        return {"workers": workers, "users": users, "error": f"locust wrote no summary (see locust-{name}.log)"}
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary.update(workers=workers, users=users)
    return summary


def figures(result):
    """The row of the table for one combination."""
    stats = (result.get("stats") or {}).get("total")
    if not stats:
        return None
    refusals = sum(sum(codes.values()) for codes in result.get("refusals", {}).values())
    return {
        "rps": stats["rps"],
        "median_ms": stats["median_ms"],
        "p99_ms": stats["p99_ms"],
        "requests": stats["requests"],
        "failures": stats["failures"],
        "error_pct": round(100 * stats["failures"] / stats["requests"], 2) if stats["requests"] else 0.0,
        "refusals": refusals,
        "server_errors": result.get("server_errors", 0),
        "load": round(result.get("load_average_after", [0])[0], 2),
    }


# --- report -------------------------------------------------------------------------------------


def markdown(report):
    lines = [
        f"# Load test — {report['date']}",
        "",
        f"{report['database']}, {report['customers']:,} customers; gunicorn `config.wsgi` on 127.0.0.1, "
        f"{report['worker_class']} workers, DEBUG off; locust {report['locust']} (FastHttpUser) on the same "
        f"machine ({report['machine']['cpus']} cores); {report['run_time']:.0f} s measured per row after every "
        f"user logged in; think time {report['think'][0]}–{report['think'][1]} s; reps : channels = 3 : 1.",
        f"Machine load before: `{report['uptime_before']}`; after: `{report['uptime_after']}`.",
        "",
        "| workers | users | req/s | median ms | p99 ms | errors | 5xx | requests | refusals (409) | load (1 min) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in report["results"]:
        row = figures(result)
        if row is None:
            lines.append(
                f"| {result['workers']} | {result['users']} | – | – | – | – | – | – | – | "
                f"{result.get('error', 'not measured')} |"
            )
            continue
        lines.append(
            f"| {result['workers']} | {result['users']} | {row['rps']:.1f} | {row['median_ms']:.0f} | "
            f"{row['p99_ms']:.0f} | {row['error_pct']:.2f} % | {row['server_errors']} | {row['requests']} | "
            f"{row['refusals']} | {row['load']} |"
        )
    lines += [
        "",
        "Errors: failed requests / requests in the measured window (a business refusal such as 409 "
        "`sold_out` is a success); 5xx: over the whole run, warm-up included.",
        "",
    ]
    lines += ["## Checks", ""] + [f"- {line}" for line in report["check_lines"]] + [""]
    lines += ["## Per request", ""]
    for result in report["results"]:
        endpoints = (result.get("stats") or {}).get("endpoints") or {}
        if not endpoints:
            continue
        lines += [
            f"<details><summary>{result['workers']} workers, {result['users']} users</summary>",
            "",
            "| request | count | req/s | median ms | p99 ms | failures | statuses |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for name, entry in endpoints.items():
            if not entry["requests"]:
                continue
            statuses = ", ".join(f"{code}: {n}" for code, n in sorted(result.get("statuses", {}).get(name, {}).items()))
            refused = result.get("refusals", {}).get(name.split(" ", 1)[1], {})
            if refused:
                statuses += " (" + ", ".join(f"{code} {n}" for code, n in sorted(refused.items())) + ")"
            lines.append(
                f"| {name} | {entry['requests']} | {entry['rps']:.2f} | {entry['median_ms']:.0f} | "
                f"{entry['p99_ms']:.0f} | {entry['failures']} | {statuses} |"
            )
        lines += ["", "</details>", ""]
    return "\n".join(lines) + "\n"


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return " ".join(f"{value:.2f}" for value in os.getloadavg())


def delta_checks(before, after, written):
    """What the database gained = what locust was answered it had written (nothing lost or doubled)."""
    from bench.loadtest.reconcile import Check

    expected = {
        "issued": written.get("claims", 0),
        "live_redemptions": written.get("redemptions", 0) - written.get("cancellations", 0),
        "orders": written.get("orders", 0),
        "leads": written.get("leads", 0),
        "followups": written.get("followups", 0),
    }
    labels = {
        "issued": "coupons issued (Σ batch.issued)",
        "live_redemptions": "live redemptions",
        "orders": "orders",
        "leads": "leads",
        "followups": "follow-ups",
    }
    checks = []
    for key, want in expected.items():
        gained = after[key] - before[key]
        checks.append(
            Check(
                f"{labels[key]}: the database gained what the clients were told was written",
                gained == want,
                f"gained {gained}, answered {want}",
            )
        )
    broken = written.get("idempotency_broken", 0)
    checks.append(
        Check(
            "a retried claim with the same Idempotency-Key issued nothing twice",
            not broken,
            f"{broken} second coupons" if broken else "",
        )
    )
    return checks


def main(argv=None):
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        print(
            "The load test runs on PostgreSQL: set DATABASE_URL to a copy of the large demo set, e.g.\n\n"
            "    createdb -h 127.0.0.1 -U postgres -T crm_bench crm_load\n"
            "    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_load make loadtest\n",
            file=sys.stderr,
        )
        return 2
    setup_django()  # (locust is not imported here: it monkey-patches the process for gevent)
    from django.core.management import call_command
    from django.db import connections

    from bench import dataset
    from bench.coupon_claims import Server, free_port
    from bench.loadtest.reconcile import failures, reconcile
    from customers.models import Customer

    call_command("migrate", interactive=False, verbosity=0)
    size = dataset.detect_size()
    if size != "large" and not args.allow_small:
        print(
            f"{dataset.describe_database()} holds {size or 'no'} demo data; the load test needs the large set "
            f"(manage.py seed_demo --size large), or --allow-small to try it.",
            file=sys.stderr,
        )
        return 2
    folder = Path(args.output) if args.output else PROJECT_DIR / "var" / "loadtest"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%m%d%H%M%S")
    print(f"Load test on {dataset.describe_database()} ({size} set); checking the data first ...", flush=True)
    baseline = reconcile()
    for check in failures(baseline):
        print(f"  before the run already: {check.line()}")
    base_config, tokens, client_ids = prepare(stamp)
    base_config.update(password="crm-demo", run=stamp)
    before = counters()
    tasks_before = queued_tasks()
    customers = Customer.objects.count()
    connections.close_all()

    env = dict(os.environ, DEBUG="0", API_RATE_LIMIT="1000000/s", DB_CONN_MAX_AGE="60")
    results, written, uptime_before = [], {}, uptime()
    print(
        f"{len(base_config['batches'])} claimable batches, {len(base_config['customers'])} sampled customers, "
        f"logins {sorted(set(base_config['logins']))}; machine: {uptime_before}\n",
        flush=True,
    )
    try:
        for workers in args.workers:
            port = args.port or free_port()
            server = Server(port, workers, env, worker_class=args.worker_class, threads=args.threads)
            try:
                for users in args.users:
                    print(f"  {workers} workers, {users} users ...", end=" ", flush=True)
                    result = run_locust(
                        base_config=base_config, users=users, workers=workers, port=port, args=args, folder=folder
                    )
                    for key, value in (result.get("written") or {}).items():
                        written[key] = written.get(key, 0) + value
                    row = figures(result)
                    print(
                        result.get("error", "not measured")
                        if row is None
                        else (
                            f"{row['rps']:.1f} req/s, median {row['median_ms']:.0f} ms, p99 {row['p99_ms']:.0f} ms, "
                            f"errors {row['error_pct']:.2f} %, 5xx {row['server_errors']}, load {row['load']}"
                        ),
                        flush=True,
                    )
                    results.append(result)
                    time.sleep(2)
            finally:
                server.stop()
                server.log.seek(0)
                log = server.log.read().decode(errors="replace")
                (folder / f"gunicorn-w{workers}.log").write_text(log)
                results_for = [r for r in results if r["workers"] == workers]
                for result in results_for:
                    result["gunicorn_tracebacks"] = log.count("Traceback")
                    result["gunicorn_worker_timeouts"] = log.count("WORKER TIMEOUT")
    finally:
        revoke(tokens)
    uptime_after = uptime()

    print("\nReconciling ...", flush=True)
    after = counters()
    refused = [external_id for result in results for external_id in result.get("refused_orders", [])]
    pushed = [external_id for result in results for external_id in result.get("pushed_with_items", [])]
    checks = reconcile(client_ids=client_ids, pushed_with_items=pushed, refused_external_ids=refused)
    checks += delta_checks(before, after, written)
    from bench.loadtest.reconcile import Check

    server_errors = sum(result.get("server_errors", 0) for result in results)
    samples = [sample for result in results for sample in result.get("server_error_samples", [])]
    checks.insert(
        0,
        Check(
            "no 5xx",
            server_errors == 0,
            f"{server_errors} answers: {samples[:3]}"
            if server_errors
            else f"{sum((figures(r) or {}).get('requests', 0) for r in results)} measured requests",
        ),
    )
    unmeasured = [f"{r['workers']}w/{r['users']}u" for r in results if figures(r) is None or not r.get("warmup_ok")]
    checks.insert(
        1, Check("every combination measured after every user logged in", not unmeasured, ", ".join(unmeasured))
    )
    other = sum(result.get("unexpected", 0) + result.get("connection_errors", 0) for result in results)
    check_lines = [check.line() for check in checks]
    if other:
        notes = [s for r in results for s in r.get("unexpected_samples", [])][:3]
        check_lines.append(
            f"WARN  {other} failed requests that are not 5xx (unexpected status or connection error): {notes}"
        )
    tasks_after = queued_tasks()
    if tasks_before is not None and tasks_after is not None:
        check_lines.append(f"INFO  Celery messages queued during the run: {tasks_after - tasks_before}")

    import django

    report = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "database": dataset.describe_database(),
        "size": size,
        "customers": customers,
        "worker_class": args.worker_class,
        "threads": args.threads,
        "run_time": args.run_time,
        "think": args.think,
        "locust": importlib.metadata.version("locust"),
        "django": django.get_version(),
        "python": platform.python_version(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "uptime_before": uptime_before,
        "uptime_after": uptime_after,
        "counters_before": before,
        "counters_after": after,
        "written": written,
        "baseline_failures": [check.line() for check in failures(baseline)],
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks],
        "check_lines": check_lines,
        "results": [
            {key: value for key, value in result.items() if key not in ("refused_orders", "pushed_with_items")}
            for result in results
        ],
    }
    text = markdown(report)
    (folder / "results.md").write_text(text, encoding="utf-8")
    (folder / "results.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
    )
    print()
    print(text.split("\n## Per request")[0])
    print(f"Results: {folder / 'results.md'} and results.json")
    return 0 if not failures(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
