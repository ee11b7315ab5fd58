"""结算单: monthly statements — one per partner and month, Σ lines = total, clawbacks of cancelled
orders in the next statement, approval never by the preparer."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.utils import timezone

from crm.approvals.services import decide_current
from crm.errors import Conflict
from crm.tests.parallel import run_parallel
from customers.models import Order
from customers.tests.factories import CustomerFactory
from partners.models import Attribution, CommissionRule, Statement, StatementLine
from partners.services import statements
from partners.tasks import generate_last_months_statements

from .factories import PartnerFactory

NOVEMBER = datetime.date(2026, 11, 1)
DECEMBER = datetime.date(2026, 12, 1)


def at(day, hour=10):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def attributed(partner, amount, placed_at):
    order = Order.objects.create(
        customer=CustomerFactory(owner=partner.owner), amount=Decimal(amount), placed_at=placed_at
    )
    Attribution.objects.create(order=order, partner=partner, reason="manual")
    return order


@pytest.fixture
def world(org):
    partner = PartnerFactory(owner=org.rep1, status="active", name="杭州云帆")
    CommissionRule.objects.create(name="通用 3.33%", mode="percent", rate=Decimal("3.33"))
    return partner


def test_a_month_gives_one_line_per_order_and_the_total_is_their_sum_to_the_cent(world):
    for amount in ("100.01", "333.33", "999.99"):
        attributed(world, amount, at(datetime.date(2026, 11, 15)))
    attributed(world, "500.00", at(datetime.date(2026, 12, 2)))  # next month
    statement = statements.generate_statement(partner_id=world.pk, period=NOVEMBER)
    amounts = list(statement.lines.values_list("amount", flat=True))
    assert amounts == [Decimal("3.33"), Decimal("11.10"), Decimal("33.30")]
    assert statement.total == Decimal("47.73")
    assert Statement.objects.get().total == statement.lines.aggregate(s=Sum("amount"))["s"]


def test_generating_the_same_month_twice_gives_one_statement_and_no_second_line(world):
    attributed(world, "100.00", at(datetime.date(2026, 11, 15)))
    statements.generate_statements(period=NOVEMBER)
    statements.generate_statements(period=NOVEMBER)
    assert Statement.objects.count() == 1
    assert StatementLine.objects.count() == 1


def test_a_cancelled_order_is_clawed_back_in_the_next_statement_once(world):
    order = attributed(world, "1000.00", at(datetime.date(2026, 11, 15)))
    november = statements.generate_statement(partner_id=world.pk, period=NOVEMBER)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
    december = statements.generate_statement(partner_id=world.pk, period=DECEMBER)
    statements.generate_statement(partner_id=world.pk, period=DECEMBER)
    assert november.total == Decimal("33.30")
    assert list(december.lines.values_list("kind", "amount")) == [("clawback", Decimal("-33.30"))]
    assert Statement.objects.get(pk=december.pk).total == Decimal("-33.30")


def test_an_order_that_arrives_after_a_generation_lands_in_the_next_statement(world):
    attributed(world, "100.00", at(datetime.date(2026, 11, 10)))
    statements.generate_statement(partner_id=world.pk, period=NOVEMBER)
    late = attributed(
        world,
        "200.00",
        at(
            datetime.date(
                2026,
                11,
                30,
            ),
            23,
        ),
    )
    december = statements.generate_statement(partner_id=world.pk, period=DECEMBER)
    assert list(december.lines.values_list("order_id", "amount")) == [(late.pk, Decimal("6.66"))]


def test_adjustments_are_new_lines_and_a_submitted_statement_takes_none(org, world):
    attributed(world, "100.00", at(datetime.date(2026, 11, 10)))
    statement = statements.generate_statement(partner_id=world.pk, period=NOVEMBER)
    statements.add_adjustment(statement=statement, amount=Decimal("-1.33"), note="扣减物料费", actor=org.rep1)
    assert Statement.objects.get(pk=statement.pk).total == Decimal("2.00")
    statements.submit_statement(statement=statement, actor=org.rep1)
    with pytest.raises(Conflict):
        statements.add_adjustment(statement=statement, amount=Decimal("5"), note="x", actor=org.rep1)
    assert StatementLine.objects.count() == 2


def test_the_preparer_cannot_approve_and_the_director_approves_then_payment_is_recorded(org, world):
    attributed(world, "100.00", at(datetime.date(2026, 11, 10)))
    statement = statements.generate_statement(partner_id=world.pk, period=NOVEMBER)
    statements.submit_statement(statement=statement, actor=org.director)
    from crm.models import ApprovalRequest

    request = ApprovalRequest.objects.get(kind="partner_statement")
    with pytest.raises(PermissionDenied):
        decide_current(request=request, actor=org.director, approve=True)
    assert Statement.objects.get(pk=statement.pk).status == "submitted"
    decide_current(request=request, actor=org.admin, approve=True)
    assert Statement.objects.get(pk=statement.pk).status == "approved"
    statements.record_payment(statement=statement, actor=org.admin)
    assert Statement.objects.get(pk=statement.pk).status == "paid"


def test_the_beat_task_generates_last_month(world, time_machine):
    attributed(world, "100.00", at(datetime.date(2026, 11, 10)))
    time_machine.move_to(at(datetime.date(2026, 12, 1), 2))
    assert generate_last_months_statements() == 1
    assert list(Statement.objects.values_list("period", "total")) == [(NOVEMBER, Decimal("3.33"))]


@pytest.mark.django_db(transaction=True)
def test_two_generators_at_once_make_one_statement_with_one_line_per_order():
    from crm.tests.factories import OrgFixture

    org = OrgFixture()
    partner = PartnerFactory(owner=org.rep1, status="active")
    CommissionRule.objects.create(name="通用", mode="percent", rate=Decimal("5"))
    for day in (3, 4, 5):
        attributed(partner, "100.00", at(datetime.date(2026, 11, day)))
    results = run_parallel([lambda: statements.generate_statement(partner_id=partner.pk, period=NOVEMBER).pk] * 2)
    assert len(set(results)) == 1
    assert StatementLine.objects.count() == 3
    assert Statement.objects.get().total == Decimal("15.00")


def test_a_refund_after_payment_claws_back_in_the_next_statement_and_never_pays_twice(org, world):
    """Ledger of signed lines: November accrues and is paid; the order is refunded (cancelled) in
    December; December carries the clawback, November stays as paid, and regenerating either adds
    nothing. Over both months the order nets to zero."""
    from customers.services.orders import cancel_order

    order = attributed(world, "1000.00", at(datetime.date(2026, 11, 20)))
    november = statements.generate_statement(partner_id=world.pk, period=NOVEMBER)
    Statement.objects.filter(pk=november.pk).update(status="paid", paid_at=timezone.now())
    cancel_order(order=order)
    assert statements.generate_statement(partner_id=world.pk, period=NOVEMBER).total == Decimal("33.30")
    december = statements.generate_statement(partner_id=world.pk, period=DECEMBER)
    statements.generate_statement(partner_id=world.pk, period=DECEMBER)
    assert december.total == Decimal("-33.30")
    assert list(
        StatementLine.objects.filter(order=order).order_by("id").values_list("statement__period", "amount")
    ) == [
        (NOVEMBER, Decimal("33.30")),
        (DECEMBER, Decimal("-33.30")),
    ]
    assert StatementLine.objects.filter(order=order).aggregate(net=Sum("amount"))["net"] == Decimal("0.00")


def test_an_approved_statement_takes_no_line_and_keeps_its_total(org, world):
    attributed(world, "100.00", at(datetime.date(2026, 11, 3)))
    november = statements.generate_statement(partner_id=world.pk, period=NOVEMBER)
    Statement.objects.filter(pk=november.pk).update(status="approved")
    attributed(world, "200.00", at(datetime.date(2026, 11, 4)))
    again = statements.generate_statement(partner_id=world.pk, period=NOVEMBER)
    assert (again.total, again.lines.count()) == (Decimal("3.33"), 1)
    with pytest.raises(Conflict):
        statements.add_adjustment(statement=again, amount=Decimal("1"), note="x", actor=org.manager1)


def test_a_statement_reads_the_same_number_of_queries_for_5_orders_as_for_40(world):
    """Whether each customer is new, the lines, the SKUs and the rules are read for all the orders at
    once: the count does not grow with the orders (200,000 orders a month must take seconds)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for partner, n in ((world, 5), (PartnerFactory(owner=world.owner, status="active"), 40)):
        repeat = CustomerFactory(owner=partner.owner)
        for i in range(n):
            order = attributed(partner, "100.00", at(datetime.date(2026, 11, 1 + i % 28)))
            if i % 2:
                Order.objects.filter(pk=order.pk).update(customer=repeat)
        with CaptureQueriesContext(connection) as queries:
            statements.generate_statement(partner_id=partner.pk, period=NOVEMBER)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert StatementLine.objects.count() == 45


def test_a_month_over_all_partners_reads_the_same_number_of_queries_for_1_partner_as_for_5_with_more_orders(
    world, django_assert_max_num_queries
):
    """One pass over every partner: the due orders of all of them, their lines, the clawbacks, the
    rebates and the totals are read and written set-based, so the count grows neither with the
    partners nor with the orders."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    october = datetime.date(2026, 10, 1)
    attributed(world, "100.00", at(datetime.date(2026, 10, 5)))
    cancelled = attributed(world, "300.00", at(datetime.date(2026, 10, 6)))
    with CaptureQueriesContext(connection) as few:
        assert statements.generate_statements(period=october) == 1
    Order.objects.filter(pk=cancelled.pk).update(status=Order.Status.CANCELLED)
    others = [PartnerFactory(owner=world.owner, status="active") for _ in range(4)]
    repeat = CustomerFactory(owner=world.owner)
    for i in range(40):
        order = attributed(([world] + others)[i % 5], "100.00", at(datetime.date(2026, 11, 1 + i % 28)))
        if i % 3:
            Order.objects.filter(pk=order.pk).update(customer=repeat)
    with django_assert_max_num_queries(20), CaptureQueriesContext(connection) as many:
        assert statements.generate_statements(period=NOVEMBER) == 5
    assert len(many) == len(few)
    november = {s.partner_id: s for s in Statement.objects.filter(period=NOVEMBER)}
    assert november[world.pk].total == Decimal("26.64") - Decimal("9.99")  # 8 orders, one clawback
    assert [november[p.pk].total for p in others] == [Decimal("26.64")] * 4
    assert StatementLine.objects.filter(statement__period=NOVEMBER).count() == 41


def test_the_lines_are_the_same_through_the_multi_row_insert_used_where_copy_is_not(world, monkeypatch):
    """PostgreSQL takes the lines in one COPY; other databases (SQLite for ``make run``) in batched
    INSERTs, which give the same statement."""
    monkeypatch.setattr(statements, "BATCH", 2)
    monkeypatch.setattr(statements, "_copy_lines", statements._insert_values)
    for amount in ("100.01", "333.33", "999.99"):
        attributed(world, amount, at(datetime.date(2026, 11, 15)))
    statement = statements.generate_statement(partner_id=world.pk, period=NOVEMBER)
    assert list(statement.lines.values_list("kind", "amount", "note")) == [
        ("accrual", Decimal("3.33"), "通用 3.33%"),
        ("accrual", Decimal("11.10"), "通用 3.33%"),
        ("accrual", Decimal("33.30"), "通用 3.33%"),
    ]
    assert Statement.objects.get().total == Decimal("47.73")


@pytest.mark.django_db(transaction=True)
def test_two_months_runs_at_once_make_one_statement_per_partner_with_one_line_per_order():
    from crm.tests.factories import OrgFixture

    org = OrgFixture()
    partners = [PartnerFactory(owner=org.rep1, status="active") for _ in range(3)]
    CommissionRule.objects.create(name="通用", mode="percent", rate=Decimal("5"))
    for partner in partners:
        for day in (3, 4):
            attributed(partner, "100.00", at(datetime.date(2026, 11, day)))
    assert run_parallel([lambda: statements.generate_statements(period=NOVEMBER)] * 2) == [3, 3]
    assert sorted(Statement.objects.values_list("partner_id", "total")) == [(p.pk, Decimal("10.00")) for p in partners]
    assert StatementLine.objects.count() == 6
