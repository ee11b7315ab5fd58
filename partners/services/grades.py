"""合作级别: partner grades recomputed monthly (beat, on the 1st) from what the partner did in the
twelve months before, kept as a history (``GradeChange``, one row per partner and month).

What a grade rests on (the figures are stored on each history row):

- **GMV**: the paid amount (less coupon discounts) of the orders attributed to the partner, placed in
  the twelve months before the 1st. A ≥ ¥1,000,000, B ≥ ¥300,000, C ≥ ¥50,000, else D.
- **Lead conversion**: of the partner's registrations (报备, conflicts left out) in those twelve
  months, the share whose mobile became a customer with an order attributed to the partner. At
  least ``CONVERSION_BONUS``% (with at least ``CONVERSION_MIN_REGISTRATIONS`` registrations)
  raises the grade by one.
- **Customer satisfaction**: the mean CSAT (1–5) recorded in those twelve months for the partner's
  customers (those with an attributed order). Below ``SATISFACTION_FLOOR`` it lowers the grade by
  one; without any record it plays no part (stored empty).

A new grade applies from the month it is computed in (``effective_from``): statements of the month
before are settled with the grade that applied then (``grade_in_effect``), so a change moves the
commission rules from the next period on. A change notifies the channel manager."""

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Exists, F, OuterRef, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.notifications import notify
from customers.models import Customer, Order, Satisfaction

from ..models import Attribution, GradeChange, LeadRegistration, Partner, PartnerGrade, PartnerStatus

GMV_THRESHOLDS = [(Decimal(1_000_000), "A"), (Decimal(300_000), "B"), (Decimal(50_000), "C")]
CONVERSION_BONUS = Decimal(30)
CONVERSION_MIN_REGISTRATIONS = 5
SATISFACTION_FLOOR = Decimal(3)
ORDER = ["D", "C", "B", "A"]


def _aware(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def grade_for(gmv: Decimal, conversion: Decimal, registrations: int, satisfaction: Decimal | None) -> str:
    """The grade the figures give (see the module's docstring)."""
    grade = next((g for threshold, g in GMV_THRESHOLDS if gmv >= threshold), "D")
    step = 0
    if registrations >= CONVERSION_MIN_REGISTRATIONS and conversion >= CONVERSION_BONUS:
        step += 1
    if satisfaction is not None and satisfaction < SATISFACTION_FLOOR:
        step -= 1
    return ORDER[max(0, min(len(ORDER) - 1, ORDER.index(grade) + step))]


def figures(period: datetime.date) -> dict[int, dict]:
    """partner id -> gmv, registrations, converted, satisfaction over the twelve months before
    ``period`` (a first of month): four grouped queries, whatever the number of partners."""
    end = _aware(period)
    start = _aware(period.replace(year=period.year - 1))
    out: dict[int, dict] = {}

    def row(pid):
        return out.setdefault(pid, {"gmv": Decimal(0), "registrations": 0, "converted": 0, "satisfaction": None})

    gmv = (
        Attribution.objects.filter(
            order__status=Order.Status.PAID, order__placed_at__gte=start, order__placed_at__lt=end
        )
        .values("partner_id")
        .annotate(total=Sum(F("order__amount") - F("order__discount")))
    )
    for item in gmv:
        row(item["partner_id"])["gmv"] = item["total"] or Decimal(0)
    converted = Attribution.objects.filter(
        partner_id=OuterRef("partner_id"), order__customer__mobile=OuterRef("mobile")
    )
    registrations = (
        LeadRegistration.objects.filter(created_at__gte=start, created_at__lt=end)
        .exclude(status=LeadRegistration.Status.CONFLICT)
        .annotate(converted=Exists(converted))
        .values("partner_id", "converted")
        .annotate(n=Count("id"))
    )
    for item in registrations:
        r = row(item["partner_id"])
        r["registrations"] += item["n"]
        if item["converted"]:
            r["converted"] += item["n"]
    customers = Attribution.objects.filter(order__customer_id=OuterRef("customer_id")).values("partner_id")[:1]
    satisfaction = (
        Satisfaction.objects.filter(kind=Satisfaction.Kind.CSAT, recorded_at__gte=start, recorded_at__lt=end)
        .annotate(partner_id=customers)
        .exclude(partner_id=None)
        .values("partner_id")
        .annotate(mean=Avg("score"))
    )
    for item in satisfaction:
        row(item["partner_id"])["satisfaction"] = Decimal(item["mean"]).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return out


def recompute_grades(*, period: datetime.date) -> int:
    """Every signed, active or suspended partner's grade from ``period`` on (a first of month):
    one history row each (a second run finds it and changes nothing); a changed grade is set on
    the partner and told to its channel manager. Returns the number of changes."""
    period = period.replace(day=1)
    data = figures(period)
    changed = 0
    partners = Partner.objects.filter(
        status__in=[PartnerStatus.SIGNED, PartnerStatus.ACTIVE, PartnerStatus.SUSPENDED]
    ).select_related("owner")
    for partner in partners.order_by("id"):
        f = data.get(partner.pk, {"gmv": Decimal(0), "registrations": 0, "converted": 0, "satisfaction": None})
        rate = (
            (Decimal(f["converted"] * 100) / f["registrations"]).quantize(Decimal("0.01"), ROUND_HALF_UP)
            if f["registrations"]
            else Decimal(0)
        )
        new = grade_for(f["gmv"], rate, f["registrations"], f["satisfaction"])
        try:
            with transaction.atomic():
                GradeChange.objects.create(
                    partner=partner,
                    effective_from=period,
                    from_grade=partner.grade,
                    to_grade=new,
                    gmv=f["gmv"],
                    conversion_rate=rate,
                    satisfaction=f["satisfaction"],
                )
                if new == partner.grade:
                    continue
                Partner.objects.filter(pk=partner.pk).update(grade=new)
                old_label, new_label = PartnerGrade(partner.grade).label, PartnerGrade(new).label
                notify(
                    recipient=partner.owner,
                    title=_("%(partner)s: grade %(old)s → %(new)s")
                    % {
                        "partner": partner.name,
                        "old": old_label,
                        "new": new_label,
                    },
                    body=_("Applies to commission from %(month)s.") % {"month": period.strftime("%Y-%m")},
                    url=reverse("partners:detail", args=[partner.pk]),
                    kind="partner_grade",
                )
                changed += 1
        except IntegrityError:
            continue  # computed for this month already
    return changed


def grade_in_effect(partner: Partner, period: datetime.date) -> str:
    """The grade that applied to ``partner`` during the month ``period``: the last computed on or
    before it, else the grade before the first computed after it, else the partner's grade."""
    before = GradeChange.objects.filter(partner=partner, effective_from__lte=period).order_by("-effective_from").first()
    if before is not None:
        return before.to_grade
    after = GradeChange.objects.filter(partner=partner, effective_from__gt=period).order_by("effective_from").first()
    return after.from_grade if after is not None else partner.grade


def grades_in_effect(partners, period: datetime.date) -> dict[int, str]:
    """:func:`grade_in_effect` of each of ``partners`` (partner id -> grade), in one query."""
    changes: dict[int, list] = {}
    rows = GradeChange.objects.filter(partner__in=[partner.pk for partner in partners]).order_by(
        "partner_id", "effective_from", "id"
    )
    for row in rows.values_list("partner_id", "effective_from", "from_grade", "to_grade", named=True):
        changes.setdefault(row.partner_id, []).append(row)
    grades = {}
    for partner in partners:
        history = changes.get(partner.pk, [])
        before = [change for change in history if change.effective_from <= period]
        after = [change for change in history if change.effective_from > period]
        if before:
            grades[partner.pk] = before[-1].to_grade
        elif after:
            grades[partner.pk] = after[0].from_grade
        else:
            grades[partner.pk] = partner.grade
    return grades


def customers_of(partner_id: int):
    """The customers with an order attributed to the partner."""
    return Customer.objects.filter(
        Exists(Attribution.objects.filter(partner_id=partner_id, order__customer=OuterRef("pk")))
    )
