"""Coupon benchmarks that the page runner (``python -m bench``) cannot do:

* ``production``: 1,000,000 codes for one batch through the production path (``services.production``:
  codes generated, COPY into a staging table, INSERT … ON CONFLICT into the coupons table), against
  the floor — a raw COPY of 1,000,000 rows of random codes into a scratch table, bare and with the
  coupons table's indexes. Runs in a transaction that is rolled back: nothing is left behind.
* ``claims``: ``POST /api/v1/coupons/claim`` through the real HTTP server (gunicorn on 127.0.0.1)
  with N concurrent clients (threads, http.client, keep-alive), against ``GET /api/v1/ping`` with the
  same clients and workers, the two alternating in short rounds (so that other load on the machine
  hits both alike); claims/s, median and p99 latency, errors. ``--batches N`` spreads the claims
  round-robin over N batches of the same campaign and budget (default 1: every claim updates one
  batch's stock row, the worst case). The throttle runs at ``1000000/s`` (its per-client list of
  request times then stays short, as with a production rate) for both endpoints alike; gunicorn sync
  workers close the connection after each response, so both endpoints pay a reconnect per request
  (``--worker-class gthread`` keeps connections alive). Then a sell-out run (more
  claims than stock, budget reserved at claim) and the checks: a batch's issued = its claimed rows
  ≤ quantity, one coupon per customer, the budget's reserved = Σ reservations, the whole data set
  still reconciles. The scratch batches, campaign and API client are removed afterwards.

Run against the large demo set::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench .venv/bin/python -m bench.coupon_claims \
        [production] [claims] [--clients 16] [--seconds 20] [--workers 4] [--batches 1] \
        [--worker-class sync --threads 1] [--output /tmp/work/bench-coupons.json]
"""

import argparse
import datetime
import http.client
import io
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(PROJECT_DIR))
    import django

    django.setup()


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


# --- production ---------------------------------------------------------------------------------


def _scratch(quantity, *, code, status="approved", production_mode="manual", budget_mode="redeem"):
    """A scratch period, budget, campaign and batch (removed by ``_drop_scratch``)."""
    from django.utils import timezone

    from coupons.models import Batch, BudgetAccount, Campaign, FiscalPeriod
    from crm.models import User

    marketing = User.objects.get(username="marketing")
    period, _ = FiscalPeriod.objects.get_or_create(
        name="BENCH",
        defaults={"kind": "quarter", "start": datetime.date(2000, 1, 1), "end": datetime.date(2000, 3, 31)},
    )
    account, _ = BudgetAccount.objects.get_or_create(
        period=period, department=marketing.department, defaults={"total": Decimal("100000000")}
    )
    campaign, _ = Campaign.objects.get_or_create(
        name="BENCH",
        budget_account=account,
        defaults={
            "owner": marketing,
            "department": marketing.department,
            "start": timezone.localdate(),
            "end": timezone.localdate(),
        },
    )
    now = timezone.now()
    return Batch.objects.create(
        campaign=campaign,
        code=code,
        name=code,
        discount_type="threshold",
        amount=Decimal("10"),
        threshold=Decimal("100"),
        quantity=quantity,
        per_customer_limit=1,
        per_day_limit=1,
        claim_start=now - datetime.timedelta(hours=1),
        claim_end=now + datetime.timedelta(days=1),
        use_days=7,
        status=status,
        production=production_mode,
        budget_mode=budget_mode,
        created_by=marketing,
    )


def _drop_scratch():
    from coupons.models import Batch, BudgetAccount, Campaign, Coupon, FiscalPeriod

    batches = Batch.objects.filter(campaign__name="BENCH", campaign__budget_account__period__name="BENCH")
    Coupon.objects.filter(batch__in=batches).delete()
    batches.delete()
    Campaign.objects.filter(name="BENCH", budget_account__period__name="BENCH").delete()
    BudgetAccount.objects.filter(period__name="BENCH").delete()
    FiscalPeriod.objects.filter(name="BENCH").delete()


def bench_production(count):
    from django.db import connection, transaction

    from coupons.models import Coupon
    from coupons.services import codes, production

    assert connection.vendor == "postgresql", "the production benchmark needs PostgreSQL"
    results = {"count": count}
    existing = Coupon.objects.count()
    results["coupons_already_in_table"] = existing
    with transaction.atomic():
        batch = _scratch(count, code=f"bench-prod-{int(time.time())}")
        started = time.monotonic()
        produced, _seconds = production.produce(batch)
        results["production_path_s"] = round(time.monotonic() - started, 2)
        results["produced"] = produced
        assert Coupon.objects.filter(batch=batch).count() == count == produced
        transaction.set_rollback(True)

    started = time.monotonic()
    generated = codes.new_codes(count)
    results["generate_codes_s"] = round(time.monotonic() - started, 2)
    table = Coupon._meta.db_table
    rows = "".join(f"1\t{code}\tavailable\t\t0\t0\tf\n" for code in generated)
    columns = "(batch_id, code, status, channel, amount, reserved, is_compensation)"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE bench_copy_bare (LIKE {table} INCLUDING DEFAULTS INCLUDING IDENTITY) ON COMMIT DROP"
        )
        started = time.monotonic()
        cursor.cursor.copy_expert(f"COPY bench_copy_bare {columns} FROM STDIN", io.StringIO(rows))
        results["raw_copy_bare_s"] = round(time.monotonic() - started, 2)
        cursor.execute(f"CREATE TEMP TABLE bench_copy_indexed (LIKE {table} INCLUDING ALL) ON COMMIT DROP")
        started = time.monotonic()
        cursor.cursor.copy_expert(f"COPY bench_copy_indexed {columns} FROM STDIN", io.StringIO(rows))
        results["raw_copy_indexed_s"] = round(time.monotonic() - started, 2)
        transaction.set_rollback(True)
    with connection.cursor() as cursor:  # outside the transaction: clear the rolled-back rows
        cursor.execute(f"VACUUM ANALYZE {table}")
    return results


# --- claims through gunicorn --------------------------------------------------------------------


def free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, port, workers, env, worker_class="sync", threads=1):
        import tempfile

        self.port = port
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [
                str(PROJECT_DIR / ".venv" / "bin" / "gunicorn"),
                "config.wsgi:application",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                str(workers),
                "--log-level",
                "warning",
                "--keep-alive",
                "5",
                "--worker-class",
                worker_class,
                "--threads",
                str(threads),
            ],
            cwd=PROJECT_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120  # a loaded machine may take a minute to boot the workers
        while time.monotonic() < deadline:
            if self.process.poll() is not None:  # e.g. the port is taken: never time someone else's server
                self.log.seek(0)
                raise RuntimeError(f"gunicorn exited: {self.log.read().decode(errors='replace')[-500:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/login/")
                connection.getresponse().read()
                if self.process.poll() is None:
                    return
            except OSError:
                time.sleep(0.3)
                continue
            raise RuntimeError("gunicorn exited")
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def load(port, *, clients, seconds, make_request, max_requests=None, offset=0):
    """Fire requests from ``clients`` threads for ``seconds`` (or until ``max_requests``);
    ``make_request(n) -> (method, path, body, headers)``. Returns the raw run: latencies (ms),
    status counts, server errors and the elapsed time."""
    counter = itertools.count(offset)
    lock = threading.Lock()
    run = {"latencies": [], "statuses": {}, "errors": [], "seconds": 0.0}
    stop_at = time.monotonic() + seconds

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, my_statuses = [], {}
        while time.monotonic() < stop_at:
            with lock:
                n = next(counter)
            if max_requests is not None and n - offset >= max_requests:
                break
            method, path, body, headers = make_request(n)
            started = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                status = response.status
                if status >= 500:
                    run["errors"].append(payload[:200])
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append((time.perf_counter() - started) * 1000)
            my_statuses[status] = my_statuses.get(status, 0) + 1
        connection.close()
        with lock:
            run["latencies"].extend(mine)
            for key, value in my_statuses.items():
                run["statuses"][key] = run["statuses"].get(key, 0) + value

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run["seconds"] = time.monotonic() - started
    run["next"] = next(counter)
    return run


def summary(runs, expected_status):
    latencies = [value for run in runs for value in run["latencies"]]
    statuses = {}
    for run in runs:
        for key, value in run["statuses"].items():
            statuses[str(key)] = statuses.get(str(key), 0) + value
    elapsed = sum(run["seconds"] for run in runs)
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "per_second": round(len(latencies) / elapsed, 1) if elapsed else None,
        "ok_per_second": round(statuses.get(str(expected_status), 0) / elapsed, 1) if elapsed else None,
        "median_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
        "statuses": dict(sorted(statuses.items())),
        "errors": sum(v for k, v in statuses.items() if k != str(expected_status)),
        "server_errors": [e for run in runs for e in run["errors"]][:3],
    }


def bench_claims(
    *,
    clients,
    seconds,
    workers,
    port,
    quantity,
    sellout_quantity,
    sellout_requests,
    rounds=4,
    batches=1,
    worker_class="sync",
    threads=1,
):
    from django.db.models import Count, Sum

    from coupons import demo
    from coupons.models import Batch, BudgetAccount, Coupon
    from coupons.services import production
    from crm.models import ApiClient, ApiScope
    from crm.services import create_api_client, issue_token, revoke_token
    from customers.models import Customer

    _drop_scratch()
    accounts_before = {a.pk: (a.total, a.reserved, a.used) for a in BudgetAccount.objects.all()}
    stamp = int(time.time())
    throughput = []  # the claims of the throughput run go round-robin over ``batches`` batches
    for index in range(batches):
        scratch = _scratch(quantity // batches, code=f"bench-claim-{stamp}-{index}")
        production.produce(scratch)
        Batch.objects.filter(pk=scratch.pk).update(status=Batch.Status.ACTIVE)
        throughput.append(scratch)
    sellout = _scratch(sellout_quantity, code=f"bench-sellout-{stamp}", budget_mode="reserve")
    production.produce(sellout)
    Batch.objects.filter(pk=sellout.pk).update(status=Batch.Status.ACTIVE)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE coupons_coupon")
    client = ApiClient.objects.filter(name="bench-claims").first() or create_api_client(
        name="bench-claims", description="python -m bench.coupon_claims", can_see_mobile=False
    )
    token, raw = issue_token(client=client, scopes=list(ApiScope.values), name="bench-claims")
    customers = list(Customer.objects.order_by("id").values_list("id", flat=True)[:200_000])
    headers = {"Authorization": f"Bearer {raw}", "Content-Type": "application/json"}
    # The throttle keeps a list of the client's request times over the rate's period in the cache
    # (read, appended, written back on every request): with a per-second rate the list stays as
    # short as a production rate's (600/min) instead of holding every request of the last minute.
    env = dict(os.environ, DEBUG="0", API_RATE_LIMIT="1000000/s", DB_CONN_MAX_AGE="60")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/3")  # the throttle's counters: not in files
    server = Server(port, workers, env, worker_class=worker_class, threads=threads)
    results = {
        "clients": clients,
        "seconds": seconds,
        "rounds": rounds,
        "gunicorn_workers": workers,
        "worker_class": worker_class,
        "threads": threads,
        "batches": batches,
        "load_average_before": os.getloadavg(),
        "load_average_rounds": [],
    }
    try:
        ping = lambda n: ("GET", "/api/v1/ping", None, headers)  # noqa: E731

        def claim(*codes):
            def make(n):
                body = json.dumps(
                    {
                        "batch": codes[n % len(codes)],
                        "customer": {"id": customers[n % len(customers)]},
                        "channel": "app",
                    }
                )
                return "POST", "/api/v1/coupons/claim", body, headers

            return make

        load(port, clients=clients, seconds=2, make_request=ping)  # warm-up: workers, connections
        codes = [scratch.code for scratch in throughput]
        load(port, clients=clients, seconds=1, make_request=claim(*codes))
        # ping and claim alternate in short rounds, so that the machine's other load hits both alike
        pings, claims_runs, offset = [], [], 1000
        for _round in range(rounds):
            pings.append(load(port, clients=clients, seconds=seconds / rounds, make_request=ping))
            claims_runs.append(
                load(port, clients=clients, seconds=seconds / rounds, offset=offset, make_request=claim(*codes))
            )
            offset = claims_runs[-1]["next"]
            results["load_average_rounds"].append(os.getloadavg()[0])
        results["ping"] = summary(pings, 200)
        results["claim"] = summary(claims_runs, 201)
        results["claim_vs_ping"] = (
            round(results["claim"]["ok_per_second"] / results["ping"]["ok_per_second"], 2)
            if results["ping"]["ok_per_second"]
            else None
        )
        results["sellout"] = summary(
            [
                load(
                    port,
                    clients=clients,
                    seconds=120,
                    max_requests=sellout_requests,
                    offset=len(customers) // 2,
                    make_request=claim(sellout.code),
                )
            ],
            201,
        )
    finally:
        server.stop()
        revoke_token(token=token)
    results["load_average_after"] = os.getloadavg()
    checks = {}
    for name, scratch in [(f"claim-{index}", scratch) for index, scratch in enumerate(throughput)] + [
        ("sellout", sellout)
    ]:
        scratch.refresh_from_db()
        rows = Coupon.objects.filter(batch=scratch).exclude(status="available").count()
        per_customer = (
            Coupon.objects.filter(batch=scratch)
            .exclude(status="available")
            .values("customer_id")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .count()
        )
        checks[name] = {
            "quantity": scratch.quantity,
            "issued": scratch.issued,
            "claimed_rows": rows,
            "customers_over_limit": per_customer,
            "ok": scratch.issued == rows <= scratch.quantity and not per_customer,
        }
    created = results["sellout"]["statuses"].get("201", 0)
    checks["sellout"]["created_responses"] = created
    checks["sellout"]["ok"] &= created == sellout.quantity == checks["sellout"]["issued"]
    account = sellout.campaign.budget_account
    account.refresh_from_db()
    reserved = Coupon.objects.filter(batch__campaign__budget_account=account, status="claimed").aggregate(
        s=Sum("reserved")
    )["s"] or Decimal(0)
    checks["budget"] = {
        "reserved": str(account.reserved),
        "sum_of_reservations": str(reserved),
        "balance": str(account.balance),
        "ok": account.reserved == reserved and account.balance >= 0,
    }
    changed = [
        pk
        for pk, figures in accounts_before.items()
        if BudgetAccount.objects.filter(pk=pk).values_list("total", "reserved", "used").first() != figures
    ]
    checks["other_budgets_unchanged"] = not changed
    _drop_scratch()
    problems = demo.check()
    checks["demo_data_reconciles"] = {"ok": not problems, "problems": problems[:5]}
    results["checks"] = checks
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.coupon_claims", description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="*", choices=["production", "claims"], default=["production", "claims"])
    parser.add_argument("--count", type=int, default=1_000_000, help="codes to produce (1,000,000)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (4)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating ping / claim rounds (4)")
    parser.add_argument(
        "--batches",
        type=int,
        default=1,
        help="batches the throughput claims go round-robin over (1: every claim on one stock row)",
    )
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"], help="gunicorn worker class")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--port", type=int, default=0, help="port for gunicorn (default: a free one)")
    parser.add_argument("--quantity", type=int, default=200_000, help="stock of the throughput batch")
    parser.add_argument("--sellout-quantity", type=int, default=500)
    parser.add_argument("--sellout-requests", type=int, default=2000)
    parser.add_argument("--output", help="also write the results here as JSON")
    args = parser.parse_args(argv)
    setup_django()
    results = {"at": datetime.datetime.now().isoformat(timespec="seconds")}
    if "production" in args.what:
        results["production"] = bench_production(args.count)
        print(json.dumps({"production": results["production"]}, indent=2), flush=True)
    if "claims" in args.what:
        results["claims"] = bench_claims(
            clients=args.clients,
            seconds=args.seconds,
            workers=args.workers,
            port=args.port or free_port(),
            quantity=args.quantity,
            sellout_quantity=args.sellout_quantity,
            sellout_requests=args.sellout_requests,
            rounds=args.rounds,
            batches=args.batches,
            worker_class=args.worker_class,
            threads=args.threads,
        )
        print(json.dumps({"claims": results["claims"]}, indent=2, default=str), flush=True)
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    ok = all(
        check.get("ok", True) if isinstance(check, dict) else check
        for check in results.get("claims", {}).get("checks", {}).values()
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
