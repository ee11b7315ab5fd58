"""The access matrix of field work (打卡, 外勤签到) and the phone pages: for every role, a GET is 200
for the roles ``crm.permissions.ACTIONS`` allows and 403 for the others; a refused POST changes
nothing; a record outside the user's scope is 404."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from crm import permissions
from crm.models import Role
from crm.tests.factories import UserFactory
from customers.tests.factories import CustomerFactory
from field.models import ClockIn, Visit, WeChatIdentity, WeComAccount, WeComEvent, WorkHours, WorkSite
from sales.models import FollowUp, Lead

ROLES = [Role.REP, Role.MANAGER, Role.DIRECTOR, Role.MARKETING, Role.ADMIN]


def _things(org, user):
    customer = CustomerFactory(name="矩阵客户", owner=user, wechat_id="wx_matrix")
    lead = Lead.objects.create(name="矩阵线索", mobile="13700002222", owner=user, department=user.department)
    site = WorkSite.objects.create(
        department=org.sales1, name="办公室", latitude=Decimal("31.1"), longitude=Decimal("121.4")
    )
    hours = WorkHours.objects.create(department=org.sales1)
    visit = Visit.objects.create(user=user, department=user.department, customer=customer)
    return {"customer": customer, "lead": lead, "site": site, "hours": hours, "visit": visit}


#: (name, url of the things, ACTIONS entry or None for every logged-in user, whether to try a POST)
PAGES = [
    ("me", lambda t: reverse("field:me"), None, False),
    ("today", lambda t: reverse("field:today"), "sales.view", False),
    ("clock", lambda t: reverse("field:clock"), "field.use", False),
    ("clock_submit", lambda t: reverse("field:clock_submit"), "field.use", "only"),
    ("attendance", lambda t: reverse("field:attendance"), "field.team", False),
    ("attendance_xlsx", lambda t: reverse("field:attendance") + "?export=xlsx", "field.team", False),
    ("visit_pick", lambda t: reverse("field:visit_new"), "field.use", False),
    ("visit_new", lambda t: reverse("field:visit_new") + f"?customer={t['customer'].pk}", "field.use", True),
    ("visit", lambda t: reverse("field:visit", args=[t["visit"].pk]), "field.use", False),
    ("visit_checkout", lambda t: reverse("field:visit_checkout", args=[t["visit"].pk]), "field.use", "only"),
    ("team_visits", lambda t: reverse("field:team_visits"), "field.team", False),
    ("contact_customer", lambda t: reverse("field:contact_customer", args=[t["customer"].pk]), "sales.change", True),
    ("contact_lead", lambda t: reverse("field:contact_lead", args=[t["lead"].pk]), "sales.change", True),
    ("settings", lambda t: reverse("field:settings"), "field.configure", False),
    ("site_new", lambda t: reverse("field:site_create"), "field.configure", True),
    ("site_edit", lambda t: reverse("field:site_edit", args=[t["site"].pk]), "field.configure", True),
    ("hours_new", lambda t: reverse("field:hours_create"), "field.configure", True),
    ("hours_edit", lambda t: reverse("field:hours_edit", args=[t["hours"].pk]), "field.configure", True),
    (
        "wecom_sidebar",
        lambda t: reverse("field:wecom_sidebar") + "?external_userid=wmMATRIX&q=矩阵",
        "field.use",
        False,
    ),
    ("wecom_bind", lambda t: reverse("field:wecom_bind"), "field.use", "only"),
    ("wecom_create", lambda t: reverse("field:wecom_create"), "field.use", "only"),
    ("wecom_accounts", lambda t: reverse("field:wecom_accounts") + "?q=field", "field.configure", True),
]


def state():
    return (
        list(ClockIn.objects.values_list("pk", "kind").order_by("pk")),
        list(Visit.objects.values_list("pk", "ended_at", "notes").order_by("pk")),
        list(WorkSite.objects.values_list("pk", "name", "radius_m").order_by("pk")),
        list(WorkHours.objects.values_list("pk", "start", "end").order_by("pk")),
        FollowUp.objects.count(),
        WeChatIdentity.objects.count(),
        WeComEvent.objects.count(),
        list(WeComAccount.objects.values_list("user_id", "userid").order_by("pk")),
    )


@pytest.mark.parametrize("role", ROLES)
def test_every_field_page_answers_as_the_role_allows(org, role):
    user = UserFactory(username=f"field-{role}", role=role, department=org.sales1)
    things = _things(org, user)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    failures = []
    for name, url_of, action, post in PAGES:
        url = url_of(things)
        ok = action is None or role in permissions.ACTIONS[action]
        if post != "only":
            status = client.get(url).status_code
            if status != (200 if ok else 403):
                failures.append(f"GET {name} {url}: {status}, expected {200 if ok else 403}")
        if post and not ok:
            before = state()
            status = client.post(
                url,
                {
                    "kind": "start",
                    "name": "changed",
                    "department": org.sales1.pk,
                    "latitude": "31.1",
                    "longitude": "121.4",
                    "radius_m": "100",
                    "start": "08:00",
                    "end": "17:00",
                    "grace_minutes": "0",
                    "outcome": "talked",
                    "content": "changed",
                    "notes": "changed",
                    "customer": things["customer"].pk,
                    "external_userid": "wmMATRIX",
                    "user": user.pk,
                    "userid": "matrix_wx",
                },
            ).status_code
            if status != 403:
                failures.append(f"POST {name} {url}: {status}, expected 403")
            if state() != before:
                failures.append(f"POST {name} {url}: FORBIDDEN WRITE")
    assert failures == []


def test_a_rep_opens_no_visit_photo_or_contact_of_another_rep(client, org):
    theirs = _things(org, org.rep2)
    client.force_login(org.rep1)
    for url in (
        reverse("field:visit", args=[theirs["visit"].pk]),
        reverse("field:visit_photo", args=[theirs["visit"].pk]),
        reverse("field:contact_customer", args=[theirs["customer"].pk]),
        reverse("field:contact_lead", args=[theirs["lead"].pk]),
        reverse("field:visit_new") + f"?customer={theirs['customer'].pk}",
    ):
        assert client.get(url).status_code == 404, url
    response = client.post(reverse("field:visit_checkout", args=[theirs["visit"].pk]))
    assert response.status_code == 404
    assert Visit.objects.get(pk=theirs["visit"].pk).ended_at is None


def test_a_rep_sees_only_his_own_clock_ins_and_the_manager_his_teams(org):
    from field.selectors import clock_ins_for

    now = datetime.datetime(2026, 12, 7, 1, 0, tzinfo=datetime.UTC)
    for user in (org.rep1, org.rep2, org.rep3):
        ClockIn.objects.create(user=user, department=user.department, kind="start", day=now.date(), at=now)

    def names(user):
        return sorted(clock_ins_for(user).values_list("user__username", flat=True))

    assert names(org.rep1) == ["rep1"]
    assert names(org.manager1) == ["rep1", "rep2"]
    assert names(org.manager2) == ["rep3"]


def test_wecom_entry_points_for_visitors(client, org):
    """Unconfigured, sign-in through WeCom does not exist; the callback refuses what is not signed;
    the sidebar wants a signed-in user."""
    assert client.get(reverse("field:wecom_start")).status_code == 404
    assert client.get(reverse("field:wecom_oauth") + "?code=x&state=y").status_code == 404
    response = client.post(
        reverse("field:wecom_callback") + "?msg_signature=x&timestamp=1&nonce=1",
        "<xml><Encrypt>abc</Encrypt></xml>",
        content_type="text/xml",
    )
    assert response.status_code == 403 and WeComEvent.objects.count() == 0
    response = client.get(reverse("field:wecom_sidebar"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_sidebar_opens_no_customer_of_another_rep(client, org):
    theirs = _things(org, org.rep2)
    WeChatIdentity.objects.create(customer=theirs["customer"], kind="wecom_external", issuer="", value="wmTHEIRS")
    client.force_login(org.rep1)
    response = client.get(reverse("field:wecom_sidebar") + "?external_userid=wmTHEIRS")
    assert response.status_code == 200 and 'data-testid="wecom-bound-elsewhere"' in response.content.decode()
    assert "矩阵客户" not in response.content.decode()
