"""Taking in behaviour events (``POST /api/v1/events``): a batch of up to 500, each event checked
on its own. An event that cannot be stored is answered with its reason — never dropped in
silence — while the others of the batch are stored.

Idempotency: an event id is stored once per client. The batch first inserts its ids into
``cdp_eventkey`` with ``ON CONFLICT DO NOTHING RETURNING`` and stores only the events whose id
came back; a concurrent request with the same id waits on the unique index and then finds it
taken, so two requests never make two rows. The ids and the events go in one transaction."""

import datetime
import json
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from crm.db import among
from crm.phone import normalize_mobile
from customers.models import Customer

from .. import registry
from ..models import OWN_KINDS, Event, EventType, Identity, IdentityKind
from . import partitions
from .identities import normalize

MAX_BATCH = 500
MAX_PROPERTIES_BYTES = 4096
FUTURE_TOLERANCE = datetime.timedelta(hours=1)
TYPES = {t.value for t in EventType}


@dataclass
class Result:
    accepted: int = 0
    duplicates: int = 0
    refused: list = field(default_factory=list)

    def refuse(self, index, event_id, code, message):
        self.refused.append({"index": index, "id": event_id, "code": code, "message": message})


@dataclass
class _Checked:
    index: int
    key: str
    type: str
    name: str
    at: datetime.datetime
    ref: tuple  # ("id", 5) | ("mobile", "138…") | (kind, issuer, value)
    properties: dict
    customer_id: int | None = None


def _check(index, raw, result, oldest, newest):
    """One event's shape; refuses it (and returns None) with the first reason found."""
    if not isinstance(raw, dict):
        result.refuse(index, None, "invalid", "An event is an object.")
        return None
    event_id = raw.get("id")
    if not isinstance(event_id, str) or not event_id.strip() or len(event_id) > 64:
        result.refuse(index, event_id if isinstance(event_id, str) else None, "invalid_id", "id: 1 to 64 characters.")
        return None
    kind = raw.get("type")
    if kind not in TYPES:
        result.refuse(index, event_id, "invalid_type", f"type: one of {', '.join(sorted(TYPES))}.")
        return None
    name = raw.get("name") or ""
    if kind == EventType.CUSTOM and not (isinstance(name, str) and name.strip()):
        result.refuse(index, event_id, "invalid_name", "name: a custom event needs a name.")
        return None
    if not isinstance(name, str) or len(name) > 100:
        result.refuse(index, event_id, "invalid_name", "name: at most 100 characters.")
        return None
    at = parse_datetime(raw["at"]) if isinstance(raw.get("at"), str) else None
    if at is None or at.tzinfo is None:
        result.refuse(index, event_id, "invalid_time", "at: an ISO 8601 time with its offset.")
        return None
    if at < oldest:
        result.refuse(index, event_id, "too_old", "at: older than the events kept (the retention setting).")
        return None
    if at > newest:
        result.refuse(index, event_id, "in_future", "at: more than an hour ahead of the server's clock.")
        return None
    properties = raw.get("properties") or {}
    if not isinstance(properties, dict):
        result.refuse(index, event_id, "invalid_properties", "properties: an object.")
        return None
    if len(json.dumps(properties, ensure_ascii=False).encode()) > MAX_PROPERTIES_BYTES:
        result.refuse(index, event_id, "invalid_properties", "properties: at most 4 KB.")
        return None
    customer = raw.get("customer")
    ref = None
    if isinstance(customer, dict):
        try:
            if isinstance(customer.get("id"), int) and not isinstance(customer.get("id"), bool):
                ref = ("id", customer["id"])
            elif isinstance(customer.get("mobile"), str):
                ref = ("mobile", normalize_mobile(customer["mobile"]))
            elif isinstance(customer.get("identity"), dict):
                identity = customer["identity"]
                kind_ = identity.get("kind")
                if kind_ in IdentityKind.values and isinstance(identity.get("value"), str):
                    ref = ("identity", kind_, normalize(kind_, identity["value"]))
        except Exception:
            ref = None
    if ref is None:
        result.refuse(
            index, event_id, "invalid_customer", 'customer: {"id"}, {"mobile"} or {"identity": {"kind", "value"}}.'
        )
        return None
    return _Checked(index, event_id.strip(), kind, name.strip(), at, ref, properties)


def _resolve(checked, client_id):
    """Fill ``customer_id`` of every event, with one query per kind of reference."""
    wanted: dict[tuple, set] = {}
    for item in checked:
        if item.ref[0] == "identity":
            wanted.setdefault(("identity", item.ref[1]), set()).add(item.ref[2])
        else:
            wanted.setdefault((item.ref[0],), set()).add(item.ref[1])
    found: dict[tuple, dict] = {}
    for key, values in wanted.items():
        if key == ("id",):
            found[key] = {pk: pk for pk in Customer.objects.filter(pk__in=values).values_list("pk", flat=True)}
        elif key == ("mobile",):
            rows = Customer.objects.filter(mobile__in=among(values)).order_by("-id").values_list("mobile", "pk")
            found[key] = dict(rows)  # the oldest customer of a mobile wins, as find_customer does
        elif key[1] in OWN_KINDS:
            issuer = str(client_id or "") if key[1] == IdentityKind.EXTERNAL else ""
            found[key] = dict(
                Identity.objects.filter(kind=key[1], issuer=issuer, value__in=values).values_list(
                    "value", "customer_id"
                )
            )
        else:
            found[key] = registry.lookup(key[1], values) or {}
    for item in checked:
        if item.ref[0] == "identity":
            item.customer_id = found[("identity", item.ref[1])].get(item.ref[2])
        else:
            item.customer_id = found[(item.ref[0],)].get(item.ref[1])


def _claim_keys(client_id, items):
    """The event ids of ``items`` not seen before for this client, now recorded as seen."""
    if not items:
        return set()
    placeholders = ", ".join(["(%s, %s, %s)"] * len(items))
    params = []
    adapt = connection.ops.adapt_datetimefield_value  # SQLite: UTC text, as the ORM stores and compares it
    for item in items:
        params += [client_id or 0, item.key, adapt(item.at)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO cdp_eventkey (client_id, key, at) VALUES {placeholders} "
            "ON CONFLICT (client_id, key) DO NOTHING RETURNING key",
            params,
        )
        return {row[0] for row in cursor.fetchall()}


def ingest(*, client_id: int | None, events: list, now=None) -> Result:
    """Store a batch; returns how many were accepted (new or seen before) and each refused one
    with its index, id, code and message. The caller checks the batch size (``MAX_BATCH``)."""
    now = now or timezone.now()
    result = Result()
    oldest, newest = partitions.cutoff(now), now + FUTURE_TOLERANCE
    checked, seen = [], set()
    for index, raw in enumerate(events):
        item = _check(index, raw, result, oldest, newest)
        if item is None:
            continue
        if item.key in seen:  # the same id twice in one batch: the first one counts
            result.duplicates += 1
            result.accepted += 1
            continue
        seen.add(item.key)
        checked.append(item)
    _resolve(checked, client_id)
    known = []
    for item in checked:
        if item.customer_id is None:
            result.refuse(item.index, item.key, "unknown_customer", "customer: no customer matches.")
        else:
            known.append(item)
    with transaction.atomic():
        new_keys = _claim_keys(client_id, known)
        Event.objects.bulk_create(
            [
                Event(
                    client_id=client_id,
                    key=item.key,
                    type=item.type,
                    name=item.name,
                    at=item.at,
                    customer_id=item.customer_id,
                    properties=item.properties,
                    received_at=now,
                )
                for item in known
                if item.key in new_keys
            ],
            batch_size=MAX_BATCH,
        )
    result.accepted += len(known)
    result.duplicates += len(known) - len(new_keys)
    result.refused.sort(key=lambda r: r["index"])
    return result
