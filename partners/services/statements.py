"""结算: monthly settlement statements of partner commission.

Generation (``generate_statements``, run by beat on the 1st for the month before, and safe to run
again) gives each partner one statement per month: the unique (partner, month) index makes two
generators share one row, which each then locks (``select_for_update``) before adding lines. A line
per attributed paid order not yet accrued (an order that arrived during a generation lands in the
next), and a clawback line per accrued order since cancelled; the unique (order, kind) index makes
an order accrue and claw back once. The statement's total is recomputed from its lines in the same
transaction as every change. Approval goes through the approval engine (kind ``partner_statement``),
which never routes a request to its requester (the preparer)."""

import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_noop

from catalog.services.pricing import skus_by_code
from crm.approvals.services import request_approval
from crm.errors import Conflict, Invalid
from customers.models import Order

from ..models import Attribution, Partner, RebatePlan, Statement, StatementLine
from .commission import commission_for, rules_for
from .grades import grade_in_effect
from .rebates import period_bounds, rebate_for, volume_of

STATEMENT_KIND = "partner_statement"


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def month_end(period: datetime.date) -> datetime.datetime:
    """The first instant of the month after ``period`` (local time)."""
    following = (period + datetime.timedelta(days=32)).replace(day=1)
    return timezone.make_aware(datetime.datetime.combine(following, datetime.time.min))


def _recount(statement: Statement) -> Statement:
    total = statement.lines.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    Statement.objects.filter(pk=statement.pk).update(total=total)
    statement.total = total
    return statement


def _locked(partner_id: int, period: datetime.date) -> Statement:
    Statement.objects.bulk_create([Statement(partner_id=partner_id, period=period)], ignore_conflicts=True)
    return Statement.objects.select_for_update().get(partner_id=partner_id, period=period)


@transaction.atomic
def generate_statement(*, partner_id: int, period: datetime.date) -> Statement:
    """The partner's statement of ``period`` with every line due up to the month's end."""
    period = month_start(period)
    statement = _locked(partner_id, period)
    statement.partner = Partner.objects.get(pk=partner_id)
    if statement.status != Statement.Status.DRAFT:
        return statement
    # the commission rules of the grade that applied in the month (a new grade moves them next month)
    statement.partner.grade = grade_in_effect(statement.partner, period)
    end = month_end(period)
    accrued = StatementLine.objects.filter(order=OuterRef("order"), kind=StatementLine.Kind.ACCRUAL)
    # set-based: whether each order's customer had paid before (is_new_customer for every order in
    # the one query), the lines of all the orders in one more, the SKUs in one, the rules once per
    # kind of customer — a handful of queries per partner, not several per order
    earlier = Order.objects.filter(customer_id=OuterRef("order__customer_id"), status=Order.Status.PAID).filter(
        Q(placed_at__lt=OuterRef("order__placed_at"))
        | Q(placed_at=OuterRef("order__placed_at"), pk__lt=OuterRef("order_id"))
    )
    due = list(
        Attribution.objects.filter(partner_id=partner_id, order__status=Order.Status.PAID, order__placed_at__lt=end)
        .exclude(Exists(accrued))
        .annotate(repeat=Exists(earlier))
        .select_related("order")
        .prefetch_related("order__lines")
        .order_by("order__placed_at", "order_id")
    )
    rules = {repeat: rules_for(statement.partner, new_customer=not repeat) for repeat in {a.repeat for a in due}}
    skus = skus_by_code(line.sku for attribution in due for line in attribution.order.lines.all())
    lines = []
    for attribution in due:
        shares = commission_for(attribution.order, statement.partner, rules=rules[attribution.repeat], skus=skus)
        if not shares:
            continue
        main = max(shares, key=lambda share: (share.amount, -share.rule.pk))
        lines.append(
            StatementLine(
                statement=statement,
                kind=StatementLine.Kind.ACCRUAL,
                order=attribution.order,
                rule=main.rule,
                base=sum((s.base for s in shares), Decimal(0)),
                amount=sum((s.amount for s in shares), Decimal(0)),
                note=" + ".join(s.rule.name for s in shares)[:200],
            )
        )
    clawed = StatementLine.objects.filter(order=OuterRef("order"), kind=StatementLine.Kind.CLAWBACK)
    cancelled = (
        StatementLine.objects.filter(
            statement__partner_id=partner_id, kind=StatementLine.Kind.ACCRUAL, order__status=Order.Status.CANCELLED
        )
        .exclude(Exists(clawed))
        .order_by("id")
    )
    for accrual in cancelled:
        lines.append(
            StatementLine(
                statement=statement,
                kind=StatementLine.Kind.CLAWBACK,
                order_id=accrual.order_id,
                rule_id=accrual.rule_id,
                base=-accrual.base,
                amount=-accrual.amount,
                note=gettext_noop("Order cancelled"),
            )
        )
    lines += _rebate_lines(statement)
    StatementLine.objects.bulk_create(lines)
    return _recount(statement)


def _rebate_lines(statement: Statement) -> list[StatementLine]:
    """返点 on the statement of the month that closes a plan's period (a quarterly plan: March, June,
    September, December): one line per plan, never two (unique per statement and plan)."""
    partner = statement.partner
    following = month_end(statement.period).date()
    done = set(statement.lines.filter(rebate_plan__isnull=False).values_list("rebate_plan_id", flat=True))
    lines = []
    plans = RebatePlan.objects.filter(Q(partner_kind="") | Q(partner_kind=partner.kind), is_active=True)
    for plan in plans.prefetch_related("tiers"):
        start, end = period_bounds(plan, statement.period)
        if end != following or plan.pk in done:
            continue
        volume = volume_of(partner, start, end)
        amount = rebate_for(plan, volume, list(plan.tiers.all()))
        if amount > 0:
            lines.append(
                StatementLine(
                    statement=statement,
                    kind=StatementLine.Kind.REBATE,
                    rebate_plan=plan,
                    base=volume,
                    amount=amount,
                    note=plan.name[:200],
                )
            )
    return lines


def generate_statements(*, period: datetime.date) -> int:
    """Every partner's statement of ``period`` that has anything due; the number generated."""
    partner_ids = list(Attribution.objects.order_by("partner_id").values_list("partner_id", flat=True).distinct())
    for partner_id in partner_ids:
        generate_statement(partner_id=partner_id, period=period)
    return len(partner_ids)


@transaction.atomic
def add_adjustment(*, statement: Statement, amount: Decimal, note: str, actor) -> StatementLine:
    """A signed adjustment line on a draft statement. Raises ``Conflict("statement_closed")`` once
    it was submitted, and ``Invalid`` on ``note`` without a reason."""
    statement = Statement.objects.select_for_update().get(pk=statement.pk)
    if statement.status != Statement.Status.DRAFT:
        raise Conflict("statement_closed", gettext_noop("This statement is closed; adjust the next one."))
    if not note.strip():
        raise Invalid(
            gettext_noop("Give the reason for the adjustment."),
            fields={"note": gettext_noop("Give the reason for the adjustment.")},
        )
    line = StatementLine.objects.create(
        statement=statement,
        kind=StatementLine.Kind.ADJUSTMENT,
        amount=Decimal(amount).quantize(Decimal("0.01")),
        note=note[:200],
        created_by=actor,
    )
    _recount(statement)
    return line


@transaction.atomic
def submit_statement(*, statement: Statement, actor) -> Statement:
    """Send a draft statement for approval; the submitter is its preparer and cannot approve it."""
    updated = Statement.objects.filter(pk=statement.pk, status=Statement.Status.DRAFT).update(
        status=Statement.Status.SUBMITTED, prepared_by=actor
    )
    if updated != 1:
        raise Conflict("statement_not_draft", gettext_noop("Only a draft statement can be submitted."))
    statement.refresh_from_db()
    request_approval(kind=STATEMENT_KIND, obj=statement, requester=actor)
    return statement


def on_approved(statement: Statement, actor) -> None:
    Statement.objects.filter(pk=statement.pk, status=Statement.Status.SUBMITTED).update(
        status=Statement.Status.APPROVED, approved_at=timezone.now()
    )


def on_rejected(statement: Statement, actor) -> None:
    Statement.objects.filter(pk=statement.pk, status=Statement.Status.SUBMITTED).update(status=Statement.Status.DRAFT)


@transaction.atomic
def record_payment(*, statement: Statement, actor) -> Statement:
    updated = Statement.objects.filter(pk=statement.pk, status=Statement.Status.APPROVED).update(
        status=Statement.Status.PAID, paid_at=timezone.now()
    )
    if updated != 1:
        raise Conflict("statement_not_approved", gettext_noop("Only an approved statement can be paid."))
    statement.refresh_from_db()
    return statement


@transaction.atomic
def confirm_statement(*, statement: Statement, actor) -> Statement:
    """The partner confirms an approved (or paid) statement, once. Raises
    ``Conflict("statement_not_approved")`` before approval and ``Conflict("already_confirmed")``."""
    updated = Statement.objects.filter(
        pk=statement.pk,
        status__in=[Statement.Status.APPROVED, Statement.Status.PAID],
        confirmed_at__isnull=True,
    ).update(confirmed_at=timezone.now(), confirmed_by=actor)
    statement.refresh_from_db()
    if updated != 1:
        if statement.confirmed_at is not None:
            raise Conflict("already_confirmed", gettext_noop("This statement was confirmed already."))
        raise Conflict("statement_not_approved", gettext_noop("Only an approved statement can be confirmed."))
    return statement


def statement_rows(statement: Statement, labels: dict) -> list[list]:
    """The statement as rows for an XLSX sheet: a header, one row per line, the total (= Σ lines)."""
    rows = [
        [
            labels["kind"],
            labels["order"],
            labels["customer"],
            labels["rule"],
            labels["base"],
            labels["amount"],
            labels["note"],
        ]
    ]
    for line in statement.lines.select_related("order__customer", "rule").order_by("id"):
        rows.append(
            [
                line.get_kind_display(),
                line.order_id or "",
                line.order.customer.name if line.order_id else "",
                line.rule.name if line.rule_id else "",
                line.base,
                line.amount,
                line.note,
            ]
        )
    rows.append([labels["total"], "", "", "", "", statement.total, ""])
    return rows
