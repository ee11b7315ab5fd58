"""Demo behaviour events: rep1's first 30 customers watched live streams and videos, viewed pages
and forms over the last 40 days (some watched two or more live streams in the last 30 days, the
segment condition's example); a shared email makes one merge suggestion."""

import datetime
import random

from django.utils import timezone

from customers.models import Customer

from .models import Event, EventType, IdentityKind
from .services import identities

KINDS = (
    [EventType.PAGE_VIEW] * 5
    + [EventType.CLICK] * 2
    + [EventType.VIDEO_WATCH, EventType.LIVE_WATCH, EventType.FORM_VIEW]
)


def seed(ctx):
    rng = random.Random(ctx.seed * 19)
    now = timezone.now()
    customers = list(Customer.objects.filter(owner=ctx.users["rep1"]).order_by("id")[:30])
    rows = []
    for index, customer in enumerate(customers):
        for n in range(rng.randint(3, 12)):
            kind = rng.choice(KINDS)
            at = now - datetime.timedelta(days=rng.randint(0, 40), minutes=rng.randint(0, 1440))
            rows.append(Event(key=f"demo-{customer.pk}-{n}", type=kind, at=at, customer=customer, received_at=at))
        if index % 3 == 0:  # watched two live streams lately
            for n in range(2):
                at = now - datetime.timedelta(days=2 + 7 * n, hours=8)
                rows.append(
                    Event(
                        key=f"demo-{customer.pk}-live{n}",
                        type=EventType.LIVE_WATCH,
                        at=at,
                        customer=customer,
                        properties={"room": "少儿编程公开课", "minutes": 35 + n * 10},
                        received_at=at,
                    )
                )
    Event.objects.bulk_create(rows, batch_size=500)
    if len(customers) >= 2:
        identities.link_identity(customer=customers[0], kind=IdentityKind.EMAIL, value="family.li@example.com")
        identities.link_identity(customer=customers[1], kind=IdentityKind.EMAIL, value="family.li@example.com")
    ctx.log(f"  cdp: {len(rows)} behaviour events for {len(customers)} customers")
