"""The access-control matrix: every role × every data scope × every scoped model's list, export, detail,
edit, delete, bulk and per-record actions, against records inside and outside the scope, plus guessed
ids; and the integration API's token checks.

The org (built once per module): 总部 → 华东 → 一组 (→ 一组甲) and 二组. The 20 users of the matrix
(5 roles × 4 data scopes) all sit in 一组; each owns one record of every model. Other records are owned
by a colleague in 一组, someone in 一组甲 (a child department), someone in 二组 (a sibling), someone in
华东 (the parent), nobody (the pools of 一组 and 二组), and two crossings: a 二组 person's record filed
under 一组, a colleague's record filed under 二组.

What the server should do is derived HERE, from the owner and department each record was given and
from the department tree as built (not from ``crm.permissions.visible``), and from ``ACTIONS`` (which
roles an action allows). Rules decided where the code leaves room — what a serious CRM does:

1. Scope: a record is in a user's scope when the user owns it; in DEPARTMENT scope also when the
   record's department is the user's; in DEPARTMENT_TREE scope also when it is below it; in ALL scope
   always. The record's department decides, not its owner's: a colleague's record filed under another
   department is outside a department-scoped user's scope, and a record filed under the user's
   department is inside it whoever owns it. Unowned (pool) records are in scope by department only
   (the public-pool page, which offers them for claiming, is not part of this matrix).
2. The role comes first: a role that ``ACTIONS`` does not list for the action gets 403 on a GET,
   whatever the record. A POST may answer 403 or 404 (a view may have to find the record first): both
   refuse, and the row is unchanged.
3. A record outside the scope is 404, never 403 or the page, so that guessing ids (a neighbour's id,
   an id that does not exist, an id of another model) tells nothing. A refused response never contains
   the record's name.
4. Lists and exports show exactly the records in scope.
5. Bulk actions act on the in-scope part of a mixed selection and leave the rest untouched.
6. Reminders are personal: only their owner sees and acts on them, whatever the scope.
7. A relation (household link) is removed only by someone who sees both customers.
8. Every page of a record needs its model's view action, fragments too (a batch's production
   progress needs ``coupons.view`` like the batch page); approving a batch follows ``ACTIONS``
   (``coupons.approve``: managers, directors and admins) like approving a marketing campaign.
9. The integration API authenticates with bearer tokens only: no token, a bad, revoked or expired
   token, or an inactive client is 401; a token without the endpoint's scope is 403
   (/work/shared/API.md); a logged-in browser session is not a credential (401, no data).

Each test (role, scope, model) reads every list and export of the model row by row, tries the model's
record pages and actions on the records ``Checker.probes`` picks (and guessed ids), and runs its bulk
actions on a selection mixing records inside and outside the scope. ``SPECS`` is the table: a model
joins the matrix by adding a row. Not in it: scoped models without pages of their own (satisfaction
records, coupons, redemptions, tracking links, the dashboards' rollups), the dashboards and the public
pool. Run with ``-s`` to see how many checks and requests were made.
"""

import datetime
import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.test import client as test_client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from crm import services as crm_services
from crm.models import ApiScope, DataScope, Department, Role
from crm.permissions import ACTIONS
from crm.tests.factories import DepartmentFactory, UserFactory

ROLES = [Role.REP, Role.MANAGER, Role.DIRECTOR, Role.MARKETING, Role.ADMIN]
SCOPES = [DataScope.SELF, DataScope.DEPARTMENT, DataScope.DEPARTMENT_TREE, DataScope.ALL]
CHECKS = Counter()  # kind of check -> how many were made
REQUESTS = Counter()  # status -> how many requests answered it

#: who owns the records besides the matrix users: (position, owner, department of the record)
FIXED = [
    ("colleague", "colleague", "A"),
    ("child", "child", "A1"),
    ("sibling", "sibling", "B"),
    ("region", "region", "R"),
]
POOLS = [("poolA", None, "A"), ("poolB", None, "B")]
CROSSINGS = [("foreignInA", "sibling", "A"), ("colleagueInB", "colleague", "B")]
#: the positions probed record by record, from the nearest to the user to the farthest (the parent
#: department's and 二组's pool records fall in the same class as the sibling's: they are checked
#: in the lists)
NEARNESS = ["colleague", "poolA", "foreignInA", "child", "colleagueInB", "sibling"]


@dataclass
class Rec:
    """One record of the matrix: its id, the unique text that shows it, and the owner and department
    it was given (the inputs of the expected scope)."""

    pk: int
    marker: str
    owner_id: int | None
    dept_id: int | None
    pos: str
    args: tuple = ()
    ends: tuple = ()  # a relation's two customers


@dataclass(frozen=True)
class Op:
    """A request on one record. ``action``: the ACTIONS entry that governs it (a tuple: any of them;
    None: any logged-in user). ``ok``: the statuses of a GET inside the scope."""

    name: str
    url: Callable
    action: object
    method: str = "GET"
    data: dict = field(default_factory=dict)
    ok: frozenset = frozenset({200})
    shows: bool = False  # the page names the record
    full: bool = False  # a record page: tried on every position outside the scope (and guessed ids)
    touches: tuple = None  # the rows hanging on the record a refused write could change (None: the spec's)


@dataclass(frozen=True)
class Bulk:
    """A bulk action of the model's first list (``bulk_action=name``) and how to tell it reached a row."""

    name: str
    action: str
    data: dict
    effect: Callable  # (world, rec, user) -> whether the action reached the row
    only: Callable = None  # which records to select (default: every one)
    related: tuple = ()  # reverse accessors whose row counts must not change outside the scope


@dataclass(frozen=True)
class Spec:
    """One row of the table: a scoped model, its pages and actions, and the positions it has records in."""

    key: str
    model: object
    code: str  # of its records' markers
    pool: bool = False  # owner may be empty: pool records
    cross: bool = False  # the department is the record's own, not its owner's
    personal: bool = False  # only the owner sees it
    lists: tuple = ()  # (url, action) pages that list the records
    export: tuple = None  # (url, action)
    ops: tuple = ()
    bulk: tuple = ()
    related: tuple = ()  # reverse accessors whose row counts must not change on a refused write


def _u(name, *args):
    return lambda rec, w: reverse(name, args=[*args, *(rec.args or (rec.pk,))])


def _installed(name, action, *ops):
    """``ops`` when the page ``name`` and the action exist (the personal-data pages are optional)."""
    try:
        reverse(name, args=[1])
    except NoReverseMatch:
        return ()
    return ops if action in ACTIONS else ()


def _customer_query(name):
    return lambda rec, w: f"{reverse(name)}?customer={rec.pk}"


def _lead_query(name):
    return lambda rec, w: f"{reverse(name)}?lead={rec.pk}"


# --- the records of each model ------------------------------------------------------------------


def _now():
    return timezone.now()


def make_customer(w, owner, dept, marker, pos):
    from customers.models import Customer

    w.seq += 1
    return Customer.objects.create(name=marker, mobile=f"139{w.seq:08d}", owner=owner, department=dept)


def make_order(w, owner, dept, marker, pos):
    from customers.models import Order

    host = w.hosts[pos]
    return Order.objects.create(customer=host, external_id=marker, amount=Decimal("100.00"), channel="store")


def make_lead(w, owner, dept, marker, pos):
    from sales.models import Lead

    w.seq += 1
    return Lead.objects.create(
        name=marker,
        mobile=f"137{w.seq:08d}",
        owner=owner,
        department=dept,
        status=Lead.Status.ASSIGNED if owner else Lead.Status.NEW,
        source="website",
    )


def make_opportunity(w, owner, dept, marker, pos):
    from sales.models import Opportunity

    return Opportunity.objects.create(
        name=marker, customer=w.hosts[pos], owner=owner, department=dept, stage=w.first_stage, amount=Decimal("1000")
    )


def make_followup(w, owner, dept, marker, pos):
    from sales.models import FollowUp

    return FollowUp.objects.create(customer=w.hosts[pos], content=marker, created_by=owner, department=dept)


def make_task(w, owner, dept, marker, pos):
    from sales.models import Task

    return Task.objects.create(title=marker, assignee=owner, due_at=_now() + datetime.timedelta(days=2))


def make_reminder(w, owner, dept, marker, pos):
    from sales.models import Reminder

    return Reminder.objects.create(owner=owner, title=marker, due_at=_now() + datetime.timedelta(days=2))


def make_ticket(w, owner, dept, marker, pos):
    from sales.models import ServiceTicket

    return ServiceTicket.objects.create(customer=w.hosts[pos], title=marker, owner=owner)


def make_budget(w, owner, dept, marker, pos):
    from coupons.models import BudgetAccount, FiscalPeriod

    period = FiscalPeriod.objects.create(name=marker, start=datetime.date(2026, 1, 1), end=datetime.date(2026, 12, 31))
    return BudgetAccount.objects.create(period=period, department=dept, owner=owner, total=Decimal("10000"))


def make_coupon_campaign(w, owner, dept, marker, pos):
    from coupons.models import Campaign

    account = w.objects["budget"][pos]
    return Campaign.objects.create(
        name=marker,
        owner=owner,
        department=dept,
        budget_account=account,
        start=datetime.date(2026, 1, 1),
        end=datetime.date(2026, 12, 31),
    )


def make_batch(w, owner, dept, marker, pos):
    from coupons.models import Batch

    now = _now()
    return Batch.objects.create(
        campaign=w.objects["coupon_campaign"][pos],
        code=marker,
        name=marker,
        discount_type="fixed",
        amount=Decimal("10"),
        quantity=100,
        claim_start=now - datetime.timedelta(days=1),
        claim_end=now + datetime.timedelta(days=30),
        use_days=7,
        status=Batch.Status.SUBMITTED,
        production=Batch.Production.LAZY,
    )


def make_compensation(w, owner, dept, marker, pos):
    from coupons.models import Compensation

    return Compensation.objects.create(
        customer=w.hosts[pos],
        amount=Decimal("20"),
        reason=marker,
        status=Compensation.Status.REVIEW,
        requested_by=owner,
    )


def make_subsidy_plan(w, owner, dept, marker, pos):
    from coupons.models import SubsidyPlan

    return SubsidyPlan.objects.create(name=marker, department=dept, created_by=owner)


def make_subsidy_version(w, owner, dept, marker, pos):
    from coupons.models import SubsidyPlanVersion

    plan = w.objects["subsidy_plan"][pos]
    return SubsidyPlanVersion.objects.create(
        plan=plan,
        number=1,
        source_name=marker,
        note=marker,
        a=Decimal("5"),
        b=Decimal("20"),
        t=1.0,
        weights={"gmv": 1.0},
        columns=["id", "gmv"],
        input_rows=[{"id": "sku1", "gmv": "100"}],
        result=[{"id": "sku1", "scores": {"gmv": 1.0}, "y": 1.0, "x": "20.00"}],
        row_count=1,
        total=Decimal("20"),
        created_by=owner,
    )


def make_segment(w, owner, dept, marker, pos):
    from marketing.models import Segment

    return Segment.objects.create(name=marker, owner=owner, department=dept, definition={"match": "all", "groups": []})


def make_marketing_campaign(w, owner, dept, marker, pos):
    from marketing.models import Campaign

    today = timezone.localdate()
    return Campaign.objects.create(
        name=marker,
        owner=owner,
        department=dept,
        created_by=owner,
        start=today,
        end=today + datetime.timedelta(days=30),
        channels=["sms"],
    )


def make_event(w, owner, dept, marker, pos):
    from marketing.models import Event

    start = _now() + datetime.timedelta(days=7)
    return Event.objects.create(
        campaign=w.objects["marketing_campaign"][pos],
        name=marker,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=2),
    )


def make_touch(w, owner, dept, marker, pos):
    from marketing.models import Touch

    return Touch.objects.create(
        campaign=w.objects["marketing_campaign"][pos],
        subject=marker,
        body=marker + " {name}",
        channel="sms",
        created_by=owner,
    )


def make_nurture_plan(w, owner, dept, marker, pos):
    from marketing.models import NurturePlan

    return NurturePlan.objects.create(name=marker, segment=w.shared_segment, owner=owner, department=dept)


def make_entitlement(w, owner, dept, marker, pos):
    from catalog.models import Entitlement

    return Entitlement.objects.create(customer=w.hosts[pos], name=marker, quantity=10, balance=10)


def make_contract(w, owner, dept, marker, pos):
    from contracts.models import Contract, Instalment

    today = timezone.localdate()
    contract = Contract.objects.create(
        number=marker,
        title=marker,
        customer=w.hosts[pos],
        owner=owner,
        department=dept,
        amount=Decimal("1000"),
        signed_on=today,
        starts_on=today,
        ends_on=today,
        signed_at=timezone.now(),
    )
    Instalment.objects.create(contract=contract, sequence=1, due_on=today, amount=Decimal("1000"))
    return contract


def _instalment_dunning(rec, w):
    from contracts.models import Instalment

    return reverse("contracts:instalment_dunning", args=[Instalment.objects.get(contract_id=rec.pk).pk])


def make_member(w, owner, dept, marker, pos):
    from members.models import Member

    return Member.objects.create(customer=w.hosts[pos])


def make_enrolment(w, owner, dept, marker, pos):
    from resources.models import Enrolment

    return Enrolment.objects.create(school_class=w.school_class(), customer=w.hosts[pos])


MAKERS = {
    "member": make_member,
    "enrolment": make_enrolment,
    "entitlement": make_entitlement,
    "contract": make_contract,
    "customer": make_customer,
    "order": make_order,
    "lead": make_lead,
    "opportunity": make_opportunity,
    "followup": make_followup,
    "task": make_task,
    "reminder": make_reminder,
    "ticket": make_ticket,
    "budget": make_budget,
    "coupon_campaign": make_coupon_campaign,
    "batch": make_batch,
    "compensation": make_compensation,
    "subsidy_plan": make_subsidy_plan,
    "subsidy_version": make_subsidy_version,
    "segment": make_segment,
    "marketing_campaign": make_marketing_campaign,
    "event": make_event,
    "touch": make_touch,
    "nurture_plan": make_nurture_plan,
}


# --- effects of the bulk actions ------------------------------------------------------------------


def _has_tag(w, rec, user):
    from customers.models import CustomerTag

    return CustomerTag.objects.filter(customer_id=rec.pk, tag=w.tag).exists()


def _owned_by(model_path):
    def check(w, rec, user):
        from django.apps import apps

        return apps.get_model(model_path).objects.filter(pk=rec.pk, owner=user).exists()

    return check


def _deleted(w, rec, user):
    from customers.models import Customer

    return not Customer.objects.filter(pk=rec.pk).exists()


def _plain_customers(rec):
    return rec.marker.startswith("zqcus")


# --- the declarative table ------------------------------------------------------------------------


def specs():
    from catalog import models as catalog
    from contracts import models as contracts
    from coupons import models as coupons
    from customers import models as customers
    from marketing import models as marketing
    from members import models as members
    from resources import models as resources
    from sales import models as sales

    return [
        Spec(
            "member",
            members.Member,
            "mem",
            pool=True,
            cross=True,
            lists=(("members:list", "members.view"),),
            ops=(
                Op("detail", _u("members:member"), "members.view", shows=True, full=True),
                Op("redeem", _u("members:redeem"), "members.points", "POST", {"offer": "1", "reference": "zq"}),
            ),
            related=("entries",),
        ),
        Spec(
            "enrolment",
            resources.Enrolment,
            "enr",
            pool=True,
            cross=True,
            lists=(("resources:renewals", "resources.view"),),
            export=("resources:renewals", "customers.export"),
            ops=(
                Op("hours", _u("resources:hours"), "resources.view", shows=True, full=True),
                Op(
                    "refund",
                    _u("resources:hours"),
                    "resources.enrol",
                    "POST",
                    {"hours": "1", "reason": "搬家"},
                    full=True,
                    touches=(),
                ),
            ),
        ),
        Spec(
            "customer",
            customers.Customer,
            "cus",
            pool=True,
            cross=True,
            lists=(("customers:list", "customers.view"), ("search", None)),
            export=("customers:list", "customers.export"),
            ops=(
                Op("detail", _u("customers:detail"), "customers.view", shows=True, full=True),
                Op("timeline", _u("customers:timeline"), "customers.view"),
                Op("edit", _u("customers:edit"), "customers.change", shows=True),
                Op(
                    "edit", _u("customers:edit"), "customers.change", "POST", {"name": "changed"}, full=True, touches=()
                ),
                Op("delete", _u("customers:delete"), "customers.delete", shows=True),
                Op("delete", _u("customers:delete"), "customers.delete", "POST", full=True, touches=()),
                Op("tags", _u("customers:tags_edit"), "customers.change", "POST", touches=("tag_links",)),
                Op(
                    "satisfaction",
                    _u("customers:satisfaction_add"),
                    "customers.change",
                    "POST",
                    {"kind": "csat", "score": "1", "source": "survey"},
                    touches=("satisfaction_records",),
                ),
                Op(
                    "relation_add",
                    _u("customers:relation_add"),
                    "customers.change",
                    "POST",
                    touches=("relations_in", "relations_out"),
                ),
                Op("relation_candidates", _u("customers:relation_candidates"), "customers.change"),
                Op(
                    "order_new",
                    lambda r, w: reverse("customers:order_create", args=[r.pk]),
                    "customers.change",
                    shows=True,
                ),
                Op(
                    "order_new",
                    lambda r, w: reverse("customers:order_create", args=[r.pk]),
                    "customers.change",
                    "POST",
                    {"amount": "10", "channel": "sales", "lines-TOTAL_FORMS": "0", "lines-INITIAL_FORMS": "0"},
                    touches=("orders",),
                ),
                Op(
                    "order_prices",
                    lambda r, w: reverse("customers:order_preview", args=[r.pk]),
                    "customers.change",
                    "POST",
                    {"channel": "sales", "lines-TOTAL_FORMS": "0", "lines-INITIAL_FORMS": "0"},
                ),
                Op(
                    "coupon_for",
                    lambda r, w: reverse("coupons:claim_for_customer", args=[r.pk]),
                    "customers.change",
                    shows=True,
                ),
                Op(
                    "compensate",
                    lambda r, w: reverse("coupons:compensate", args=[r.pk]),
                    "coupons.compensate",
                    shows=True,
                ),
                Op(
                    "opt_out",
                    lambda r, w: reverse("marketing:opt", args=[r.pk]),
                    ("customers.change", "marketing.manage"),
                    "POST",
                    {"channel": "sms", "state": "out"},
                    touches=("opt_outs",),
                ),
                Op(
                    "share",
                    lambda r, w: reverse("marketing:share", args=[w.content.pk, r.pk]),
                    None,
                    "POST",
                    touches=("tracking_links",),
                ),
                Op("opportunity_new", _customer_query("sales:opportunity_create"), "sales.change", shows=True),
                Op("followup_new", _customer_query("sales:followup_create"), "sales.change", shows=True),
                Op(
                    "release",
                    lambda r, w: reverse("sales:pool_release_customer", args=[r.pk]),
                    "sales.change",
                    "POST",
                    touches=("pool_moves", "ownership_changes"),
                ),
                Op("task_new", _customer_query("sales:task_create"), "sales.change", shows=True),
                Op("ticket_new", _customer_query("sales:ticket_create"), "sales.change", shows=True),
                *_installed(
                    "customers:reveal",
                    "customers.view_mobile",
                    Op("reveal", _u("customers:reveal"), "customers.view_mobile", "POST", touches=()),
                ),
                *_installed(
                    "customers:personal_data",
                    "privacy.manage",
                    Op("personal_data", _u("customers:personal_data"), "privacy.manage", shows=True),
                    Op(
                        "personal_data_export",
                        _u("customers:personal_data_export"),
                        "privacy.manage",
                        "POST",
                        touches=(),
                    ),
                    Op("anonymize", _u("customers:anonymize"), "privacy.manage", "POST", touches=()),
                ),
            ),
            bulk=(
                Bulk("tag", "customers.change", {}, _has_tag, related=("tag_links",)),
                Bulk("assign", "customers.assign", {}, _owned_by("customers.Customer")),
                Bulk("delete", "customers.delete", {}, _deleted, only=_plain_customers),
            ),
        ),
        Spec(
            "order",
            customers.Order,
            "ord",
            pool=True,
            cross=True,
            lists=(("customers:orders", "customers.view"),),
            export=("customers:orders", "customers.export"),
            ops=(
                Op("detail", _u("customers:order"), "customers.view", shows=True, full=True),
                Op("cancel", _u("customers:order_cancel"), "customers.change", "POST"),
            ),
            related=("redemptions",),
        ),
        Spec(
            "lead",
            sales.Lead,
            "led",
            pool=True,
            cross=True,
            lists=(("sales:leads", "sales.view"),),
            export=("sales:leads", "sales.view"),
            ops=(
                Op("detail", _u("sales:lead"), "sales.view", shows=True, full=True),
                Op("edit", _u("sales:lead_edit"), "sales.change", shows=True),
                Op("edit", _u("sales:lead_edit"), "sales.change", "POST", {"name": "changed"}, full=True),
                Op("convert", _u("sales:lead_convert"), "sales.change", "POST"),
                Op("release", _u("sales:lead_release"), "sales.change", "POST"),
                Op("assign", _u("sales:lead_assign"), "sales.assign", "POST"),
                Op("followup_new", _lead_query("sales:followup_create"), "sales.change", shows=True),
                Op("task_new", _lead_query("sales:task_create"), "sales.change", shows=True),
                *_installed(
                    "sales:lead_reveal",
                    "sales.view",
                    Op("reveal", _u("sales:lead_reveal"), "sales.view", "POST", touches=()),
                ),
            ),
            bulk=(Bulk("assign", "sales.assign", {}, _owned_by("sales.Lead")),),
            related=("followups", "moves", "tasks", "reminders", "opportunities"),
        ),
        Spec(
            "opportunity",
            sales.Opportunity,
            "opp",
            cross=True,
            lists=(("sales:opportunities", "sales.view"), ("sales:board", "sales.view")),
            export=("sales:opportunities", "sales.view"),
            ops=(
                Op("detail", _u("sales:opportunity"), "sales.view", shows=True, full=True),
                Op("edit", _u("sales:opportunity_edit"), "sales.change", shows=True),
                Op("edit", _u("sales:opportunity_edit"), "sales.change", "POST", {"name": "changed"}, full=True),
                Op("move", _u("sales:opportunity_move"), "sales.change", "POST"),
                Op("request_approval", _u("sales:opportunity_request_approval"), "sales.change", "POST"),
            ),
            related=("stage_history", "approvals", "followups", "tasks"),
        ),
        Spec(
            "followup",
            sales.FollowUp,
            "fup",
            cross=True,
            lists=(("sales:followups", "sales.view"),),
            export=("sales:followups", "sales.view"),
        ),
        Spec(
            "task",
            sales.Task,
            "tsk",
            lists=(("sales:tasks", "sales.view"),),
            ops=(Op("complete", _u("sales:task_complete"), "sales.change", "POST"),),
        ),
        Spec(
            "reminder",
            sales.Reminder,
            "rem",
            personal=True,
            lists=(("sales:reminders", None),),
            ops=(
                Op("complete", _u("sales:reminder_complete"), None, "POST"),
                Op("snooze", _u("sales:reminder_snooze"), None, "POST", {"until": "1h"}),
                Op("reschedule", _u("sales:reminder_reschedule"), None, "POST", {"due_at": "2030-01-01T09:00"}),
            ),
            related=("notices",),
        ),
        Spec(
            "ticket",
            sales.ServiceTicket,
            "tkt",
            pool=True,
            cross=True,
            lists=(("sales:tickets", "sales.view"),),
            export=("sales:tickets", "sales.view"),
            ops=(
                Op("detail", _u("sales:ticket"), "sales.view", shows=True, full=True),
                Op(
                    "edit",
                    _u("sales:ticket"),
                    "sales.change",
                    "POST",
                    {"title": "changed", "kind": "request", "status": "closed"},
                    full=True,
                ),
                Op("resolve", _u("sales:ticket_resolve"), "sales.change", "POST", {"resolution": "done"}),
            ),
        ),
        Spec(
            "budget",
            coupons.BudgetAccount,
            "bud",
            pool=True,
            cross=True,
            lists=(("coupons:budgets", "coupons.view"),),
            ops=(
                Op("detail", _u("coupons:budget"), "coupons.view", shows=True, full=True),
                Op("allocate", _u("coupons:budget_allocate"), "coupons.manage", "POST", {"amount": "5"}),
            ),
            related=("allocations",),
        ),
        Spec(
            "coupon_campaign",
            coupons.Campaign,
            "ccp",
            cross=True,
            lists=(("coupons:campaigns", "coupons.view"),),
            ops=(
                Op("detail", _u("coupons:campaign"), "coupons.view", shows=True, full=True),
                Op("batch_new", _u("coupons:batch_create"), "coupons.manage", shows=True),
                Op("batch_new", _u("coupons:batch_create"), "coupons.manage", "POST", {"name": "x"}),
            ),
            related=("batches",),
        ),
        Spec(
            "batch",
            coupons.Batch,
            "bat",
            cross=True,
            lists=(("coupons:campaigns", "coupons.view"),),
            ops=(
                Op("detail", _u("coupons:batch"), "coupons.view", shows=True, full=True),
                Op("edit", _u("coupons:batch_edit"), "coupons.manage", shows=True),
                Op("edit", _u("coupons:batch_edit"), "coupons.manage", "POST", {"name": "changed"}, full=True),
                Op("progress", _u("coupons:batch_progress"), "coupons.view"),
                Op(
                    "codes_export",
                    lambda r, w: reverse("coupons:batch_codes_export", args=[r.pk]) + "?format=csv",
                    "coupons.manage",
                    full=True,
                ),
                Op(
                    "submit",
                    lambda r, w: reverse("coupons:batch_action", args=[r.pk, "submit"]),
                    "coupons.manage",
                    "POST",
                ),
                Op(
                    "approve",
                    lambda r, w: reverse("coupons:batch_action", args=[r.pk, "approve"]),
                    "coupons.approve",
                    "POST",
                ),
                Op(
                    "reject",
                    lambda r, w: reverse("coupons:batch_action", args=[r.pk, "reject"]),
                    "coupons.approve",
                    "POST",
                    {"reason": "no"},
                ),
                Op("end", lambda r, w: reverse("coupons:batch_action", args=[r.pk, "end"]), "coupons.manage", "POST"),
            ),
            related=("coupons",),
        ),
        Spec(
            "compensation",
            coupons.Compensation,
            "cmp",
            cross=True,
            lists=(("coupons:compensations", "coupons.view"),),
            ops=(Op("decide", _u("coupons:compensation_decide"), "coupons.approve", "POST", {"approve": "0"}),),
        ),
        Spec(
            "subsidy_plan",
            coupons.SubsidyPlan,
            "sub",
            pool=True,
            cross=True,
            lists=(("coupons:subsidy_plans", "coupons.view"),),
            ops=(
                Op("detail", _u("coupons:subsidy_plan"), "coupons.view", shows=True, full=True),
                Op("compare", _u("coupons:subsidy_compare"), "coupons.view", shows=True),
                Op("version_new", _u("coupons:subsidy_version_create"), "coupons.manage", shows=True),
                Op("version_new", _u("coupons:subsidy_version_create"), "coupons.manage", "POST"),
            ),
            related=("versions",),
        ),
        Spec(
            "subsidy_version",
            coupons.SubsidyPlanVersion,
            "ver",
            pool=True,
            cross=True,
            ops=(
                Op("detail", _u("coupons:subsidy_version"), "coupons.view", shows=True),
                Op("use", _u("coupons:subsidy_use"), "coupons.manage", ok=frozenset({302})),
            ),
        ),
        Spec(
            "segment",
            marketing.Segment,
            "seg",
            cross=True,
            lists=(("marketing:segments", "marketing.view"),),
            ops=(
                Op("detail", _u("marketing:segment"), "marketing.view", shows=True, full=True),
                Op("edit", _u("marketing:segment_edit"), "marketing.manage", shows=True),
                Op("edit", _u("marketing:segment_edit"), "marketing.manage", "POST", {"name": "changed"}, full=True),
                Op("recount", _u("marketing:segment_recount"), "marketing.manage", "POST"),
            ),
            related=("sizes",),
        ),
        Spec(
            "marketing_campaign",
            marketing.Campaign,
            "mcp",
            cross=True,
            lists=(("marketing:campaigns", "marketing.view"),),
            export=("marketing:campaigns", "marketing.view"),
            ops=(
                Op("detail", _u("marketing:campaign"), "marketing.view", shows=True, full=True),
                Op("edit", _u("marketing:campaign_edit"), "marketing.manage", shows=True),
                Op("edit", _u("marketing:campaign_edit"), "marketing.manage", "POST", {"name": "changed"}, full=True),
                Op(
                    "submit",
                    lambda r, w: reverse("marketing:campaign_action", args=[r.pk, "submit"]),
                    "marketing.manage",
                    "POST",
                ),
                Op(
                    "cancel",
                    lambda r, w: reverse("marketing:campaign_action", args=[r.pk, "cancel"]),
                    "marketing.manage",
                    "POST",
                ),
                Op(
                    "refresh",
                    lambda r, w: reverse("marketing:campaign_action", args=[r.pk, "refresh"]),
                    "marketing.view",
                    "POST",
                ),
                Op("event_new", _u("marketing:event_create"), "marketing.manage", shows=True),
                Op("touch_new", _u("marketing:touch_create"), "marketing.manage", shows=True),
            ),
            related=("events", "touches", "registrations"),
        ),
        Spec(
            "event",
            marketing.Event,
            "evt",
            cross=True,
            ops=(
                Op("detail", _u("marketing:event"), "marketing.view", shows=True, full=True),
                Op("edit", _u("marketing:event_edit"), "marketing.manage", shows=True),
                Op(
                    "register",
                    _u("marketing:registration_add"),
                    "marketing.manage",
                    "POST",
                    {"mobile": "13800001111", "name": "x"},
                ),
            ),
            related=("registrations",),
        ),
        Spec(
            "touch",
            marketing.Touch,
            "tch",
            cross=True,
            ops=(
                Op("edit", _u("marketing:touch_edit"), "marketing.manage", shows=True),
                Op("edit", _u("marketing:touch_edit"), "marketing.manage", "POST", {"body": "changed"}),
                Op("send", _u("marketing:touch_send"), "marketing.manage", ok=frozenset({200, 302})),
                Op("send", _u("marketing:touch_send"), "marketing.manage", "POST"),
            ),
            related=("messages",),
        ),
        Spec(
            "nurture_plan",
            marketing.NurturePlan,
            "nur",
            cross=True,
            lists=(("marketing:plans", "marketing.view"),),
            ops=(
                Op("detail", _u("marketing:plan"), "marketing.view", shows=True, full=True),
                Op("edit", _u("marketing:plan_edit"), "marketing.manage", shows=True),
                Op(
                    "start",
                    lambda r, w: reverse("marketing:plan_action", args=[r.pk, "start"]),
                    "marketing.manage",
                    "POST",
                ),
            ),
            related=("steps", "enrollments"),
        ),
        Spec(
            "relation",
            customers.CustomerRelation,
            "rel",
            ops=(Op("delete", _u("customers:relation_delete"), "customers.change", "POST"),),
        ),
        Spec(
            "entitlement",
            catalog.Entitlement,
            "ent",
            pool=True,
            cross=True,
            lists=(("catalog:entitlements", "catalog.view"),),
            export=("catalog:entitlements", "catalog.export"),
            ops=(
                Op("detail", _u("catalog:entitlement"), "catalog.view", shows=True, full=True),
                Op(
                    "consume",
                    _u("catalog:entitlement_consume"),
                    "catalog.consume",
                    "POST",
                    {"quantity": "1", "reference": "zq"},
                ),
            ),
            related=("uses",),
        ),
        Spec(
            "contract",
            contracts.Contract,
            "ctr",
            cross=True,
            lists=(("contracts:contracts", "contracts.view"),),
            export=("contracts:contracts", "contracts.export"),
            ops=(
                Op("detail", _u("contracts:contract"), "contracts.view", shows=True, full=True),
                Op(
                    "payment",
                    _u("contracts:payment_add"),
                    "contracts.change",
                    "POST",
                    {"amount": "1", "received_on": "2026-01-05"},
                ),
                Op(
                    "invoice",
                    _u("contracts:invoice_add"),
                    "contracts.change",
                    "POST",
                    {"number": "zq-invoice", "amount": "1", "issued_on": "2026-01-05"},
                ),
                Op("credit", _u("contracts:credit_apply"), "contracts.change", "POST"),
                Op("dunning levels", _instalment_dunning, "contracts.change", shows=False),
                Op(
                    "set dunning levels",
                    _instalment_dunning,
                    "contracts.change",
                    "POST",
                    {
                        "levels-TOTAL_FORMS": "1",
                        "levels-INITIAL_FORMS": "0",
                        "levels-0-offset_days": "3",
                        "levels-0-channel": "in_app",
                        "levels-0-responsible": "owner",
                    },
                ),
            ),
            related=("payments", "invoices", "instalments"),
        ),
    ]


SPECS = specs()
SPEC = {spec.key: spec for spec in SPECS}


# --- the world ------------------------------------------------------------------------------------


class World:
    def __init__(self):
        self.seq = 0
        self.objects = {}  # model key -> position -> object (positions other than the matrix users')
        self.hosts = {}  # position -> the customer its dependent records hang on
        self.recs = {key: [] for key in SPEC}

    def build(self):
        from customers.models import Customer, CustomerRelation, Tag, TagGroup
        from marketing.models import ContentItem, Segment
        from sales.models import OpportunityStage
        from sales.services.opportunities import ensure_default_stages

        hq = DepartmentFactory(name="总部", kind=Department.Kind.COMPANY)
        region = DepartmentFactory(name="华东", kind=Department.Kind.REGION, parent=hq)
        team_a = DepartmentFactory(name="一组", kind=Department.Kind.TEAM, parent=region)
        team_a1 = DepartmentFactory(name="一组甲", kind=Department.Kind.TEAM, parent=team_a)
        team_b = DepartmentFactory(name="二组", kind=Department.Kind.TEAM, parent=region)
        self.depts = {"HQ": hq, "R": region, "A": team_a, "A1": team_a1, "B": team_b}
        # the tree as built, for the expected scope (not Department.path)
        self.parent = {hq.pk: None, region.pk: hq.pk, team_a.pk: region.pk, team_a1.pk: team_a.pk, team_b.pk: region.pk}
        self.people = {
            "colleague": UserFactory(username="mx-colleague", role=Role.REP, department=team_a),
            "child": UserFactory(username="mx-child", role=Role.REP, department=team_a1),
            "sibling": UserFactory(username="mx-sibling", role=Role.REP, department=team_b),
            "region": UserFactory(username="mx-region", role=Role.MANAGER, department=region),
        }
        self.users, self.sessions = {}, {}
        for role in ROLES:
            for scope in SCOPES:
                user = UserFactory(username=f"mx-{role}-{scope}", role=role, data_scope=scope, department=team_a)
                self.users[(role, scope)] = user
                login = Client()
                login.force_login(user)  # one session per user for the whole module
                self.sessions[user.pk] = login.cookies[settings.SESSION_COOKIE_NAME].value
        ensure_default_stages()
        self.first_stage = OpportunityStage.objects.filter(is_won=False, is_lost=False).order_by("position").first()
        self.tag = Tag.objects.create(group=TagGroup.objects.create(name="mx-group"), name="mx-tag")
        self.content = ContentItem.objects.create(title="mx-content", url="https://example.com/a")
        self.shared_segment = Segment.objects.create(
            name="mx-shared-segment",
            owner=self.people["region"],
            department=hq,
            definition={"match": "all", "groups": []},
        )

        positions = self._positions()
        # the customers dependent records hang on, one per position (they are customers of the matrix too)
        for pos, owner, dept in positions:
            host = make_customer(self, owner, dept, self._marker("hst"), pos)
            self.hosts[pos] = host
            self._add("customer", host, owner, dept, pos)
        order = [
            "customer",
            "order",
            "lead",
            "opportunity",
            "followup",
            "task",
            "reminder",
            "ticket",
            "budget",
            "coupon_campaign",
            "batch",
            "compensation",
            "subsidy_plan",
            "subsidy_version",
            "segment",
            "marketing_campaign",
            "event",
            "touch",
            "nurture_plan",
            "entitlement",
            "contract",
            "member",
            "enrolment",
        ]
        for key in order:
            spec = SPEC[key]
            self.objects[key] = {}
            for pos, owner, dept in positions:
                if not self._fits(spec, pos, owner):
                    continue
                obj = MAKERS[key](self, owner, dept, self._marker(spec.code), pos)
                self.objects[key][pos] = obj
                rec_owner, rec_dept = owner, dept
                if key in ("task", "reminder"):
                    rec_dept = owner.department
                self._add(
                    key,
                    obj,
                    rec_owner,
                    rec_dept,
                    pos,
                    args=(obj.plan_id, obj.number) if key == "subsidy_version" else (),
                )
        # household links: a colleague's customer linked with every other position's customer
        plain = {rec.pos: rec for rec in self.recs["customer"] if rec.marker.startswith("zqcus")}
        hub = plain["colleague"]
        for pos, rec in plain.items():
            if pos == "colleague":
                continue
            link = CustomerRelation.objects.create(from_customer_id=hub.pk, to_customer_id=rec.pk, kind="referrer")
            self.recs["relation"].append(
                Rec(link.pk, f"relation:{pos}", rec.owner_id, rec.dept_id, pos, ends=(hub, rec))
            )
        self.api = self._api()
        assert Customer.objects.count() == len(self.recs["customer"])

    def school_class(self):
        """One class every position's enrolment sits in (the timetable is the school's)."""
        from resources.models import Course, Room, SchoolClass, Teacher

        if getattr(self, "_school_class", None) is None:
            dept = self.depts["A"]
            self._school_class = SchoolClass.objects.create(
                course=Course.objects.create(name="mx-course", subject="数学", level="一年级", lesson_count=10),
                name="mx-class",
                department=dept,
                teacher=Teacher.objects.create(name="mx-teacher", department=dept),
                room=Room.objects.create(name="mx-room", department=dept),
                capacity=100,
                weekdays=[0],
                start_time=datetime.time(10, 0),
                minutes=60,
                first_day=timezone.localdate(),
            )
        return self._school_class

    def _positions(self):
        rows = [(f"mx:{user.pk}", user, user.department) for user in self.users.values()]
        rows += [(pos, self.people[owner], self.depts[dept]) for pos, owner, dept in FIXED]
        rows += [(pos, None, self.depts[dept]) for pos, owner, dept in POOLS]
        rows += [(pos, self.people[owner], self.depts[dept]) for pos, owner, dept in CROSSINGS]
        return rows

    def _fits(self, spec, pos, owner):
        if owner is None:
            return spec.pool
        if pos in {p: o for p, o, d in CROSSINGS}:
            return spec.cross
        return True

    def _marker(self, code):
        self.seq += 1
        return f"zq{code}{self.seq:04d}x"

    def _add(self, key, obj, owner, dept, pos, args=()):
        marker = {
            "order": lambda: obj.external_id,
            "followup": lambda: obj.content,
            "task": lambda: obj.title,
            "reminder": lambda: obj.title,
            "ticket": lambda: obj.title,
            "budget": lambda: obj.period.name,
            "compensation": lambda: obj.reason,
            "subsidy_version": lambda: obj.note,
            "touch": lambda: obj.subject,
            "contract": lambda: obj.number,
            "member": lambda: obj.customer.name,
            "enrolment": lambda: obj.customer.name,
        }.get(key, lambda: obj.name)()
        self.recs[key].append(
            Rec(obj.pk, marker, owner.pk if owner else None, dept.pk if dept else None, pos, args=args)
        )

    def _api(self):
        client = crm_services.create_api_client(name="mx-shop", department=self.depts["A"])
        everything = list(ApiScope.values)
        tokens = {"all": crm_services.issue_token(client=client, scopes=everything)[1]}
        for scope in everything:  # every scope but one
            tokens[f"without:{scope}"] = crm_services.issue_token(
                client=client, scopes=[s for s in everything if s != scope]
            )[1]
        revoked, tokens["revoked"] = crm_services.issue_token(client=client, scopes=everything)
        crm_services.revoke_token(token=revoked)
        tokens["expired"] = crm_services.issue_token(
            client=client, scopes=everything, expires_at=_now() - datetime.timedelta(minutes=1)
        )[1]
        dormant = crm_services.create_api_client(name="mx-dormant", is_active=False)
        tokens["inactive_client"] = crm_services.issue_token(client=dormant, scopes=everything)[1]
        return tokens

    # -- the expected scope --------------------------------------------------------------------

    def at_or_below(self, dept_id, top_id):
        while dept_id is not None:
            if dept_id == top_id:
                return True
            dept_id = self.parent.get(dept_id)
        return False

    def in_scope(self, user, spec, rec):
        if rec.ends:
            return all(self.in_scope(user, SPEC["customer"], end) for end in rec.ends)
        if spec.personal:
            return rec.owner_id == user.pk
        if user.data_scope == DataScope.ALL:
            return True
        if rec.owner_id == user.pk:
            return True
        if rec.dept_id is None:
            return False
        if user.data_scope == DataScope.DEPARTMENT:
            return rec.dept_id == user.department_id
        if user.data_scope == DataScope.DEPARTMENT_TREE:
            return self.at_or_below(rec.dept_id, user.department_id)
        return False

    def position(self, user, rec):
        if rec.owner_id == user.pk and rec.pos.startswith("mx:"):
            return "own"
        return "teammate" if rec.pos.startswith("mx:") else rec.pos


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The org and its records, built once for the module inside a transaction rolled back at the end;
    each test runs in a savepoint of it."""
    quiet = logging.getLogger("django.request")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # thousands of expected 403/404 warnings
    with pytest.MonkeyPatch.context() as patch, django_db_blocker.unblock():
        # the checks read the HTML, never ``response.context``: the test client need not copy the
        # context of every template rendered (a third of the time of a big page)
        patch.setattr(test_client, "store_rendered_templates", lambda *args, **kwargs: None)
        with transaction.atomic():
            built = World()
            built.build()
            yield built
            transaction.set_rollback(True)
    quiet.setLevel(level)
    print(
        f"\naccess matrix: {sum(CHECKS.values())} checks ("
        + ", ".join(f"{kind} {count}" for kind, count in sorted(CHECKS.items()))
        + f") in {sum(REQUESTS.values())} requests ("
        + ", ".join(f"{status}: {count}" for status, count in sorted(REQUESTS.items()))
        + ")"
    )


# --- checking -------------------------------------------------------------------------------------


def role_allows(role, action):
    if action is None:
        return True
    if isinstance(action, tuple):
        return any(role in ACTIONS[a] for a in action)
    return role in ACTIONS[action]


def changes(before, after):
    """What a write changed, for the failure message: the fields, or the rows hanging on the record."""
    (row, counts), (new_row, new_counts) = before, after
    if new_row is None:
        return "the row was deleted"
    fields = {k: (v, new_row[k]) for k, v in row.items() if new_row.get(k) != v}
    return f"fields {fields}" + (f", related rows {counts} -> {new_counts}" if counts != new_counts else "")


def body(response):
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


class Checker:
    def __init__(self, world, client, user):
        self.world, self.client, self.user = world, client, user
        self.failures = []

    def check(self, kind, ok, message):
        CHECKS[kind] += 1
        if not ok:
            self.failures.append(message)

    def request(self, method, url, data=None):
        response = self.client.get(url) if method == "GET" else self.client.post(url, data or {})
        REQUESTS[response.status_code] += 1
        self.client.cookies.pop("messages", None)  # one request's flash messages must not show in the next
        return response

    def snapshot(self, spec, pk, related=None):
        """The row as stored, and the number of rows hanging on it (``spec.related``)."""
        row = spec.model._default_manager.filter(pk=pk).values().first()
        names = spec.related if related is None else related
        obj = spec.model._default_manager.get(pk=pk) if row is not None and names else None
        counts = tuple(getattr(obj, name).count() for name in names) if obj is not None else ()
        return row, counts

    # one page that lists the records: exactly the ones in scope
    def listing(self, spec, url_name, action, *, export=False):
        user, world = self.user, self.world
        url = reverse(url_name) + ("?export=csv" if export else "?per_page=100")
        if url_name == "search":
            url = reverse(url_name) + "?q=zqcus"
        response = self.request("GET", url)
        label = f"{spec.key} {'export' if export else 'list'} {url}"
        allowed = role_allows(user.role, action) and (not export or role_allows(user.role, spec.lists[0][1]))
        if not allowed:
            self.check("list", response.status_code == 403, f"{label}: {response.status_code}, expected 403")
            return
        self.check("list", response.status_code == 200, f"{label}: {response.status_code}, expected 200")
        if response.status_code != 200:
            return
        text = body(response)
        for rec in world.recs[spec.key]:
            expected = world.in_scope(user, spec, rec)
            if url_name == "search" and not rec.marker.startswith("zqcus"):
                continue
            shown = rec.marker in text
            self.check(
                "list-row",
                shown == expected,
                f"{label}: {world.position(user, rec)} record {rec.marker} {'missing' if expected else 'LEAKED'}",
            )

    def probes(self, spec, op):
        """The records to act on, chosen so that every outcome the rules allow is met without
        repeating what another probe shows:

        - a role without the action: the user's own record (the role is refused before the scope
          is looked at), in SELF and ALL scope (the scope must not matter);
        - a record page (``full``): every position outside the scope and the farthest one inside it
          (the user's own in SELF scope; in SELF scope the positions outside are the colleague's, the
          pool's, the child department's and the colleague's filed elsewhere: whatever leaks the
          sibling's or a crossing's record leaks one of these);
        - another action: the nearest position outside the scope (for a page reached by GET, in SELF
          scope only), and in ALL scope the farthest one (what is inside the other scopes is shown by
          the lists and the record pages)."""
        user, world = self.user, self.world
        by_pos = {}
        for rec in world.recs[spec.key]:
            if spec.key == "customer" and not rec.marker.startswith("zqcus"):
                continue
            by_pos.setdefault(world.position(user, rec), rec)
        own = [by_pos["own"]] if "own" in by_pos else []
        ordered = [by_pos[p] for p in NEARNESS if p in by_pos]
        if not role_allows(user.role, op.action):
            return (own or ordered[:1]) if user.data_scope in (DataScope.SELF, DataScope.ALL) else []
        inside = [r for r in ordered if world.in_scope(user, spec, r)]
        outside = [r for r in ordered if not world.in_scope(user, spec, r)]
        if op.full:
            if user.data_scope == DataScope.SELF and len(outside) > 2:
                outside = [r for r in outside if r.pos not in ("sibling", "foreignInA")]
            return (inside[-1:] or own) + outside
        if user.data_scope == DataScope.ALL:
            return inside[-1:] or own
        if op.method == "GET" and user.data_scope != DataScope.SELF:
            return []  # a page: its lookup is the record page's, tried on every position there
        return outside[:1]

    def guesses(self, spec):
        """Ids nobody would be given: an id of another model's record outside the user's scope, and
        (once per role: it does not depend on the scope) one that does not exist."""
        world, user = self.world, self.user
        ids = [max(rec.pk for rec in world.recs[spec.key]) + 100000] if user.data_scope == DataScope.SELF else []
        for other in ("lead", "order"):
            if other != spec.key:
                ids += [r.pk for r in world.recs[other] if not world.in_scope(user, SPEC[other], r)][:1]
                break
        by_pk = {rec.pk: rec for rec in world.recs[spec.key]}
        return [(pk, by_pk.get(pk)) for pk in ids]

    def operation(self, spec, op, rec, *, pk=None):
        user, world = self.user, self.world
        target = rec if rec is not None else Rec(pk, f"(no {spec.key} {pk})", None, None, "guess", args=(pk,))
        url = op.url(target, world)
        position = world.position(user, rec) if rec is not None else f"guessed id {pk}"
        label = f"{spec.key} {op.name} {op.method} {url} [{position}]"
        role_ok = role_allows(user.role, op.action)
        visible = rec is not None and world.in_scope(user, spec, rec)
        refused = not (role_ok and visible)
        guarded = op.method == "POST" and refused and rec is not None
        before = self.snapshot(spec, rec.pk, op.touches) if guarded else None
        with transaction.atomic():  # whatever the request writes is undone after the checks
            response = self.request(op.method, url, op.data)
            status = response.status_code
            text = body(response) if status != 302 else ""
            if guarded:
                after = self.snapshot(spec, rec.pk, op.touches)
                self.check("unchanged", after == before, f"{label}: FORBIDDEN WRITE, {changes(before, after)}")
            transaction.set_rollback(True)
        if op.method == "GET":
            if not role_ok:
                expected = {403}
            elif not visible:
                expected = {404}
            else:
                expected = set(op.ok)
            self.check("status", status in expected, f"{label}: {status}, expected {sorted(expected)}")
        elif refused:
            self.check("status", status in (403, 404), f"{label}: {status}, expected 403/404")
        else:
            self.check(
                "status",
                status not in (403, 404) and status < 500,
                f"{label}: {status}, expected the write to be accepted",
            )
        if rec is not None and not rec.ends:
            if refused:
                self.check("no-leak", rec.marker not in text, f"{label}: refused but shows {rec.marker}")
            elif op.shows and status == 200:
                self.check("shows", rec.marker in text, f"{label}: the page does not show {rec.marker}")

    def bulk(self, spec, bulk):
        user, world = self.user, self.world
        list_url, list_action = spec.lists[0]
        # the selection: one record of each position (the user's own, the colleagues', the pools...)
        recs, seen = [], set()
        for rec in world.recs[spec.key]:
            position = world.position(user, rec)
            if (bulk.only is None or bulk.only(rec)) and position not in seen:
                seen.add(position)
                recs.append(rec)
        data = {"bulk_action": bulk.name, "selection": [str(r.pk) for r in recs], **bulk.data}
        if bulk.name == "assign":
            data["owner"] = str(user.pk)
        if bulk.name == "tag":
            data["tag"] = str(world.tag.pk)
        label = f"{spec.key} bulk {bulk.name}"
        role_ok = role_allows(user.role, list_action) and role_allows(user.role, bulk.action)
        outside = [r for r in recs if not (role_ok and world.in_scope(user, spec, r))]
        inside = [r for r in recs if r not in outside]
        before = {r.pk: self.snapshot(spec, r.pk, bulk.related) for r in outside}
        with transaction.atomic():
            response = self.request("POST", reverse(list_url), data)
            status = response.status_code
            self.check(
                "status", status == (302 if role_ok else 403), f"{label}: {status}, expected {302 if role_ok else 403}"
            )
            for rec in outside:
                after = self.snapshot(spec, rec.pk, bulk.related)
                self.check(
                    "unchanged",
                    after == before[rec.pk],
                    f"{label}: FORBIDDEN WRITE on {world.position(user, rec)} {rec.marker}, "
                    f"{changes(before[rec.pk], after)}",
                )
            for rec in inside:
                self.check(
                    "bulk-effect",
                    bulk.effect(world, rec, user),
                    f"{label}: in-scope {world.position(user, rec)} {rec.marker} was not reached",
                )
            transaction.set_rollback(True)

    def verdict(self):
        assert not self.failures, f"{len(self.failures)} violations:\n" + "\n".join(self.failures)


CASES = [
    pytest.param(role, scope, spec.key, id=f"{role}-{scope}-{spec.key}")
    for role in ROLES
    for scope in SCOPES
    for spec in SPECS
]


@pytest.mark.parametrize("role,scope,model", CASES)
def test_access_matrix(world, db, role, scope, model):
    """Lists and exports hold exactly the records in scope; every page and action on a record answers
    as the role and the scope say (guessed ids included); refused writes change nothing; bulk actions
    reach only the records in scope."""
    user = world.users[(role, scope)]
    spec = SPEC[model]
    client = Client(raise_request_exception=False)
    client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[user.pk]
    checker = Checker(world, client, user)
    for url_name, action in spec.lists:
        checker.listing(spec, url_name, action)
    if spec.export:
        checker.listing(spec, spec.export[0], spec.export[1], export=True)
    guessed = False
    for op in spec.ops:
        for rec in checker.probes(spec, op):
            checker.operation(spec, op, rec)
        if op.full and not guessed:  # URL guessing on the record's main page
            guessed = True
            for pk, rec in checker.guesses(spec):
                checker.operation(spec, op, rec, pk=pk)
    for bulk in spec.bulk:
        checker.bulk(spec, bulk)
    checker.verdict()


# --- the integration API ----------------------------------------------------------------------------


def _api_endpoints(w):
    """(name, method, path, body, the token scope it needs)"""
    customer = w.objects["customer"]["sibling"]
    event = w.objects["event"]["sibling"]
    order = w.objects["order"]["sibling"]
    return {
        "ping": ("GET", "/api/v1/ping", None, None),
        "customer": ("GET", f"/api/v1/customers/{customer.pk}", None, ApiScope.CUSTOMERS_READ),
        "customer_lookup": ("GET", f"/api/v1/customers?mobile={customer.mobile}", None, ApiScope.CUSTOMERS_READ),
        "leads": (
            "POST",
            "/api/v1/leads",
            {"name": "zqapi-lead", "mobile": "13700009999", "source": "website"},
            ApiScope.LEADS,
        ),
        "lead_sources": ("GET", "/api/v1/lead-sources", None, ApiScope.LEADS),
        "orders": (
            "POST",
            "/api/v1/orders",
            {
                "external_id": "zqapi-order",
                "amount": "10.00",
                "customer": {"mobile": "13600009999", "name": "zqapi-buyer"},
            },
            ApiScope.ORDERS,
        ),
        "order_cancel": ("POST", f"/api/v1/orders/{order.external_id}/cancel", {}, ApiScope.ORDERS),
        "coupon_claim": (
            "POST",
            "/api/v1/coupons/claim",
            {"batch": w.objects["batch"]["sibling"].code, "customer": {"id": customer.pk}, "channel": "api"},
            ApiScope.COUPONS,
        ),
        "coupon_redeem": (
            "POST",
            "/api/v1/coupons/redeem",
            {"code": "NOPE", "customer": {"id": customer.pk}, "order": {"external_id": "x", "amount": "100.00"}},
            ApiScope.COUPONS,
        ),
        "registrations": (
            "POST",
            f"/api/v1/events/{event.pk}/registrations",
            {"customer": {"mobile": "13500009999", "name": "zqapi-guest"}},
            ApiScope.MARKETING,
        ),
        "products": ("GET", "/api/v1/products", None, ApiScope.PRODUCTS_READ),
        "entitlement_consume": (
            "POST",
            f"/api/v1/entitlements/{w.objects['entitlement']['sibling'].pk}/consume",
            {"quantity": 1, "reference": "zqapi-use"},
            ApiScope.ENTITLEMENTS,
        ),
        "partner_leads": (
            "POST",
            "/api/v1/partner-leads",
            {"name": "zqapi-reg", "mobile": "13400009999"},
            ApiScope.PARTNER,
        ),
        "partner_statements": ("GET", "/api/v1/partners/1/statements", None, ApiScope.PARTNER),
        "events": (
            "POST",
            "/api/v1/events",
            [{"id": "zqapi-e1", "type": "click", "at": timezone.now().isoformat(), "customer": {"id": customer.pk}}],
            ApiScope.EVENTS,
        ),
        "member": ("GET", f"/api/v1/members/{w.objects['member']['sibling'].pk}", None, ApiScope.MEMBERS),
        "points_earn": (
            "POST",
            "/api/v1/points/earn",
            {"customer": {"id": customer.pk}, "points": 10, "reference": "zqapi-earn", "reason": "zq"},
            ApiScope.MEMBERS,
        ),
        "points_spend": (
            "POST",
            "/api/v1/points/spend",
            {"customer": {"id": customer.pk}, "points": 10, "reference": "zqapi-spend", "reason": "zq"},
            ApiScope.MEMBERS,
        ),
    }


API_NAMES = [
    "ping",
    "customer",
    "customer_lookup",
    "leads",
    "lead_sources",
    "orders",
    "order_cancel",
    "coupon_claim",
    "coupon_redeem",
    "registrations",
    "products",
    "entitlement_consume",
    "events",
    "member",
    "points_earn",
    "points_spend",
]
REFUSED_CREDENTIALS = ["none", "garbage", "not_bearer", "revoked", "expired", "inactive_client", "browser_session"]


def _written(w):
    """What a refused API call must not have changed."""
    from catalog.models import EntitlementUse
    from cdp.models import Event
    from coupons.models import Coupon
    from crm.models import IdempotencyRecord
    from customers.models import Customer, Order
    from marketing.models import Registration
    from members.models import Member, PointsEntry
    from sales.models import Lead

    return (
        Event.objects.count(),
        Lead.objects.count(),
        Order.objects.count(),
        Order.objects.filter(status="cancelled").count(),
        Customer.objects.count(),
        Coupon.objects.exclude(status="available").count(),
        Registration.objects.count(),
        IdempotencyRecord.objects.count(),
        EntitlementUse.objects.count(),
        PointsEntry.objects.count(),
        Member.objects.count(),
    )


def _api_call(client, method, path, payload, token=None, header=None):
    extra = {}
    if header is not None:
        extra["HTTP_AUTHORIZATION"] = header
    elif token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if method == "GET":
        return client.get(path, **extra)
    return client.post(path, data=json.dumps(payload), content_type="application/json", **extra)


#: the partner endpoints answer a partner's token only (see test_partner_user_* below)
PARTNER_API_NAMES = ["partner_leads", "partner_statements"]


@pytest.mark.parametrize("credential", REFUSED_CREDENTIALS)
@pytest.mark.parametrize("endpoint", API_NAMES + PARTNER_API_NAMES)
def test_api_refuses_without_a_usable_token(world, db, endpoint, credential):
    """No token, a bad, revoked or expired token, a token of an inactive client, or a logged-in
    browser session: 401 in the contract's error shape, no data, nothing written."""
    method, path, payload, _scope = _api_endpoints(world)[endpoint]
    client = Client(raise_request_exception=False)
    token = header = None
    if credential == "garbage":
        token = "crm_" + "x" * 40
    elif credential == "not_bearer":
        header = f"Token {world.api['all']}"
    elif credential in ("revoked", "expired", "inactive_client"):
        token = world.api[credential]
    elif credential == "browser_session":  # an admin with the widest scope, logged in to the web UI
        client.force_login(world.users[(Role.ADMIN, DataScope.ALL)])
    before = _written(world)
    response = _api_call(client, method, path, payload, token=token, header=header)
    CHECKS["api"] += 1
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "unauthorized"
    assert b"zq" not in response.content
    assert _written(world) == before


@pytest.mark.parametrize("endpoint", [name for name in API_NAMES if name != "ping"])
def test_api_refuses_a_token_without_the_endpoints_scope(world, db, endpoint):
    """A token holding every scope but the endpoint's: 403 ``forbidden``, nothing read or written;
    the same call with the scope gets past authentication."""
    method, path, payload, scope = _api_endpoints(world)[endpoint]
    client = Client(raise_request_exception=False)
    before = _written(world)
    response = _api_call(client, method, path, payload, token=world.api[f"without:{scope}"])
    CHECKS["api"] += 2
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "forbidden"
    assert b"zq" not in response.content
    assert _written(world) == before
    allowed = _api_call(client, method, path, payload, token=world.api["all"])
    assert allowed.status_code not in (401, 403) and allowed.status_code < 500, allowed.content


def test_browser_session_cannot_read_outside_its_scope_through_the_api(world, db):
    """A rep who sees only their own customers, logged in to the web UI, asks the API for a
    colleague's customer (by id and by mobile): 401 without the customer; the web page is 404."""
    user = world.users[(Role.REP, DataScope.SELF)]
    client = Client(raise_request_exception=False)
    client.force_login(user)
    for pos in ("colleague", "sibling"):
        customer = world.objects["customer"][pos]
        for path in (f"/api/v1/customers/{customer.pk}", f"/api/v1/customers?mobile={customer.mobile}"):
            response = client.get(path)
            CHECKS["api"] += 1
            assert response.status_code == 401
            assert customer.name.encode() not in response.content and customer.mobile.encode() not in response.content
        assert client.get(reverse("customers:detail", args=[customer.pk])).status_code == 404


@pytest.mark.parametrize("role", list(Role))
def test_lead_source_pages_and_the_audit_reveal_follow_the_role(db, role):
    """The lead source pages need ``customers.configure``; a reveal on the audit log needs
    ``audit.view`` and the right to reveal contact details. Refused writes change nothing."""
    from auditlog.models import LogEntry

    from crm import privacy
    from customers.models import LeadSource
    from customers.tests.factories import CustomerFactory

    user = UserFactory(role=role, department=DepartmentFactory(name="zq部门"))
    client = Client(raise_request_exception=False)
    client.force_login(user)
    source = LeadSource.objects.get(code="web")
    configure = role in ACTIONS["customers.configure"]
    for url in ("/customers/sources/", "/customers/sources/new/", f"/customers/sources/{source.pk}/edit/"):
        CHECKS["pages"] += 1
        assert client.get(url).status_code == (200 if configure else 403), url
    response = client.post(f"/customers/sources/{source.pk}/edit/", {"name": "zq改名", "group": "", "position": 1})
    assert response.status_code == (302 if configure else 403)
    assert LeadSource.objects.get(pk=source.pk).name == ("zq改名" if configure else "网页表单")
    entry = LogEntry.objects.get_for_object(CustomerFactory(name="zq客户", mobile="13700001234")).get()
    reveal = client.post(f"/org/audit/{entry.pk}/reveal/")
    allowed = role in ACTIONS["audit.view"] and privacy.may_reveal(user)
    assert reveal.status_code == (200 if allowed else 403)
    assert (b"13700001234" in reveal.content) is allowed


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("scope", SCOPES)
def test_report_pages_follow_the_role_and_the_scope(db, role, scope):
    """日报、周报、月报: a rep's report opens for the rep and for users who see the rep's figures (their
    scope covers the rep's department), a team's report for users whose scope covers the team;
    anyone else gets 404. Reading and commenting need ``sales.assign`` and the report in sight, and
    never the author's own report; refused writes change nothing."""
    from sales.models import Report

    team = DepartmentFactory(name="zq一组", kind=Department.Kind.TEAM)
    other = DepartmentFactory(name="zq二组", kind=Department.Kind.TEAM)
    user = UserFactory(role=role, data_scope=scope, department=team)
    rep_in = UserFactory(role=Role.REP, department=team)
    rep_out = UserFactory(role=Role.REP, department=other)
    start = datetime.date(2026, 11, 1)
    reports = {
        "rep_in": Report.objects.create(user=rep_in, kind="monthly", start=start),
        "rep_out": Report.objects.create(user=rep_out, kind="monthly", start=start),
        "team_in": Report.objects.create(department=team, kind="monthly", start=start),
        "team_out": Report.objects.create(department=other, kind="monthly", start=start),
    }
    sees_all = scope == DataScope.ALL
    sees_team = scope != DataScope.SELF
    expected_visible = {
        "rep_in": (sees_team or sees_all) and role in ACTIONS["sales.view"],
        "rep_out": sees_all and role in ACTIONS["sales.view"],
        "team_in": (sees_team or sees_all) and role in ACTIONS["sales.view"],
        "team_out": sees_all and role in ACTIONS["sales.view"],
    }
    client = Client(raise_request_exception=False)
    client.force_login(user)
    for name, report in reports.items():
        CHECKS["pages"] += 1
        status = client.get(f"/sales/reports/{report.pk}/").status_code
        if role not in ACTIONS["sales.view"]:
            assert status == 403, name
        else:
            assert status == (200 if expected_visible[name] else 404), name
        response = client.post(f"/sales/reports/{report.pk}/comment/", {"comment": "zq点评"})
        may_comment = expected_visible[name] and role in ACTIONS["sales.assign"]
        assert response.status_code == (302 if may_comment else 403 if role not in ACTIONS["sales.assign"] else 404), (
            name
        )
        report.refresh_from_db()
        assert report.comment == ("zq点评" if may_comment else ""), name


# --- the approvals inbox and its actions ---------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_approvals_inbox_and_decisions_follow_the_routing(world, db, role):
    """A control point asked on the colleague's opportunity (in 一组) and on the sibling's (in 二组):
    every user has the one inbox (200), showing exactly the requests waiting for them; a request's
    page opens for its requester, the people asked at any step and whoever sees the record (else 404); deciding
    is for the people asked at the waiting step only (403 for anyone else who sees it, 404 for the
    rest, nothing changed); the approval chains are the admins' (403)."""
    from crm.approvals import services as approvals
    from crm.models import ApprovalRequest
    from sales.approvals import KIND, stage_key
    from sales.models import OpportunityStage

    stage = OpportunityStage.objects.exclude(approval_role="").order_by("position").first()
    with transaction.atomic():
        requests = {}
        for pos in ("colleague", "sibling"):
            opportunity = world.objects["opportunity"][pos]
            requests[pos] = approvals.request_approval(
                kind=KIND, obj=opportunity, requester=opportunity.owner, key=stage_key(stage)
            )
        for scope in SCOPES:
            user = world.users[(role, scope)]
            client = Client(raise_request_exception=False)
            client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[user.pk]
            inbox = client.get(reverse("approvals:inbox"))
            CHECKS["approvals"] += 1
            assert inbox.status_code == 200
            text = body(inbox)
            for pos, request in requests.items():
                rec = next(r for r in world.recs["opportunity"] if r.pos == pos)
                asked = request.steps.get(position=1).assignees.filter(approver=user).exists()
                in_chain = request.steps.filter(assignees__approver=user).exists()  # a later step too
                sees = in_chain or world.in_scope(user, SPEC["opportunity"], rec)
                label = f"{role}/{scope} {pos}'s request"
                assert (rec.marker in text) == asked, f"{label}: inbox {'misses' if asked else 'LEAKS'} it"
                detail = client.get(reverse("approvals:detail", args=[request.pk]))
                assert detail.status_code == (200 if sees else 404), f"{label}: page {detail.status_code}"
                with transaction.atomic():
                    decided = client.post(
                        reverse("approvals:decide", args=[request.pk]), {"decision": "approve", "comment": ""}
                    )
                    expected = 302 if asked else 403 if sees else 404
                    assert decided.status_code == expected, f"{label}: decide {decided.status_code}"
                    if not asked:
                        assert ApprovalRequest.objects.get(pk=request.pk).steps.get(position=1).status == "pending"
                    transaction.set_rollback(True)
                CHECKS["approvals"] += 3
            chains = client.get(reverse("approvals:chains"))
            assert chains.status_code == (200 if role == Role.ADMIN else 403)
        transaction.set_rollback(True)


# --- partner users (代理商账号): the portal only, their own partner only -----------------------------


def _internal_paths():
    """Every page of the organization without an argument in its URL (the portal, sign-in and
    static paths are the partner user's)."""
    from django.urls import URLPattern, URLResolver, get_resolver

    from crm.permissions import PORTAL_PATH_PREFIXES

    def walk(patterns, prefix):
        for pattern in patterns:
            route = str(pattern.pattern)
            if "<" in route or route.startswith("^"):
                continue
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + route)
            elif isinstance(pattern, URLPattern):
                yield "/" + prefix + route

    return sorted(
        {p for p in walk(get_resolver().url_patterns, "") if not p.startswith(PORTAL_PATH_PREFIXES) and p != "/"}
    )


@pytest.fixture
def partner_pair(db):
    from customers.models import Order
    from customers.tests.factories import CustomerFactory
    from partners.models import Attribution, Partner, Statement
    from partners.services.portal import create_portal_user

    owner = UserFactory(role=Role.MANAGER, department=DepartmentFactory(name="zq渠道部"))
    out = []
    for code in ("zqA", "zqB"):
        partner = Partner.objects.create(
            name=f"zq伙伴{code}", code=code, owner=owner, department=owner.department, status="active"
        )
        user = create_portal_user(partner=partner, username=f"user-{code}", name=code, password="zq-secret-123")
        order = Order.objects.create(customer=CustomerFactory(name=f"zq顾客{code}"), amount=Decimal("10.00"))
        Attribution.objects.create(order=order, partner=partner, reason="code")
        statement = Statement.objects.create(partner=partner, period=datetime.date(2026, 11, 1), status="approved")
        out.append((partner, user, statement))
    return out


def test_partner_user_gets_403_on_every_internal_page_and_the_home_page_leads_to_the_portal(partner_pair):
    """A partner user opens each of the organization's pages (every URL without an argument):
    403, without any record; the home page leads to the portal."""
    _partner, user, _statement = partner_pair[0]
    client = Client(raise_request_exception=False)
    client.force_login(user)
    assert client.get("/").url == "/portal/"
    paths = _internal_paths()
    assert len(paths) > 100
    for path in paths:
        response = client.get(path)
        CHECKS["pages"] += 1
        assert response.status_code == 403, path
        assert "zq伙伴".encode() not in response.content and "zq顾客".encode() not in response.content, path


def test_partner_user_gets_403_on_internal_record_pages_and_posts(partner_pair):
    from partners.models import Attribution

    partner, user, statement = partner_pair[0]
    order = Attribution.objects.get(partner=partner).order
    client = Client(raise_request_exception=False)
    client.force_login(user)
    for path in (
        f"/partners/{partner.pk}/",
        f"/partners/statements/{statement.pk}/",
        f"/customers/{order.customer_id}/",
    ):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/partners/statements/{statement.pk}/pay/").status_code == 403
    assert client.post(f"/partners/{partner.pk}/portal-users/", {"username": "x"}).status_code == 403


def test_partner_user_never_sees_another_partners_anything(partner_pair):
    """In the portal, the other partner's statement, registration and orders are 404 or absent; the
    permission layer shows a partner user nothing of a model that has no partner field."""
    from crm import permissions
    from customers.models import Customer, Order
    from partners.models import Attribution, LeadHandover, LeadRegistration, Partner, Statement
    from partners.services.registrations import register_lead
    from sales.models import Lead

    (mine, user, _s), (theirs, _u, other_statement) = partner_pair
    other_registration = register_lead(partner=theirs, name="zq他人", mobile="13400001111")
    other_lead = Lead.objects.create(name="zq他人线索", mobile="13400002222")
    LeadHandover.objects.create(lead=other_lead, partner=theirs, reason="new", grade="D", weight=1)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    for path in (
        "/portal/",
        "/portal/registrations/",
        "/portal/leads/",
        "/portal/orders/",
        "/portal/statements/",
        "/portal/grade/",
    ):
        response = client.get(path)
        assert response.status_code == 200
        assert theirs.name.encode() not in response.content and "zq顾客zqB".encode() not in response.content
        assert "zq他人线索".encode() not in response.content
    assert client.get(f"/portal/statements/{other_statement.pk}/").status_code == 404
    assert client.get(f"/portal/statements/{other_statement.pk}/?export=xlsx").status_code == 404
    assert client.post(f"/portal/statements/{other_statement.pk}/confirm/").status_code == 404
    assert client.post(f"/portal/registrations/{other_registration.pk}/extend/").status_code == 404
    assert client.post(f"/portal/leads/{other_lead.pk}/outcome/", {"outcome": "invalid"}).status_code == 404
    assert LeadHandover.objects.get(lead=other_lead).outcome == "pending"
    assert permissions.visible(user, LeadHandover.objects.all()).count() == 0
    assert set(permissions.visible(user, Partner.objects.all())) == {mine}
    assert set(permissions.visible(user, Statement.objects.all()).values_list("partner", flat=True)) == {mine.pk}
    assert set(permissions.visible(user, Attribution.objects.all()).values_list("partner", flat=True)) == {mine.pk}
    assert permissions.visible(user, LeadRegistration.objects.filter(partner=theirs)).count() == 0
    assert permissions.visible(user, Customer.objects.all()).count() == 0
    assert permissions.visible(user, Order.objects.all()).count() == 0


@pytest.mark.parametrize("role", ROLES)
def test_internal_users_get_403_in_the_portal(db, role):
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(role=role, data_scope=DataScope.ALL, department=DepartmentFactory(name="zq部")))
    for path in (
        "/portal/",
        "/portal/registrations/",
        "/portal/leads/",
        "/portal/orders/",
        "/portal/statements/",
        "/portal/grade/",
    ):
        assert client.get(path).status_code == 403, path


def test_a_partner_token_reads_only_its_partners_statements_and_no_other_endpoint(partner_pair):
    from partners.services.portal import issue_partner_token

    (mine, _u, _s), (theirs, _u2, _s2) = partner_pair
    _token, raw = issue_partner_token(partner=mine)
    client = Client(raise_request_exception=False)
    header = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.get(f"/api/v1/partners/{mine.pk}/statements", **header).status_code == 200
    assert client.get(f"/api/v1/partners/{theirs.pk}/statements", **header).status_code == 404
    for path in ("/api/v1/customers?mobile=13400001111", "/api/v1/lead-sources", "/api/v1/products"):
        assert client.get(path, **header).status_code == 403, path
    session = Client(raise_request_exception=False)
    session.force_login(_u)
    assert session.get(f"/api/v1/partners/{mine.pk}/statements").status_code == 401


# --- the customer data platform and the calendar ---------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_merge_suggestions_and_the_calendar_follow_the_role(db, role):
    """The merge suggestions need ``cdp.merge``, the calendar ``calendar.view``, its team view
    ``calendar.team`` (else the user's own calendar); the feed answers only its secret address. A
    partner portal user has no calendar and no customer data platform: every one of their
    addresses is 403 (the partner middleware of crm.permissions), revoking a feed too."""
    partner = role == Role.PARTNER
    user = UserFactory(role=role, department=DepartmentFactory(name="zq部门"))
    client = Client(raise_request_exception=False)
    client.force_login(user)
    pages = {
        "/cdp/merge-suggestions/": 200 if role in ACTIONS["cdp.merge"] else 403,
        "/calendar/": 200 if role in ACTIONS["calendar.view"] else 403,
        "/calendar/?view=month": 200 if role in ACTIONS["calendar.view"] else 403,
        "/calendar/items.json?start=2026-12-01T00:00:00%2B08:00&end=2026-12-08T00:00:00%2B08:00": (
            200 if role in ACTIONS["calendar.view"] else 403
        ),
    }
    for url, expected in pages.items():
        CHECKS["pages"] += 1
        assert client.get(url).status_code == expected, url
    team = client.get("/calendar/?team=1")
    assert ('data-team="1"' in team.content.decode()) is (role in ACTIONS["calendar.team"])
    assert client.post("/cdp/merge-suggestions/999999/dismiss").status_code == (
        404 if role in ACTIONS["cdp.merge"] else 403
    )
    moved = client.post("/calendar/move", {"key": "reminder:999999", "date": "2099-01-01"}).status_code
    assert (moved == 403) if partner else (moved in (403, 404))
    assert client.post("/calendar/feed/issue").status_code == (302 if role in ACTIONS["calendar.view"] else 403)
    # revoking needs no permission (it only takes away): every internal user may, a partner user may not
    assert client.post("/calendar/feed/revoke").status_code == (403 if partner else 302)
    if partner:
        assert client.get("/calendar/feed/zq-guess.ics").status_code == 403
    anonymous = Client(raise_request_exception=False)
    assert anonymous.post("/calendar/feed/issue").status_code == 302  # to the login page
    assert anonymous.get("/calendar/feed/zq-guess.ics").status_code == 404
    assert anonymous.get("/calendar/").status_code == 302
