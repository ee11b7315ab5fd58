"""Figures of the school (BI): the renewal rate by course, teacher and rep, and a parent-readable
lesson-hour ledger per enrolment.

**续费率** = renewals ÷ (renewals + finished enrolments) per month, where a *renewal* is a renewal
opportunity (``RenewalRequest``) won in that month and a *finished enrolment* one whose lesson
hours ran out (its last hour used) in that month without a won renewal — hours a refund took
away do not make an enrolment finished: the student left. Both are counted with
one grouped query each; the rate is never above 100% (a renewed enrolment is not also finished).
"""

import datetime

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import EntitlementUse

from .models import Attendance, Enrolment, RenewalRequest, Session

GROUPS = {
    "course": ("school_class__course_id", "school_class__course__name"),
    "teacher": ("school_class__teacher_id", "school_class__teacher__name"),
    "rep": ("customer__owner_id", "customer__owner__name"),
}


def _months_back(months: int) -> datetime.datetime:
    today = timezone.localdate()
    year, month = divmod(today.year * 12 + today.month - 1 - (months - 1), 12)
    return timezone.make_aware(datetime.datetime.combine(datetime.date(year, month + 1, 1), datetime.time.min))


def renewal_rates(*, by: str, months: int = 6, enrolments: QuerySet | None = None) -> list[dict]:
    """Rows ``{"key", "name", "month", "renewals", "finished", "rate"}`` (rate in %, None when
    nothing renewed or finished), newest month first, for ``by`` in course, teacher, rep."""
    key, name = GROUPS[by]
    since = _months_back(months)
    base = Enrolment.objects.all() if enrolments is None else enrolments
    won = RenewalRequest.objects.filter(enrolment=OuterRef("pk"), opportunity__stage__is_won=True)
    renewed = (
        base.filter(renewals__opportunity__stage__is_won=True, renewals__opportunity__closed_at__gte=since)
        .annotate(month=TruncMonth("renewals__opportunity__closed_at"))
        .values("month", key, name)
        .annotate(n=Count("pk", distinct=True))
    )
    finished = (
        base.filter(
            entitlement__uses__balance_after=0,
            entitlement__uses__kind=EntitlementUse.Kind.USE,  # emptied by a refund: left, not finished
            entitlement__uses__used_at__gte=since,
        )
        .exclude(Exists(won))
        .annotate(month=TruncMonth("entitlement__uses__used_at"))
        .values("month", key, name)
        .annotate(n=Count("pk", distinct=True))
    )
    rows: dict = {}
    for kind, query in (("renewals", renewed), ("finished", finished)):
        for row in query:
            month = timezone.localtime(row["month"]).date().replace(day=1) if row["month"] else None
            entry = rows.setdefault(
                (month, row[key]),
                {"key": row[key], "name": row[name] or "—", "month": month, "renewals": 0, "finished": 0},
            )
            entry[kind] += row["n"]
    result = []
    for entry in rows.values():
        total = entry["renewals"] + entry["finished"]
        entry["rate"] = round(100 * entry["renewals"] / total) if total else None
        result.append(entry)
    return sorted(result, key=lambda r: (r["month"] or datetime.date.min, r["name"]), reverse=True)


def hour_ledger(enrolment: Enrolment) -> list[dict]:
    """The enrolment's lesson hours as a parent reads them, oldest first: the grant, then every
    hour used (with its session, the attendance, and whether it was a make-up lesson) and every
    refund (with its reason), each line with the balance it left. Three queries."""
    entitlement = enrolment.entitlement
    if entitlement is None:
        return []
    lines = [
        {
            "kind": "grant",
            "label": _("Hours granted"),
            "at": entitlement.granted_at,
            "change": entitlement.quantity,
            "balance": entitlement.quantity,
            "session": None,
            "status": "",
        }
    ]
    uses = list(EntitlementUse.objects.filter(entitlement=entitlement).order_by("used_at", "id")[:500])
    session_ids = [int(u.reference.split(":", 1)[1]) for u in uses if u.reference.startswith("session:")]
    sessions = Session.objects.select_related("school_class", "teacher").in_bulk(session_ids)
    attendance = {
        a.session_id: a
        for a in Attendance.objects.filter(enrolment=enrolment, session_id__in=session_ids).only(
            "session_id", "status", "is_makeup"
        )
    }
    for use in uses:
        session = None
        if use.reference.startswith("session:"):
            session = sessions.get(int(use.reference.split(":", 1)[1]))
        record = attendance.get(session.pk) if session else None
        makeup = bool(record and record.is_makeup)
        if use.kind == EntitlementUse.Kind.REFUND:
            kind, label = "refund", _("Refunded: %(reason)s") % {"reason": use.note}
        elif makeup:
            kind, label = "makeup", _("Make-up lesson")
        elif record is not None:
            kind, label = "lesson", record.get_status_display()
        else:
            kind, label = "use", use.note or _("Hours used")
        lines.append(
            {
                "kind": kind,
                "label": label,
                "at": use.used_at,
                "change": -use.quantity,
                "balance": use.balance_after,
                "session": session,
                "status": record.status if record else "",
            }
        )
    return lines
