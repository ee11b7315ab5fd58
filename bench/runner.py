"""Run the scenarios, print the table, write ``var/bench/results-<timestamp>.json`` and ``latest.json``."""

import argparse
import datetime
import json
import logging
import os
import platform
import statistics
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_RUNS = 30
DEFAULT_WARMUPS = 3
PAGE_BUDGET_MS = 100

COLUMNS = (
    ("scenario", 32, "<"),
    ("median ms", 10, ">"),
    ("p95 ms", 10, ">"),
    ("× floor", 8, ">"),
    ("queries", 8, ">"),
    ("status", 7, "<"),
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Time the main pages and API endpoints against the large demo data set.",
    )
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help=f"measured runs per scenario ({DEFAULT_RUNS})")
    parser.add_argument(
        "--warmups", type=int, default=DEFAULT_WARMUPS, help=f"unmeasured runs first ({DEFAULT_WARMUPS})"
    )
    parser.add_argument(
        "--only", action="append", metavar="SUBSTRING", help="run only scenarios whose name contains this (repeatable)"
    )
    parser.add_argument("--size", choices=["small", "large"], default="large", help="demo data set (large)")
    parser.add_argument("--seed", type=int, default=1, help="demo data seed (1)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmups < 0:
        parser.error("--runs must be at least 1 and --warmups at least 0")
    return args


class BenchContext:
    """What scenario callables get: users, a bearer token, and a cache for looked-up objects."""

    API_CLIENT_NAME = "benchmark"

    def __init__(self):
        self._cache = {}
        self.api_token = None
        self.raw_token = None

    def cached(self, key, factory):
        if key not in self._cache:
            self._cache[key] = factory()
        return self._cache[key]

    def user(self, username):
        from crm.models import User

        return self.cached(("user", username), lambda: User.objects.get(username=username))

    def first(self, model, **filters):
        """The first row (by primary key) of ``model`` matching ``filters``."""
        key = ("first", model._meta.label, tuple(sorted(filters.items())))
        return self.cached(key, lambda: model._default_manager.filter(**filters).order_by("pk").first())

    def bearer(self):
        """WSGI headers that authenticate as the benchmark's API client (token made on first use)."""
        if self.raw_token is None:
            from crm.models import ApiClient, ApiScope
            from crm.services import create_api_client, issue_token

            client = ApiClient.objects.filter(name=self.API_CLIENT_NAME).first() or create_api_client(
                name=self.API_CLIENT_NAME,
                description="Used by python -m bench.",
                can_see_mobile=True,
            )
            self.api_token, self.raw_token = issue_token(client=client, scopes=list(ApiScope.values), name="bench")
        return {"HTTP_AUTHORIZATION": f"Bearer {self.raw_token}"}

    def close(self):
        if self.api_token is not None:
            from crm.services import revoke_token

            revoke_token(token=self.api_token)


def percentile(values, fraction):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil
    return ordered[int(rank) - 1]


def consume(response):
    """Read the whole body (a streaming one too); return its size in bytes."""
    if response.streaming:  # the test client closes it (and fires request_finished) at the end
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


class SqlTimer:
    """An execute wrapper that adds up the time spent in the database (and the driver)."""

    def __init__(self):
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def measure(perform, client, *, runs, warmups):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmups):
        consume(perform(client))
    times, sql_times, queries, statuses, size = [], [], [], set(), 0
    for _ in range(runs):
        timer = SqlTimer()
        with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timer):
            started = time.perf_counter()
            response = perform(client)
            size = consume(response)
            elapsed = time.perf_counter() - started
        times.append(elapsed * 1000)
        sql_times.append(timer.seconds * 1000)
        queries.append(len(captured))
        statuses.add(response.status_code)
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 0.95), 2),
        "sql_median_ms": round(statistics.median(sql_times), 2),
        "min_ms": round(min(times), 2),
        "max_ms": round(max(times), 2),
        "queries": max(queries),
        "queries_min": min(queries),
        "statuses": sorted(statuses),
        "bytes": size,
    }


def run_scenario(scenario, ctx, clients, *, runs, warmups):
    from django.test import Client

    result = {"name": scenario.name, "user": scenario.user, "expected_status": scenario.status, "note": scenario.note}
    try:
        perform, url = scenario.resolve(ctx)
        result["url"] = url
        if scenario.user not in clients:
            client = Client()
            if scenario.user is not None:
                client.force_login(ctx.user(scenario.user))
            clients[scenario.user] = client
        runs = scenario.runs or runs
        warmups = scenario.warmups if scenario.warmups is not None else warmups
        result.update(runs=runs, warmups=warmups)
        result.update(measure(perform, clients[scenario.user], runs=runs, warmups=warmups))
        result["ok"] = result["statuses"] == [scenario.status]
    except Exception as exc:  # report it and go on with the other scenarios
        result.update(ok=False, error=f"{type(exc).__name__}: {exc}")
    return result


def format_row(values):
    return "  ".join(f"{value!s:{align}{width}}" for value, (_, width, align) in zip(values, COLUMNS)).rstrip()


def table_header():
    titles = format_row([title for title, _, _ in COLUMNS])
    rule = "  ".join("-" * width for _, width, _ in COLUMNS)
    return [titles, rule]


def floor_ratio(result, floor_ms):
    """The scenario's median as a multiple of the floor's (``None`` without a floor)."""
    if not floor_ms or "median_ms" not in result:
        return None
    return round(result["median_ms"] / floor_ms, 1)


def table_row(result, floor_ms=None):
    if "error" in result:
        return format_row([result["name"], "-", "-", "-", "-", "ERROR"])
    ratio = floor_ratio(result, floor_ms)
    queries = result["queries"]
    if result["queries_min"] != queries:
        queries = f"{result['queries_min']}-{queries}"
    status = "/".join(str(code) for code in result["statuses"])
    if not result["ok"]:
        status += f" (want {result['expected_status']})"
    ratio_text = "-" if ratio is None else f"{ratio:.1f}"
    return format_row(
        [result["name"], f"{result['median_ms']:.1f}", f"{result['p95_ms']:.1f}", ratio_text, queries, status]
    )


def machine_info():
    info = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo") as handle:
            info["cpu"] = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
        with open("/proc/meminfo") as handle:
            kb = int(next(line for line in handle if line.startswith("MemTotal")).split()[1])
            info["memory_gb"] = round(kb / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        pass
    return info


def database_info():
    from django.db import connection

    from bench.dataset import describe_database

    if connection.vendor == "postgresql":
        connection.ensure_connection()
        number = connection.pg_version
        version = f"{number // 10000}.{number % 10000}"
    elif connection.vendor == "sqlite":
        version = connection.Database.sqlite_version
    else:
        version = ""
    return {
        "vendor": connection.vendor,
        "version": version,
        "name": str(connection.settings_dict["NAME"]),
        "description": describe_database(),
    }


def write_results(report):
    from django.conf import settings

    folder = Path(settings.VAR_DIR) / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = json.dumps(report, ensure_ascii=False, indent=2)
    path = folder / f"results-{stamp}.json"
    path.write_text(text, encoding="utf-8")
    (folder / "latest.json").write_text(text, encoding="utf-8")
    return path


def main(argv=None):
    args = parse_args(argv)
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # The per-client API throttle (600/min) would answer 429 in long runs; it still runs, just never trips.
    os.environ.setdefault("API_RATE_LIMIT", "1000000/min")

    from bench import dataset

    try:
        created = dataset.ensure_postgres_database()
    except dataset.DatasetError as exc:
        print(exc, file=sys.stderr)
        return 2
    if created:
        print(f"Created PostgreSQL database {created}.")

    import django

    django.setup()
    from django.conf import settings

    from bench.scenarios import FLOOR, selected

    scenarios = selected(args.only)
    if not scenarios:
        print(f"No scenario matches {args.only}.", file=sys.stderr)
        return 2
    try:
        load = dataset.prepare(size=args.size, seed=args.seed)
    except dataset.DatasetError as exc:
        print(exc, file=sys.stderr)
        return 2

    # A scenario that expects a 4xx would log a warning per request.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    ctx = BenchContext()
    clients = {}
    load_before = [round(value, 2) for value in os.getloadavg()]
    results = []
    floor_ms = None
    print(
        f"\n{len(scenarios)} scenarios, {args.runs} runs each after {args.warmups} warm-ups, "
        f"on {dataset.describe_database()}\n"
    )
    for line in table_header():
        print(line)
    try:
        for scenario in scenarios:
            result = run_scenario(scenario, ctx, clients, runs=args.runs, warmups=args.warmups)
            if scenario.name == FLOOR and result.get("ok"):
                floor_ms = result["median_ms"]
            result["floor_ratio"] = floor_ratio(result, floor_ms)
            results.append(result)
            print(table_row(result, floor_ms), flush=True)
    finally:
        ctx.close()

    report = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "database": database_info(),
        "size": args.size,
        "seed": args.seed,
        "load": load,
        "runs": args.runs,
        "warmups": args.warmups,
        "debug": settings.DEBUG,
        "machine": machine_info(),
        # 1/5/15-minute load: other processes on the machine make the timings noisy
        "load_average": {"before": load_before, "after": [round(value, 2) for value in os.getloadavg()]},
        "django": django.get_version(),
        "row_counts": dataset.row_counts(),
        "floor_ms": floor_ms,
        "scenarios": results,
    }
    path = write_results(report)

    print()
    for result in results:
        if "error" in result:
            print(f"ERROR {result['name']}: {result['error']}")
        elif not result["ok"]:
            print(f"FAIL  {result['name']}: status {result['statuses']}, expected {result['expected_status']}")
    for result in results:
        if result.get("ok") and result["runs"] > 1 and result["median_ms"] > PAGE_BUDGET_MS:
            print(f"SLOW  {result['name']}: median {result['median_ms']:.0f} ms is over {PAGE_BUDGET_MS} ms")
    print(f"Results: {path.relative_to(PROJECT_DIR) if path.is_relative_to(PROJECT_DIR) else path}")
    return 0 if all(result.get("ok") for result in results) else 1
