"""Lead sources (来源渠道) are rows admins define: the API lists the active ones and accepts any
active code, forms, imports, scoring and assignment rules, segments and lists use them by name."""

import json

import pytest

from crm import services as crm_services
from customers.models import Customer, LeadSource
from marketing.services import segments
from sales import services
from sales.models import AssignmentRule, Lead, ScoringRule
from sales.tests.factories import LeadFactory


@pytest.fixture
def leads_api(db):
    api = crm_services.create_api_client(name="form")
    _, raw = crm_services.issue_token(client=api, scopes=["leads"])
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post_lead(client, headers, **body):
    data = {"name": "陈女士", "mobile": "13912340000", **body}
    return client.post("/api/v1/leads", json.dumps(data), content_type="application/json", **headers)


def test_the_nine_codes_and_web_are_seeded_with_names_and_groups(db):
    seeded = dict(LeadSource.objects.values_list("code", "name"))
    assert {code: seeded[code] for code in Customer.Source.values} == {
        "website": "官网",
        "wechat_oa": "微信公众号",
        "live": "直播",
        "event": "活动/会议",
        "referral": "转介绍",
        "visit": "陌生拜访",
        "store": "门店到访",
        "api": "系统对接",
        "other": "其他",
    }
    assert LeadSource.objects.get(code="web").group == "线上"


def test_a_client_sending_web_gets_its_lead_recorded(client, org, leads_api):
    response = post_lead(client, leads_api, source="web")
    assert response.status_code == 201
    assert Lead.objects.get(pk=response.json()["id"]).source == "web"


def test_the_api_lists_the_active_sources(client, org, leads_api):
    LeadSource.objects.create(code="douyin", name="抖音", group="线上", position=1)
    LeadSource.objects.filter(code="visit").update(is_active=False)
    response = client.get("/api/v1/lead-sources", **leads_api)
    assert response.status_code == 200
    body = response.json()
    assert body[0] == {"code": "douyin", "name": "抖音", "group": "线上"}
    assert [s["code"] for s in body] == list(
        LeadSource.objects.filter(is_active=True).order_by("position", "code").values_list("code", flat=True)
    )
    assert "visit" not in [s["code"] for s in body]


def test_an_unknown_or_inactive_source_is_422_on_source_only(client, org, leads_api):
    LeadSource.objects.filter(code="visit").update(is_active=False)
    for code in ("visit", "nowhere"):
        response = post_lead(client, leads_api, source=code)
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "invalid"
        assert list(error["fields"]) == ["source"]
    assert Lead.objects.count() == 0


def test_an_admin_defines_a_source_and_every_form_offers_it(client, org):
    client.force_login(org.admin)
    response = client.post(
        "/customers/sources/new/", {"code": "douyin", "name": "抖音", "group": "线上", "is_active": "on", "position": 5}
    )
    assert response.status_code == 302
    assert client.get("/customers/sources/").content.decode().count("抖音") == 1
    assert '<option value="douyin">抖音</option>' in client.get("/sales/leads/new/").content.decode()
    assert '<option value="douyin">抖音</option>' in client.get("/customers/new/").content.decode()
    assert '<option value="douyin">抖音</option>' in client.get("/sales/rules/assignment/new/").content.decode()
    lead = services.capture_lead(name="王", mobile="13900000003", source="douyin", assign=False)
    client.force_login(org.admin)
    assert "抖音" in client.get(f"/sales/leads/{lead.pk}/").content.decode()


def test_a_source_code_cannot_change_once_saved(client, org):
    source = LeadSource.objects.get(code="web")
    client.force_login(org.admin)
    client.post(
        f"/customers/sources/{source.pk}/edit/",
        {"code": "web2", "name": "网页", "group": "线上", "is_active": "on", "position": 1},
    )
    source.refresh_from_db()
    assert (source.code, source.name) == ("web", "网页")


def test_only_configurers_manage_sources(client, org):
    for user, status in ((org.admin, 200), (org.marketing, 200), (org.manager1, 403), (org.rep1, 403)):
        client.force_login(user)
        assert client.get("/customers/sources/").status_code == status
        assert client.get("/customers/sources/new/").status_code == status
    client.force_login(org.rep1)
    assert client.post("/customers/sources/new/", {"code": "x", "name": "x"}).status_code == 403
    assert not LeadSource.objects.filter(code="x").exists()


def test_scoring_reads_the_source_by_its_name(client, org):
    ScoringRule.objects.create(criterion="source", value="event", points=25)
    client.force_login(org.admin)
    page = client.get("/sales/rules/").content.decode()
    assert "<td>活动/会议</td>" in page
    assert "<td>event</td>" not in page
    LeadSource.objects.create(code="douyin", name="抖音")
    response = client.post(
        "/sales/rules/scoring/new/", {"criterion": "source", "value": "douyin", "points": 15, "is_active": "on"}
    )
    assert response.status_code == 302
    lead = services.capture_lead(name="王", mobile="13900000003", source="douyin", assign=False)
    assert lead.score == 15


def test_assignment_by_an_admin_defined_source(org):
    LeadSource.objects.create(code="douyin", name="抖音")
    AssignmentRule.objects.create(position=1, source="douyin", user=org.rep3)
    lead = services.capture_lead(name="王", mobile="13900000003", source="douyin")
    assert lead.owner == org.rep3


def test_a_segment_by_an_admin_defined_source(org):
    LeadSource.objects.create(code="douyin", name="抖音")
    LeadFactory(name="抖音来的", source="douyin", owner=org.rep1)
    LeadFactory(name="官网来的", source="website", owner=org.rep1)
    definition = segments.clean_definition(
        "leads",
        {
            "match": "all",
            "groups": [{"match": "all", "conditions": [{"field": "source", "op": "in", "value": ["douyin"]}]}],
        },
    )
    assert list(
        segments.members(org.marketing, subject="leads", definition=definition).values_list("name", flat=True)
    ) == ["抖音来的"]
    assert segments.describe("leads", definition) == "(来源渠道 属于 抖音)"


def test_the_lead_list_shows_source_names(client, org):
    LeadFactory(name="甲", source="event", owner=org.rep1)
    client.force_login(org.rep1)
    page = client.get("/sales/leads/").content.decode()
    assert "活动/会议" in page


def test_an_import_reads_an_admin_defined_source_by_name_or_code(client, org, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from sales.models import LeadImportJob

    LeadSource.objects.create(code="douyin", name="抖音")
    client.force_login(org.manager1)
    data = "姓名,手机,来源\n甲,13900000001,抖音\n乙,13900000002,douyin\n".encode()
    response = client.post("/sales/leads/import/", {"file": SimpleUploadedFile("leads.csv", data)})
    job = LeadImportJob.objects.get(pk=response.url.rstrip("/").rsplit("/", 1)[1])
    assert job.errors == []
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/sales/leads/import/{job.pk}/commit/")
    assert sorted(Lead.objects.values_list("name", "source")) == [("乙", "douyin"), ("甲", "douyin")]


def test_the_source_names_are_read_once_and_then_from_the_cache(client, org):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    LeadFactory.create_batch(3, owner=org.rep1)
    client.force_login(org.manager1)
    for url, reads in (("/sales/leads/", 1), ("/customers/", 0), ("/customers/dashboard/", 0)):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert sum('"customers_leadsource"' in q["sql"] for q in queries.captured_queries) == reads, url


def test_reading_the_sources_never_writes_and_a_saved_source_is_seen_at_once(client, org):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from customers.services.sources import source_choices

    with CaptureQueriesContext(connection) as queries:
        assert ("referral", "转介绍") in source_choices()
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["SELECT"]
    client.force_login(org.admin)
    assert (
        client.post(
            "/customers/sources/new/",
            {"code": "douyin", "name": "抖音", "group": "线上", "is_active": "on", "position": 5},
        ).status_code
        == 302
    )
    assert ("douyin", "抖音") in source_choices()


@pytest.mark.django_db(transaction=True)
def test_a_flushed_database_gets_the_default_sources_again():
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    assert LeadSource.objects.filter(code="referral").values_list("name", flat=True).get() == "转介绍"
    assert LeadSource.objects.count() == 11


def test_a_source_saved_after_a_list_was_shown_is_offered_on_the_next_list(client, org):
    client.force_login(org.admin)
    assert "抖音" not in client.get("/sales/leads/").content.decode()
    client.post(
        "/customers/sources/new/", {"code": "douyin", "name": "抖音", "group": "线上", "is_active": "on", "position": 5}
    )
    assert '<option value="douyin">抖音</option>' in client.get("/sales/leads/").content.decode()
