"""A customer's personal data on request: everything held about them, and anonymization.

Anonymization erases the personal fields (``personal_fields``) of the customer, of every record
pointing at them (follow-ups, tickets, registrations, leads they came from …) and of their audit
history; family and referral links are removed. Orders, amounts, coupons and every figure stay,
so totals and dashboards do not move.
"""

import datetime
import decimal
import uuid

from auditlog.models import LogEntry
from django.apps import apps
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from crm import privacy
from crm.name_keys import keys_for

from ..models import Customer, CustomerRelation, CustomerTag, Order, OrderLine


def _plain(value):
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _rows(queryset):
    return [{key: _plain(value) for key, value in row.items()} for row in queryset.values()]


def _label(model):
    return f"{model._meta.app_label}.{model._meta.model_name}"


def customer_data(customer):
    """Everything held about ``customer``, as plain JSON-ready data: the record, its tags, and the
    rows of every table that points at it (orders with their lines, follow-ups, coupons …)."""
    data = {
        "customer": _rows(Customer.objects.filter(pk=customer.pk))[0],
        "tags": list(CustomerTag.objects.filter(customer=customer).values_list("tag__name", flat=True)),
        "related": {},
    }
    skip = {CustomerTag, LogEntry}
    for model, field in privacy.relations_to(Customer):
        if model in skip:
            continue
        rows = _rows(model._default_manager.filter(**{field: customer}).order_by("pk"))
        if rows:
            data["related"].setdefault(_label(model), []).extend(rows)
    order_ids = list(Order.objects.filter(customer=customer).values_list("pk", flat=True))
    lines = _rows(OrderLine.objects.filter(order_id__in=order_ids).order_by("pk")) if order_ids else []
    if lines:
        data["related"][_label(OrderLine)] = lines
    lead_model = apps.get_model("sales", "Lead")
    lead_ids = {row["id"] for row in data["related"].get(_label(lead_model), [])}
    if lead_ids:  # what was recorded on the leads they came from
        for model, field in privacy.relations_to(lead_model):
            seen = {row["id"] for row in data["related"].get(_label(model), [])}
            rows = [
                row
                for row in _rows(model._default_manager.filter(**{f"{field}__in": lead_ids}).order_by("pk"))
                if row["id"] not in seen
            ]
            if rows:
                data["related"].setdefault(_label(model), []).extend(rows)
    return data


def anonymized_name(pk):
    from django.conf import settings

    with translation.override(settings.LANGUAGE_CODE):
        label = gettext("Anonymized customer")
    return f"{label} #{pk}"


@transaction.atomic
def anonymize_customer(*, actor, customer, request=None):
    """Erase ``customer``'s personal data (see the module docstring). Idempotent."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    now = timezone.now()
    privacy.anonymize(
        Customer,
        [customer.pk],
        now=now,
        keep={"name": (name := anonymized_name(customer.pk)), "name_keys": keys_for(name)},
    )
    CustomerRelation.objects.filter(models.Q(from_customer=customer) | models.Q(to_customer=customer)).delete()
    lead_model = apps.get_model("sales", "Lead")
    lead_ids = list(
        lead_model.objects.filter(models.Q(customer=customer) | models.Q(existing_customer=customer)).values_list(
            "pk", flat=True
        )
    )
    if lead_ids:
        privacy.anonymize(lead_model, lead_ids, now=now)

    customer.refresh_from_db()
    LogEntry.objects.log_create(
        customer,
        action=LogEntry.Action.UPDATE,
        force_log=True,
        changes={"anonymized_at": ["None", now.isoformat()]},
        actor=actor,
    )
    privacy.log_access(
        action=privacy.Action.ANONYMIZE,
        subject=privacy.Subject.CUSTOMER,
        ids=[customer.pk],
        user=actor,
        request=request,
    )
    return customer
