"""Renewal forecast (续费预测): when each enrolment's lesson hours will reach the renewal line,
from how fast they are being used.

The rule, for an enrolled student (``Enrolment.Status.ENROLLED``) with lesson hours:

- **Use per week**: the hours the ledger took for lessons (``EntitlementUse`` of kind *use*: a
  lesson attended or missed; refunds are not use) in each of the last 8 weeks, the newest week
  being the 7 days ending today (local dates, Asia/Shanghai).
- **Weekly use** = the hours used in the last *N* weeks ÷ *N*, where *N* is the number of weeks
  since the enrolment started (a started week counts; at least 1, at most 8) — so a student who
  joined two weeks ago is not averaged over six empty weeks.
- **Projected dates**: the balance goes down by the weekly use every 7 days from today; the
  threshold date is the first day the projected balance is at or under the course's
  ``renewal_threshold`` (today when it already is), the empty date the first day it is at zero.
  Both are ``None`` when nothing was used (no consumption: no projection), and for an enrolment
  without lesson hours. **Weeks left** = balance ÷ weekly use, one decimal.

Set-based: the enrolments (with their student, owner, class, course and hours) in one query and
the ledger's weekly sums for all of them in one grouped query — two queries whatever their number.
Reads only; nothing is written.
"""

import datetime
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import EntitlementUse

from ..models import Enrolment

#: the weeks of history looked at
WEEKS = 8


@dataclass
class Forecast:
    enrolment: Enrolment
    balance: int | None
    threshold: int
    #: hours used in each of the last ``WEEKS`` weeks, oldest first (the last is the week to today)
    history: list[int] = field(default_factory=list)
    #: the weeks the weekly use is averaged over
    weeks: int = 1
    weekly: Decimal = Decimal("0.0")
    threshold_on: datetime.date | None = None
    empty_on: datetime.date | None = None
    weeks_left: Decimal | None = None
    #: a parent or guardian linked to the student (set by the page's selector)
    parent: object = None

    @property
    def summary(self) -> str:
        """The projection as one line: "按近 N 周每周 X 课时，预计 YYYY-MM-DD 课时余额降至续费线"."""
        if self.balance is None:
            return ""
        if self.threshold_on is None:
            return _("No lesson hours used in the last %(weeks)s weeks: no renewal forecast.") % {"weeks": self.weeks}
        return _(
            "At %(rate)s lesson hours a week over the last %(weeks)s weeks, the balance is expected to "
            "reach the renewal line on %(date)s."
        ) % {"rate": self.weekly_text, "weeks": self.weeks, "date": self.threshold_on.isoformat()}

    @property
    def weekly_text(self) -> str:
        """The weekly use as read: 2 rather than 2.0, 1.5 as is."""
        return str(int(self.weekly)) if self.weekly == self.weekly.to_integral_value() else str(self.weekly)


def _midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _days_until(hours: int, rate: Fraction) -> int:
    """The first whole day on which ``hours`` are used up at ``rate`` hours a week."""
    return max(0, math.ceil(Fraction(hours) * 7 / rate))


def forecasts(enrolments: QuerySet, *, today: datetime.date | None = None) -> list[Forecast]:
    """The forecast of every enrolled student of ``enrolments`` (a queryset the caller has already
    narrowed to the user's scope), in the queryset's order. Two queries."""
    today = today or timezone.localdate()
    rows = list(
        enrolments.filter(status=Enrolment.Status.ENROLLED).select_related(
            "customer__owner", "school_class__course", "school_class__teacher", "entitlement"
        )
    )
    # week k (0 = oldest) covers the 7 days from starts[k]; the last ends with today
    starts = [today - datetime.timedelta(days=7 * (WEEKS - k) - 1) for k in range(WEEKS)]
    bounds = [_midnight(day) for day in starts] + [_midnight(today + datetime.timedelta(days=1))]
    sums = {f"w{k}": Sum("quantity", filter=Q(used_at__gte=bounds[k], used_at__lt=bounds[k + 1])) for k in range(WEEKS)}
    entitlement_ids = [e.entitlement_id for e in rows if e.entitlement_id]
    used = {}
    if entitlement_ids:
        used = {
            row["entitlement_id"]: [row[f"w{k}"] or 0 for k in range(WEEKS)]
            for row in EntitlementUse.objects.filter(
                entitlement_id__in=enrolments.filter(status=Enrolment.Status.ENROLLED).values("entitlement_id"),
                kind=EntitlementUse.Kind.USE,
                used_at__gte=bounds[0],
                used_at__lt=bounds[-1],
            )
            .order_by()
            .values("entitlement_id")
            .annotate(**sums)
        }
    return [_forecast(enrolment, used.get(enrolment.entitlement_id, [0] * WEEKS), today) for enrolment in rows]


def forecast_for(enrolment: Enrolment, *, today: datetime.date | None = None) -> Forecast | None:
    """One enrolment's forecast (None when it is not enrolled)."""
    found = forecasts(Enrolment.objects.filter(pk=enrolment.pk), today=today)
    return found[0] if found else None


def _forecast(enrolment: Enrolment, history: list[int], today: datetime.date) -> Forecast:
    threshold = enrolment.school_class.course.renewal_threshold
    entitlement = enrolment.entitlement
    started = timezone.localtime(enrolment.created_at).date()
    weeks = min(WEEKS, max(1, math.ceil(((today - started).days + 1) / 7)))
    result = Forecast(
        enrolment=enrolment,
        balance=entitlement.balance if entitlement is not None else None,
        threshold=threshold,
        history=history,
        weeks=weeks,
    )
    if entitlement is None:
        return result
    total = sum(history[-weeks:])
    rate = Fraction(total, weeks)
    result.weekly = (Decimal(total) / weeks).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if total == 0:
        return result
    balance = entitlement.balance
    result.threshold_on = today + datetime.timedelta(days=_days_until(max(0, balance - threshold), rate))
    result.empty_on = today + datetime.timedelta(days=_days_until(balance, rate))
    result.weeks_left = (Decimal(balance) * weeks / total).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return result
