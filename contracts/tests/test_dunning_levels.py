"""The company's dunning levels (催款级别), set by admins: the seed, the page, the audit log, and
the reminders that follow them."""

import datetime
import importlib

import pytest
from auditlog.models import LogEntry
from django.apps import apps as django_apps
from django.utils import timezone

from contracts.models import DunningLevel, DunningNotice
from contracts.services import dunning
from contracts.services.dunning import Level, dispatch_overdue
from crm.models import Delivery, Notification
from crm.tests.factories import UserFactory

from .factories import make_contract

URL = "/contracts/dunning-levels/"


def defaults():
    return list(
        DunningLevel.objects.filter(instalment__isnull=True)
        .order_by("offset_days", "channel")
        .values_list("offset_days", "channel", "responsible")
    )


@pytest.fixture(autouse=True)
def seeded(db):
    """The plan the data migration seeds (again, when a transactional test emptied the tables)."""
    if not DunningLevel.objects.filter(instalment__isnull=True).exists():
        _seed_migration().seed(django_apps, None)


def _seed_migration():
    return importlib.import_module("contracts.migrations.0005_seed_default_dunning_levels")


def test_a_fresh_install_has_todays_plan_as_its_default_levels():
    DunningLevel.objects.all().delete()
    _seed_migration().seed(django_apps, None)
    assert defaults() == [
        (1, "preference", "owner"),
        (7, "preference", "owner"),
        (15, "preference", "manager"),
        (30, "preference", "manager"),
        (60, "preference", "manager"),
        (90, "preference", "manager"),
    ]


def test_the_admin_sees_the_levels_in_words(client, org):
    client.force_login(org.admin)
    page = client.get(URL).content.decode()
    assert "1 days after due" in page
    assert "The owner and the owner&#x27;s manager" in page


def test_the_admin_adds_a_level_and_the_audit_log_names_him(client, org):
    client.force_login(org.admin)
    response = client.post(URL, {"offset_days": "-3", "channel": "in_app", "responsible": "owner"})
    assert response.status_code == 302
    assert defaults()[0] == (-3, "in_app", "owner")
    row = DunningLevel.objects.get(instalment__isnull=True, offset_days=-3)
    entry = LogEntry.objects.get_for_object(row).get()
    assert (entry.action, entry.actor) == (LogEntry.Action.CREATE, org.admin)


def test_a_level_with_the_same_days_and_channel_is_refused_beside_the_days(client, org):
    client.force_login(org.admin)
    response = client.post(URL, {"offset_days": "7", "channel": "preference", "responsible": "manager"})
    assert response.status_code == 400
    page = response.content.decode()
    assert (
        '<a class="alert-link" href="#id_offset_days">Days after due: Another level is already 7 days from due'
        " on the channel As each person has set.</a>"
    ) in page
    assert 'id="id_offset_days_error"' in page
    assert len(defaults()) == 6


def test_the_same_days_on_another_channel_is_a_second_level(client, org):
    client.force_login(org.admin)
    assert client.post(URL, {"offset_days": "7", "channel": "email", "responsible": "owner"}).status_code == 302
    assert [row for row in defaults() if row[0] == 7] == [(7, "email", "owner"), (7, "preference", "owner")]


def test_a_named_person_level_without_a_person_is_refused_beside_the_person(client, org):
    client.force_login(org.admin)
    response = client.post(URL, {"offset_days": "45", "channel": "email", "responsible": "user"})
    assert response.status_code == 400
    assert '<a class="alert-link" href="#id_user">Person: Name the person.</a>' in response.content.decode()
    assert len(defaults()) == 6


def test_the_admin_edits_a_level_and_the_audit_log_keeps_the_change(client, org):
    row = DunningLevel.objects.get(instalment__isnull=True, offset_days=30)
    client.force_login(org.admin)
    response = client.post(
        f"{URL}{row.pk}/", {"offset_days": "30", "channel": "wecom", "responsible": "department_head"}
    )
    assert response.status_code == 302
    assert (30, "wecom", "department_head") in defaults()
    entry = LogEntry.objects.get_for_object(row).get(action=LogEntry.Action.UPDATE)
    assert (entry.actor, entry.changes_dict["channel"]) == (org.admin, ["preference", "wecom"])


def test_an_edit_onto_another_levels_days_and_channel_is_refused(client, org):
    row = DunningLevel.objects.get(instalment__isnull=True, offset_days=30)
    client.force_login(org.admin)
    response = client.post(f"{URL}{row.pk}/", {"offset_days": "15", "channel": "preference", "responsible": "owner"})
    assert response.status_code == 400
    assert "Another level is already 15 days from due on the channel As each person has set." in (
        response.content.decode()
    )
    assert (30, "preference", "manager") in defaults()


def test_the_admin_removes_a_level_and_the_audit_log_keeps_it(client, org):
    row = DunningLevel.objects.get(instalment__isnull=True, offset_days=90)
    client.force_login(org.admin)
    assert client.post(f"{URL}{row.pk}/delete/").status_code == 302
    assert [days for days, _c, _r in defaults()] == [1, 7, 15, 30, 60]
    entry = LogEntry.objects.filter(object_pk=str(row.pk), action=LogEntry.Action.DELETE).get()
    assert entry.actor == org.admin


def test_the_last_level_cannot_be_removed(client, org):
    DunningLevel.objects.filter(instalment__isnull=True).exclude(offset_days=1).delete()
    row = DunningLevel.objects.get(instalment__isnull=True)
    client.force_login(org.admin)
    page = client.post(f"{URL}{row.pk}/delete/", follow=True).content.decode()
    assert "Keep at least one dunning level in the company&#x27;s plan." in page
    assert defaults() == [(1, "preference", "owner")]


def test_a_manager_cannot_change_the_company_levels(client, org):
    client.force_login(org.manager1)
    assert client.post(URL, {"offset_days": "-3", "channel": "in_app", "responsible": "owner"}).status_code == 403
    assert len(defaults()) == 6


# --- the reminders follow the levels ------------------------------------------------------------


@pytest.fixture
def teams(org):
    """rep1 sits in a team (一组) led by a team lead, inside 销售一部 whose head is manager1."""
    lead = UserFactory(username="lead1", role="manager", department=org.team1)
    org.team1.manager = lead
    org.team1.save()
    org.sales1.manager = org.manager1
    org.sales1.save()
    return lead


def company_plan(*levels, actor):
    dunning.set_levels(instalment=None, levels=list(levels), actor=actor)


def test_a_seed_leaves_levels_an_admin_has_set(org):
    dunning.set_levels(instalment=None, levels=[Level(3)], actor=org.admin)
    _seed_migration().seed(django_apps, None)
    assert defaults() == [(3, "preference", "owner")]


def test_the_configured_levels_remind_each_once_before_and_after_due(org, won_stage, teams):
    company_plan(
        Level(-3, channel="in_app"),
        Level(7, responsible="manager"),
        Level(30, responsible="department_head"),
        actor=org.admin,
    )
    today = timezone.localdate()
    contract = make_contract(
        org.rep1, won_stage, amount="10000", parts=("10000",), first_due=today + datetime.timedelta(days=3)
    )
    sent = []
    for day in range(40):
        sent.append(dispatch_overdue(today=today + datetime.timedelta(days=day)))
    assert sum(sent) == 5
    notices = Notification.objects.filter(kind="dunning").order_by("id")
    assert [(n.recipient.username, n.title) for n in notices] == [
        ("rep1", f"Due in 3 days: {contract.number} instalment 1, 10,000.00 outstanding"),
        ("rep1", f"Overdue 7 days: {contract.number} instalment 1, 10,000.00 outstanding"),
        ("lead1", f"Escalated: Overdue 7 days: {contract.number} instalment 1, 10,000.00 outstanding ({org.rep1})"),
        ("rep1", f"Overdue 30 days: {contract.number} instalment 1, 10,000.00 outstanding"),
        (
            "manager1",
            f"Escalated: Overdue 30 days: {contract.number} instalment 1, 10,000.00 outstanding ({org.rep1})",
        ),
    ]


def test_two_channels_on_the_same_day_each_remind_once(org, won_stage):
    company_plan(Level(7, channel="in_app"), Level(7, channel="email"), actor=org.admin)
    today = timezone.localdate()
    make_contract(org.rep1, won_stage, amount="10000", parts=("10000",), first_due=today - datetime.timedelta(days=7))
    assert dispatch_overdue(today=today) == 2
    assert dispatch_overdue(today=today) == 0
    assert sorted(DunningNotice.objects.values_list("offset_days", "channel")) == [(7, "email"), (7, "in_app")]
    assert list(Delivery.objects.values_list("channel", "target")) == [("email", org.rep1.email)]


def test_editing_a_levels_channel_does_not_send_its_notice_again(client, org, won_stage):
    today = timezone.localdate()
    make_contract(org.rep1, won_stage, amount="10000", parts=("10000",), first_due=today - datetime.timedelta(days=8))
    assert dispatch_overdue(today=today) == 1  # the 7-day level (the 1-day one passed with it)
    row = DunningLevel.objects.get(instalment__isnull=True, offset_days=7)
    client.force_login(org.admin)
    client.post(f"{URL}{row.pk}/", {"offset_days": "7", "channel": "email", "responsible": "owner"})
    assert dispatch_overdue(today=today + datetime.timedelta(days=1)) == 0


def test_an_instalments_own_levels_still_override_the_company_plan(org, won_stage):
    company_plan(Level(1), actor=org.admin)
    today = timezone.localdate()
    contract = make_contract(
        org.rep1, won_stage, amount="10000", parts=("10000",), first_due=today - datetime.timedelta(days=1)
    )
    dunning.set_levels(instalment=contract.instalments.get(), levels=[Level(5)], actor=org.rep1)
    assert dispatch_overdue(today=today) == 0
    assert dispatch_overdue(today=today + datetime.timedelta(days=4)) == 1


def test_an_instalments_two_levels_with_the_same_days_and_channel_are_refused(client, org, won_stage):
    contract = make_contract(org.rep1, won_stage, amount="10000", parts=("10000",))
    instalment = contract.instalments.get()
    client.force_login(org.rep1)
    form = {
        "levels-TOTAL_FORMS": "2",
        "levels-INITIAL_FORMS": "0",
        "levels-0-offset_days": "3",
        "levels-0-channel": "email",
        "levels-0-responsible": "owner",
        "levels-1-offset_days": "3",
        "levels-1-channel": "email",
        "levels-1-responsible": "manager",
    }
    response = client.post(f"/contracts/instalments/{instalment.pk}/dunning/", form)
    assert response.status_code == 400
    assert "Another level has these days and this channel." in response.content.decode()
    assert instalment.dunning_levels.count() == 0


def test_the_dispatch_reads_a_bounded_number_of_queries(org, won_stage, teams, django_assert_max_num_queries):
    company_plan(Level(1), Level(30, responsible="department_head"), actor=org.admin)
    today = timezone.localdate()
    for _i in range(6):
        make_contract(
            org.rep1, won_stage, amount="10000", parts=("10000",), first_due=today - datetime.timedelta(days=30)
        )
    with django_assert_max_num_queries(16):
        assert dispatch_overdue(today=today) == 12
