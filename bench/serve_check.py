"""``make serve-check`` (``python -m bench.serve_check --url http://127.0.0.1:8000``): 240 parallel
coupon claims from 32 clients, each on a connection of its own, against the server that ``make run``
(or anything else) serves on that address, with the same database settings as this process.
Every claim must get an answer — no reset or refused connection — and the batch's figures must
reconcile: issued = claimed rows = 201 answers, one coupon per customer. The scratch batch, campaign
and API client are removed afterwards."""

import argparse
import http.client
import json
import os
import sys
import threading
import time
from urllib.parse import urlsplit

from bench.coupon_claims import _drop_scratch, _scratch, percentile, setup_django


def claim_all(host, port, *, token, batch, customers, clients):
    """One claim per customer, ``clients`` threads, a new connection per claim; outcome per claim."""
    results, lock, queue = [], threading.Lock(), list(enumerate(customers))

    def client():
        while True:
            with lock:
                if not queue:
                    return
                n, customer = queue.pop()
            started = time.perf_counter()
            connection = http.client.HTTPConnection(host, port, timeout=60)
            try:
                body = json.dumps({"batch": batch, "customer": {"id": customer}, "channel": "app"})
                connection.request(
                    "POST",
                    "/api/v1/coupons/claim",
                    body=body,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                )
                response = connection.getresponse()
                response.read()
                outcome = response.status
            except (OSError, http.client.HTTPException) as exc:
                outcome = type(exc).__name__
            finally:
                connection.close()
            with lock:
                results.append((outcome, (time.perf_counter() - started) * 1000))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.monotonic() - started


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.serve_check", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url", default=f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
    )
    parser.add_argument("--claims", type=int, default=240)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args(argv)
    address = urlsplit(args.url)
    setup_django()
    from django.db.models import Count

    from coupons.models import Batch, Coupon
    from coupons.services import production
    from crm.models import ApiClient, ApiScope
    from crm.services import create_api_client, issue_token, revoke_token
    from customers.models import Customer

    _drop_scratch()
    batch = _scratch(args.claims * 2, code=f"serve-check-{int(time.time())}")
    production.produce(batch)
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.ACTIVE)
    client = ApiClient.objects.filter(name="serve-check").first() or create_api_client(
        name="serve-check", description="python -m bench.serve_check", can_see_mobile=False
    )
    api_token, raw = issue_token(client=client, scopes=list(ApiScope.values), name="serve-check")
    customers = list(Customer.objects.order_by("id").values_list("id", flat=True)[: args.claims])
    try:
        results, seconds = claim_all(
            address.hostname, address.port or 80, token=raw, batch=batch.code, customers=customers, clients=args.clients
        )
    finally:
        revoke_token(token=api_token)
    statuses = {}
    for outcome, _ms in results:
        statuses[str(outcome)] = statuses.get(str(outcome), 0) + 1
    batch.refresh_from_db()
    claimed = Coupon.objects.filter(batch=batch).exclude(status="available")
    twice = claimed.values("customer_id").annotate(n=Count("id")).filter(n__gt=1).count()
    rows = claimed.count()
    _drop_scratch()
    transport_errors = sum(n for key, n in statuses.items() if not key.isdigit())
    ok = transport_errors == 0 and statuses.get("201", 0) == batch.issued == rows == len(customers) and not twice
    latencies = [ms for _outcome, ms in results]
    print(
        f"{'PASS' if ok else 'FAIL'} {len(results)} claims from {args.clients} clients against {args.url} in "
        f"{seconds:.1f} s ({len(results) / seconds:.0f}/s, p99 {percentile(latencies, 0.99):.0f} ms): answers "
        f"{dict(sorted(statuses.items()))}, {transport_errors} connection errors; issued {batch.issued} = claimed "
        f"rows {rows}, {twice} customers twice; load average {[round(v, 2) for v in os.getloadavg()]}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
