"""结算: monthly settlement statements of partner commission.

Generation (``generate_statements``, run by beat on the 1st for the month before, and safe to run
again) gives each partner one statement per month, in one set-based pass over all the partners (a
fixed number of queries whatever the number of partners and orders): the unique (partner, month)
index makes two generators share one row, which each then locks (``select_for_update``, in partner
order) before adding lines. A line per attributed paid order not yet accrued (an order that arrived
during a generation lands in the next), and a clawback line per accrued order since cancelled; the
unique (order, kind) index makes an order accrue and claw back once. The statement's total is
recomputed from its lines in the same transaction as every change. Approval goes through the
approval engine (kind ``partner_statement``), which never routes a request to its requester (the
preparer)."""

import csv
import datetime
import io
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import BooleanField, Case, DecimalField, Exists, ExpressionWrapper, OuterRef, Q, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext_noop

from catalog.services.pricing import skus_by_code
from crm.approvals.services import request_approval
from crm.errors import Conflict, Invalid
from customers.models import Order, OrderLine

from ..models import Attribution, CommissionRule, Partner, RebatePlan, Statement, StatementLine
from .commission import best_rule, rules_among, shares_of
from .grades import grades_in_effect
from .rebates import period_bounds, rebate_for, volumes_of

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


def _recount_all(statements: list[Statement]) -> None:
    """Every statement's total recomputed from its lines: one grouped read, one update."""
    ids = [statement.pk for statement in statements]
    totals = dict(
        StatementLine.objects.filter(statement_id__in=ids)
        .order_by()
        .values("statement_id")
        .annotate(total=Sum("amount"))
        .values_list("statement_id", "total")
    )
    for statement in statements:
        statement.total = totals.get(statement.pk) or Decimal("0.00")
    Statement.objects.filter(pk__in=ids).update(
        total=Case(
            *(When(pk=statement.pk, then=Value(statement.total)) for statement in statements),
            default=Value(Decimal("0.00")),
            output_field=DecimalField(max_digits=14, decimal_places=2),
        )
    )


#: lines per multi-row ``INSERT`` (fewer where the database takes fewer parameters)
BATCH = 5000
LINE_COLUMNS = ("statement_id", "kind", "order_id", "rule_id", "base", "amount", "rebate_plan_id", "note")


def _line_columns() -> list[str]:
    meta = StatementLine._meta
    return [meta.get_field(name.removesuffix("_id")).column for name in (*LINE_COLUMNS, "created_at")]


def _insert_lines(rows: list[tuple]) -> None:
    """Insert statement lines given as tuples of ``LINE_COLUMNS``, without model instances (at
    200,000 lines building them took longer than the database): PostgreSQL takes them in one
    ``COPY``, other databases in multi-row ``INSERT``s of ``BATCH`` rows."""
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and hasattr(cursor.cursor, "copy_expert"):
            _copy_lines(cursor, rows)
        else:
            _insert_values(cursor, rows)


def _copy_lines(cursor, rows: list[tuple]) -> None:
    """PostgreSQL: the rows as CSV through ``COPY … FROM STDIN`` (an empty unquoted field is NULL,
    except in ``note``)."""
    created_at = timezone.now().isoformat()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow(
            [
                "" if value is None else format(value, "f") if isinstance(value, Decimal) else value
                for value in (*row, created_at)
            ]
        )
    buffer.seek(0)
    quote = connection.ops.quote_name
    cursor.cursor.copy_expert(
        f"COPY {quote(StatementLine._meta.db_table)} ({', '.join(quote(c) for c in _line_columns())}) "
        f"FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL ({quote('note')}))",
        buffer,
    )


def _insert_values(cursor, rows: list[tuple]) -> None:
    columns = _line_columns()
    created_at = connection.ops.adapt_datetimefield_value(timezone.now())
    limit = connection.features.max_query_params
    size = min(BATCH, limit // len(columns)) if limit else BATCH
    quote = connection.ops.quote_name
    head = f"INSERT INTO {quote(StatementLine._meta.db_table)} ({', '.join(quote(c) for c in columns)}) VALUES "
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for first in range(0, len(rows), size):
        batch = rows[first : first + size]
        cursor.execute(head + ", ".join([one] * len(batch)), [value for row in batch for value in (*row, created_at)])


@transaction.atomic
def generate_statement(*, partner_id: int, period: datetime.date) -> Statement:
    """The partner's statement of ``period`` with every line due up to the month's end."""
    return _generate([partner_id], month_start(period))[partner_id]


@transaction.atomic
def generate_statements(*, period: datetime.date) -> int:
    """Every partner's statement of ``period`` (every partner with an attributed order), in one pass
    over all of them; the number of statements."""
    partner_ids = list(Attribution.objects.order_by("partner_id").values_list("partner_id", flat=True).distinct())
    _generate(partner_ids, month_start(period))
    return len(partner_ids)


def _generate(partner_ids: list[int], period: datetime.date) -> dict[int, Statement]:
    """The statements of ``period`` of ``partner_ids`` (partner id -> statement), each draft one with
    every line due up to the month's end, set-based: a fixed number of queries whatever the number
    of partners and orders (the lines are inserted in batches of ``BATCH``).

    Each statement row is made if missing (the unique (partner, month) index makes two generators
    share it) and locked in partner order, so a second generator waits for the first and then finds
    nothing left to add; the unique (order, kind) index makes an order accrue and claw back once."""
    if not partner_ids:
        return {}
    Statement.objects.bulk_create(
        [Statement(partner_id=partner_id, period=period) for partner_id in partner_ids],
        ignore_conflicts=True,
        batch_size=1000,
    )
    statements = {
        statement.partner_id: statement
        for statement in Statement.objects.select_for_update()
        .filter(partner_id__in=partner_ids, period=period)
        .order_by("partner_id")
    }
    partners = Partner.objects.in_bulk(list(statements))
    for partner_id, statement in statements.items():
        statement.partner = partners[partner_id]
    drafts = {pid: statement for pid, statement in statements.items() if statement.status == Statement.Status.DRAFT}
    if not drafts:
        return statements
    # the commission rules of the grade that applied in the month (a new grade moves them next month)
    grades = grades_in_effect([statement.partner for statement in drafts.values()], period)
    for partner_id, statement in drafts.items():
        statement.partner.grade = grades[partner_id]
    lines: dict[int, list[StatementLine]] = {partner_id: [] for partner_id in drafts}
    _accruals(drafts, month_end(period), lines)
    _clawbacks(drafts, lines)
    _rebate_lines(drafts, lines)
    _insert_lines([line for partner_id in sorted(lines) for line in lines[partner_id]])
    _recount_all(list(drafts.values()))
    return statements


def _accruals(drafts: dict[int, Statement], end: datetime.datetime, lines: dict[int, list]) -> None:
    """A line per attributed paid order placed before ``end`` not yet accrued, in the order the
    orders were placed: the due orders of all the partners with "had the customer paid before" as an
    ``EXISTS`` column in one query, their lines in one, their SKUs in one, the rules once."""
    accrued = StatementLine.objects.filter(order=OuterRef("order"), kind=StatementLine.Kind.ACCRUAL)
    # "had the customer paid before" as two EXISTS (earlier, or at the same instant with a smaller id):
    # each an index look-up on (customer, status, placed_at), where one EXISTS with the OR was not
    paid = Order.objects.filter(customer_id=OuterRef("order__customer_id"), status=Order.Status.PAID)
    earlier = ExpressionWrapper(
        Q(Exists(paid.filter(placed_at__lt=OuterRef("order__placed_at"))))
        | Q(Exists(paid.filter(placed_at=OuterRef("order__placed_at"), pk__lt=OuterRef("order_id")))),
        output_field=BooleanField(),
    )
    due = Attribution.objects.filter(
        partner_id__in=list(drafts), order__status=Order.Status.PAID, order__placed_at__lt=end
    ).exclude(Exists(accrued))
    rows = list(
        due.annotate(repeat=earlier)
        .order_by("partner_id", "order__placed_at", "order_id")
        .values_list("partner_id", "order_id", "order__amount", "order__discount", "repeat")
    )
    if not rows:
        return
    order_lines: dict[int, list] = {}
    for line in (
        OrderLine.objects.filter(order_id__in=due.values("order_id"))
        .order_by("id")
        .values_list("order_id", "sku", "price", "quantity", named=True)
    ):
        order_lines.setdefault(line.order_id, []).append(line)
    skus = skus_by_code(line.sku for group in order_lines.values() for line in group)
    active = list(CommissionRule.objects.filter(is_active=True))
    # the rules of each kind of partner, grade and customer, and the best rule of each SKU under them
    chosen: dict[tuple, tuple] = {}

    def rules_of(partner, repeat):
        key = (partner.kind, partner.grade, repeat)
        if key not in chosen:
            rules = rules_among(active, kind=partner.kind, grade=partner.grade, new_customer=not repeat)
            memo = {}

            def best(sku, rules=rules, memo=memo):
                pk = sku.pk if sku is not None else None
                if pk not in memo:
                    memo[pk] = best_rule(rules, sku)
                return memo[pk]

            chosen[key] = (rules, best)
        return chosen[key]

    for partner_id, order_id, amount, discount, repeat in rows:
        statement = drafts[partner_id]
        rules, best = rules_of(statement.partner, repeat)
        shares = shares_of(amount, discount, order_lines.get(order_id, ()), rules=rules, skus=skus, best=best)
        if not shares:
            continue
        main = max(shares, key=lambda share: (share.amount, -share.rule.pk))
        lines[partner_id].append(
            (
                statement.pk,
                StatementLine.Kind.ACCRUAL.value,
                order_id,
                main.rule.pk,
                sum((s.base for s in shares), Decimal(0)),
                sum((s.amount for s in shares), Decimal(0)),
                None,
                " + ".join(s.rule.name for s in shares)[:200],
            )
        )


def _clawbacks(drafts: dict[int, Statement], lines: dict[int, list]) -> None:
    """A clawback line per accrued order of the partners since cancelled and not clawed back yet."""
    clawed = StatementLine.objects.filter(order=OuterRef("order"), kind=StatementLine.Kind.CLAWBACK)
    cancelled = (
        StatementLine.objects.filter(
            statement__partner_id__in=list(drafts),
            kind=StatementLine.Kind.ACCRUAL,
            order__status=Order.Status.CANCELLED,
        )
        .exclude(Exists(clawed))
        .order_by("id")
        .values_list("statement__partner_id", "order_id", "rule_id", "base", "amount")
    )
    for partner_id, order_id, rule_id, base, amount in cancelled:
        lines[partner_id].append(
            (
                drafts[partner_id].pk,
                StatementLine.Kind.CLAWBACK.value,
                order_id,
                rule_id,
                -base,
                -amount,
                None,
                gettext_noop("Order cancelled"),
            )
        )


def _rebate_lines(drafts: dict[int, Statement], lines: dict[int, list]) -> None:
    """返点 on the statement of the month that closes a plan's period (a quarterly plan: March, June,
    September, December): one line per plan, never two (unique per statement and plan). The volumes
    of all the partners are read in one grouped query per kind of period."""
    period = next(iter(drafts.values())).period
    following = month_end(period).date()
    closing = []
    for plan in RebatePlan.objects.filter(is_active=True).prefetch_related("tiers"):
        start, end = period_bounds(plan, period)
        if end == following:
            closing.append((plan, start, end))
    if not closing:
        return
    done = set(
        StatementLine.objects.filter(
            statement_id__in=[statement.pk for statement in drafts.values()], rebate_plan__isnull=False
        ).values_list("statement_id", "rebate_plan_id")
    )
    volumes = {bounds: volumes_of(list(drafts), *bounds) for bounds in {(start, end) for _, start, end in closing}}
    for partner_id, statement in drafts.items():
        for plan, start, end in closing:
            if plan.partner_kind not in ("", statement.partner.kind) or (statement.pk, plan.pk) in done:
                continue
            volume = volumes[(start, end)].get(partner_id, Decimal(0))
            amount = rebate_for(plan, volume, list(plan.tiers.all()))
            if amount > 0:
                lines[partner_id].append(
                    (
                        statement.pk,
                        StatementLine.Kind.REBATE.value,
                        None,
                        None,
                        volume,
                        amount,
                        plan.pk,
                        plan.name[:200],
                    )
                )


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
