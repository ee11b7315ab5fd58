"""The large membership (the benchmark set): ``members`` customers as members with
``entries_per_member`` earned lots each, written set-based on PostgreSQL (``INSERT … SELECT`` over
``generate_series`` with the running balance as a window sum), row by row elsewhere.

The ledger's invariants hold for every generated row: each lot's ``remaining`` is its whole award,
the member's ``points`` is their sum and each line's ``balance_after`` the running sum."""

import datetime

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from customers.models import Customer

from .models import Member, PointsEntry, Tier
from .services.points import expiry_for


def generate(*, members: int = 100_000, entries_per_member: int = 20) -> int:
    """Returns the number of ledger rows written."""
    tier = Tier.objects.order_by("position").first()
    now = timezone.now()
    taken = Member.objects.values("customer_id")
    customer_ids = list(Customer.objects.exclude(pk__in=taken).order_by("id").values_list("pk", flat=True)[:members])
    Member.objects.bulk_create(
        [Member(customer_id=pk, tier=tier, joined_at=now) for pk in customer_ids], batch_size=5000
    )
    member_ids = list(Member.objects.filter(customer_id__in=customer_ids).values_list("pk", flat=True))
    first_day = (now - datetime.timedelta(days=330)).date()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO members_pointsentry
                    (member_id, kind, delta, remaining, expires_on, balance_after, reason, reference, at)
                SELECT m, 'earn', 10 + (m + g) %% 90, 10 + (m + g) %% 90,
                       (date_trunc('month', %s::date + g * 16) + interval '13 months' - interval '1 day')::date,
                       sum(10 + (m + g) %% 90) OVER (PARTITION BY m ORDER BY g),
                       '消费积分', 'bench:' || g, %s::timestamptz + g * interval '16 days'
                FROM unnest(%s::bigint[]) AS m CROSS JOIN generate_series(1, %s) AS g
                """,
                [first_day, first_day, member_ids, entries_per_member],
            )
            cursor.execute(
                """
                UPDATE members_member m SET points = s.total
                FROM (SELECT member_id, sum(remaining) AS total FROM members_pointsentry
                      WHERE member_id = ANY(%s) GROUP BY member_id) s
                WHERE s.member_id = m.id
                """,
                [member_ids],
            )
    else:
        for member_id in member_ids:
            balance = 0
            rows = []
            for g in range(1, entries_per_member + 1):
                points = 10 + (member_id + g) % 90
                balance += points
                at = timezone.make_aware(
                    datetime.datetime.combine(first_day + datetime.timedelta(days=16 * g), datetime.time(12))
                )
                rows.append(
                    PointsEntry(
                        member_id=member_id,
                        delta=points,
                        remaining=points,
                        expires_on=expiry_for(at.date()),
                        balance_after=balance,
                        reason="消费积分",
                        reference=f"bench:{g}",
                        at=at,
                    )
                )
            PointsEntry.objects.bulk_create(rows)
            Member.objects.filter(pk=member_id).update(
                points=PointsEntry.objects.filter(member_id=member_id).aggregate(s=Sum("remaining"))["s"]
            )
    return PointsEntry.objects.filter(member_id__in=member_ids).count()
