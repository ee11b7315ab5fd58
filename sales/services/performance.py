"""Targets, attainment, the leaderboard (PK) and the reps' daily and weekly reports."""

import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import Department, Role, User
from crm.notifications import notify_many
from customers.models import Customer

from .. import metrics, selectors
from ..models import FollowUp, Lead, Opportunity, Report, Target


def period_bounds(period, start):
    """(first day, first day of the next period) for a month or a quarter starting at ``start``."""
    start = start.replace(day=1)
    months = 3 if period == Target.Period.QUARTER else 1
    month = start.month - 1 + months
    end = datetime.date(start.year + month // 12, month % 12 + 1, 1)
    return start, end


def period_start(period, day):
    if period == Target.Period.QUARTER:
        return datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return day.replace(day=1)


def _aware(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def actuals(user_ids, start, end):
    """Per user id: amount won, deals won, new customers, follow-ups in [start, end) — four or
    five grouped queries whatever the data size. The amount counts what the setting
    ``target_amount_source`` says (won opportunities, signed contracts or collected payments,
    ``sales.metrics``)."""
    lo, hi = _aware(start), _aware(end)
    result = {uid: {"amount_won": Decimal(0), "deals_won": 0, "new_customers": 0, "followups": 0} for uid in user_ids}
    source = metrics.current_source()
    won = (
        Opportunity.objects.filter(owner_id__in=user_ids, stage__is_won=True, closed_at__gte=lo, closed_at__lt=hi)
        .values("owner_id")
        .annotate(amount=Sum("amount"), n=Count("id"))
    )
    for row in won:
        if source.fn is None:
            result[row["owner_id"]]["amount_won"] = row["amount"] or Decimal(0)
        result[row["owner_id"]]["deals_won"] = row["n"]
    if source.fn is not None:
        for owner_id, amount in source.fn(list(user_ids), start, end).items():
            if owner_id in result:
                result[owner_id]["amount_won"] = amount or Decimal(0)
    for row in (
        Customer.objects.filter(owner_id__in=user_ids, created_at__gte=lo, created_at__lt=hi)
        .values("owner_id")
        .annotate(n=Count("id"))
    ):
        result[row["owner_id"]]["new_customers"] = row["n"]
    for row in (
        FollowUp.objects.filter(created_by_id__in=user_ids, at__gte=lo, at__lt=hi)
        .values("created_by_id")
        .annotate(n=Count("id"))
    ):
        result[row["created_by_id"]]["followups"] = row["n"]
    return result


def leaderboard(*, users, period, start, metric=Target.Metric.AMOUNT_WON):
    """Rows per user: figures, target and attainment (%) for the metric, best first."""
    start, end = period_bounds(period, start)
    users = list(users)
    figures = actuals([u.pk for u in users], start, end)
    targets = {
        t.user_id: t.value for t in Target.objects.filter(user__in=users, metric=metric, period=period, start=start)
    }
    rows = []
    for user in users:
        value = figures[user.pk][metric]
        target = targets.get(user.pk)
        rows.append(
            {
                "user": user,
                "figures": figures[user.pk],
                "value": value,
                "target": target,
                "attainment": round(float(value) * 100 / float(target), 1) if target else None,
            }
        )
    rows.sort(key=lambda r: (r["attainment"] is None, -(r["attainment"] or 0), -float(r["value"])))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    # the period is [start, end); people read a period by its last day ("12-01 – 12-31")
    return {"rows": rows, "start": start, "end": end, "last_day": end - datetime.timedelta(days=1)}


def team_attainment(*, department, period, start, metric=Target.Metric.AMOUNT_WON):
    """The team's total against the team target (members of the department and below)."""
    start, end = period_bounds(period, start)
    member_ids = list(
        User.objects.filter(department__path__startswith=department.path, is_active=True, is_service=False).values_list(
            "pk", flat=True
        )
    )
    figures = actuals(member_ids, start, end)
    value = sum((f[metric] for f in figures.values()), Decimal(0) if metric == "amount_won" else 0)
    target = Target.objects.filter(department=department, metric=metric, period=period, start=start).first()
    return {
        "department": department,
        "value": value,
        "target": target.value if target else None,
        "attainment": round(float(value) * 100 / float(target.value), 1) if target and target.value else None,
    }


def report_figures(user, start, end):
    lo, hi = _aware(start), _aware(end)
    figures = actuals([user.pk], start, end)[user.pk]
    figures["amount_won"] = str(figures["amount_won"])
    figures["new_leads"] = Lead.objects.filter(owner=user, assigned_at__gte=lo, assigned_at__lt=hi).count()
    figures["conversions"] = Lead.objects.filter(owner=user, converted_at__gte=lo, converted_at__lt=hi).count()
    return figures


def team_figures(department, start, end):
    """A team's figures: the sum of its members' (the team and the departments below it)."""
    lo, hi = _aware(start), _aware(end)
    members = User.objects.filter(department__path__startswith=department.path, is_active=True, is_service=False)
    member_ids = list(members.values_list("pk", flat=True))
    totals = {"amount_won": Decimal(0), "deals_won": 0, "new_customers": 0, "followups": 0}
    for row in actuals(member_ids, start, end).values():
        for key in totals:
            totals[key] += row[key]
    totals["amount_won"] = str(totals["amount_won"])
    totals["new_leads"] = Lead.objects.filter(owner_id__in=member_ids, assigned_at__gte=lo, assigned_at__lt=hi).count()
    totals["conversions"] = Lead.objects.filter(
        owner_id__in=member_ids, converted_at__gte=lo, converted_at__lt=hi
    ).count()
    totals["members"] = len(member_ids)
    return totals


def report_period(kind, day):
    """[start, end) of the report of ``kind`` containing ``day``."""
    if kind == Report.Kind.MONTHLY:
        start = day.replace(day=1)
        return start, (start + datetime.timedelta(days=32)).replace(day=1)
    if kind == Report.Kind.WEEKLY:
        start = day - datetime.timedelta(days=day.weekday())
        return start, start + datetime.timedelta(days=7)
    return day, day + datetime.timedelta(days=1)


@transaction.atomic
def generate_reports(*, kind, day=None):
    """Create (or refresh) the daily report of ``day`` (default today), the weekly report of the
    week containing it or the monthly report (月报) of the month containing it, for every active
    sales rep — and for a monthly report, for every team too. One report per holder, kind and
    period (the unique constraints ``report_once`` and ``team_report_once``; ``get_or_create``
    falls back to the row a parallel run inserted), so running twice refreshes the figures and
    keeps the notes, read marks and comments."""
    day = day or timezone.localdate()
    start, end = report_period(kind, day)
    count = 0
    now = timezone.now()
    for user in User.objects.filter(role=Role.REP, is_active=True, is_service=False):
        report, created = Report.objects.get_or_create(user=user, kind=kind, start=start)
        report.figures = report_figures(user, start, end)
        report.generated_at = now
        report.save(update_fields=["figures", "generated_at"])
        count += 1
    if kind == Report.Kind.MONTHLY:
        for team in Department.objects.filter(kind=Department.Kind.TEAM):
            report, created = Report.objects.get_or_create(department=team, kind=kind, start=start)
            report.figures = team_figures(team, start, end)
            report.generated_at = now
            report.save(update_fields=["figures", "generated_at"])
            count += 1
    return count


@transaction.atomic
def annotate_report(*, report: Report, actor, note: str) -> Report:
    """The rep (for a team, its manager) writes the report's note. Raises ``DomainError``
    ``not_author`` for anyone else."""
    if not selectors.may_annotate(actor, report):
        raise DomainError("not_author", _("Only the report's author writes its note."))
    report.note = note.strip()[:5000]
    report.save(update_fields=["note"])
    return report


@transaction.atomic
def mark_report_read(*, report: Report, actor) -> Report:
    """The manager marks a report read (the first reader and time are kept)."""
    if not selectors.may_review(actor, report):
        raise DomainError("not_reviewer", _("Only a manager who sees this report reads it."))
    if report.read_at is None:
        report.read_by, report.read_at = actor, timezone.now()
        report.save(update_fields=["read_by", "read_at"])
    return report


@transaction.atomic
def comment_report(*, report: Report, actor, comment: str) -> Report:
    """The manager comments a report (点评): the comment replaces the previous one, marks the
    report read, and notifies its author(s). Raises ``DomainError`` ``not_reviewer`` or
    ``comment`` (empty)."""
    if not selectors.may_review(actor, report):
        raise DomainError("not_reviewer", _("Only a manager who sees this report comments on it."))
    comment = comment.strip()[:5000]
    if not comment:
        message = _("Write a comment.")
        raise DomainError("comment", message, fields={"comment": message})
    now = timezone.now()
    report.comment, report.commented_by, report.commented_at = comment, actor, now
    fields = ["comment", "commented_by", "commented_at"]
    if report.read_at is None:
        report.read_by, report.read_at = actor, now
        fields += ["read_by", "read_at"]
    report.save(update_fields=fields)
    title = _("%(who)s commented on your %(kind)s report of %(start)s") % {
        "who": actor,
        "kind": report.get_kind_display(),
        "start": f"{report.start:%Y-%m-%d}",
    }
    notify_many(
        [
            {
                "recipient": author,
                "title": title,
                "body": comment[:200],
                "url": report.get_absolute_url(),
                "kind": "report",
            }
            for author in selectors.report_authors(report)
        ]
    )
    return report


@transaction.atomic
def set_target(*, actor, metric, period, start, value, user=None, department=None):
    start, _end = period_bounds(period, period_start(period, start))
    target, _created = Target.objects.update_or_create(
        user=user, department=department, metric=metric, period=period, start=start, defaults={"value": value}
    )
    return target
