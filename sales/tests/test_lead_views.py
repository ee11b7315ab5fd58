import csv
import io
import re

import pytest
from django.conf import settings

from customers.models import Customer
from customers.tests.factories import CustomerFactory, TagFactory
from sales import services
from sales.models import FollowUp, Lead, Opportunity, PoolMove, ScoringRule
from sales.tests.factories import LeadFactory

URL = "/sales/leads/"


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def mine_and_theirs(org):
    return LeadFactory(owner=org.rep1, name="我的线索"), LeadFactory(owner=org.rep3, name="别人的线索")


@pytest.fixture
def scoring(db):
    ScoringRule.objects.create(criterion="source", value="referral", points=40)
    ScoringRule.objects.create(criterion="has_need", points=20)
    ScoringRule.objects.create(criterion="has_mobile", points=10)


def lead_data(**extra):
    return {
        "name": "陈女士",
        "mobile": "13912340000",
        "source": "website",
        "region": "",
        "email": "",
        "need": "",
        "note": "",
        **extra,
    }


def test_rep_inbox_shows_only_their_leads(client, org, mine_and_theirs):
    client.force_login(org.rep1)
    page = client.get(URL).content.decode()
    assert "我的线索" in page and "别人的线索" not in page


def test_manager_inbox_shows_the_department_and_below(client, org, mine_and_theirs):
    LeadFactory(owner=org.rep2, name="二号的线索")
    client.force_login(org.manager1)
    page = client.get(URL).content.decode()
    assert "我的线索" in page and "二号的线索" in page and "别人的线索" not in page


def test_inbox_shows_open_leads_unless_asked_for_all(client, org):
    LeadFactory(owner=org.rep1, name="新线索")
    LeadFactory(owner=org.rep1, name="已转化线索", status=Lead.Status.CONVERTED)
    client.force_login(org.rep1)
    page = client.get(URL).content.decode()
    assert "新线索" in page and "已转化线索" not in page
    page = client.get(URL, {"status": "all"}).content.decode()
    assert "新线索" in page and "已转化线索" in page
    page = client.get(URL, {"status": "converted"}).content.decode()
    assert "新线索" not in page and "已转化线索" in page


def test_inbox_filters_by_grade_source_and_mine(client, org):
    LeadFactory(owner=org.rep1, name="甲线索", grade="A", source="referral")
    LeadFactory(owner=org.rep2, name="乙线索", grade="C", source="website", mobile="13811112222")
    client.force_login(org.manager1)
    page = client.get(URL, {"grade": "A"}).content.decode()
    assert "甲线索" in page and "乙线索" not in page
    page = client.get(URL, {"source": "website"}).content.decode()
    assert "甲线索" not in page and "乙线索" in page
    page = client.get(URL, {"q": "1111"}).content.decode()
    assert "甲线索" not in page and "乙线索" in page
    LeadFactory(owner=org.manager1, name="经理自己的")
    page = client.get(URL, {"mine": "1"}).content.decode()
    assert "经理自己的" in page and "甲线索" not in page


def test_marketing_may_not_open_the_inbox(client, org):
    client.force_login(org.marketing)
    assert client.get(URL).status_code == 403


def test_rep_gets_404_for_another_reps_lead_on_get_and_post(client, org, mine_and_theirs):
    theirs = mine_and_theirs[1]
    client.force_login(org.rep1)
    assert client.get(f"{URL}{theirs.pk}/").status_code == 404
    assert client.get(f"{URL}{theirs.pk}/edit/").status_code == 404
    assert client.post(f"{URL}{theirs.pk}/edit/", lead_data(name="hacked")).status_code == 404
    assert client.post(f"{URL}{theirs.pk}/convert/", {"opportunity_name": "x"}).status_code == 404
    assert client.post(f"{URL}{theirs.pk}/release/").status_code == 404
    assert client.post(f"/sales/pool/leads/{theirs.pk}/claim/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "别人的线索" and theirs.owner == org.rep3 and theirs.status == "assigned"
    client.force_login(org.manager1)  # outside manager1's department: 404 on the assign action too
    assert client.post(f"{URL}{theirs.pk}/assign/", {"owner": org.rep1.pk}).status_code == 404


def test_rep_may_not_assign_from_the_lead_page(client, org, mine_and_theirs):
    client.force_login(org.rep1)
    assert client.post(f"{URL}{mine_and_theirs[0].pk}/assign/", {"owner": org.rep1.pk}).status_code == 403


def test_create_form_normalizes_the_mobile_and_gives_the_lead_to_the_rep(client, org, scoring):
    client.force_login(org.rep1)
    response = client.post(f"{URL}new/", lead_data(mobile="+86 139-1234-0000", source="referral", need="数学"))
    lead = Lead.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{URL}{lead.pk}/"
    assert lead.mobile == "13912340000" and lead.owner == org.rep1 and lead.score == 70 and lead.grade == "A"
    page = client.get(response["Location"]).content.decode()
    assert "Score 70, grade A" in page


def test_create_form_refuses_a_bad_mobile_and_keeps_the_input(client, org):
    client.force_login(org.rep1)
    response = client.post(f"{URL}new/", lead_data(mobile="12345"))
    assert response.status_code == 200 and not Lead.objects.exists()
    page = response.content.decode()
    assert "valid China mobile number" in page and "陈女士" in page


def test_create_form_warns_about_an_open_lead_with_the_same_mobile(client, org):
    existing = LeadFactory(owner=org.rep1, name="老线索", mobile="13912340000")
    client.force_login(org.rep1)
    response = client.post(f"{URL}new/", lead_data(mobile="139 1234 0000"))
    page = response.content.decode()
    assert response.status_code == 200 and Lead.objects.count() == 1
    assert 'data-testid="duplicate-warning"' in page and f'href="{URL}{existing.pk}/"' in page
    response = client.post(f"{URL}new/", lead_data(mobile="139 1234 0000", confirm_duplicate="1"))
    duplicate = Lead.objects.exclude(pk=existing.pk).get()
    assert duplicate.status == "duplicate" and duplicate.duplicate_of == existing and duplicate.owner is None
    assert response.status_code == 302


def test_create_form_warns_about_a_customer_with_the_same_mobile(client, org):
    customer = CustomerFactory(owner=org.rep1, name="老客户", mobile="13912340000")
    client.force_login(org.rep1)
    page = client.post(f"{URL}new/", lead_data()).content.decode()
    assert 'data-testid="duplicate-warning"' in page and f'href="/customers/{customer.pk}/"' in page
    assert not Lead.objects.exists()


def test_duplicate_warning_without_a_link_when_the_record_is_someone_elses(client, org):
    LeadFactory(owner=org.rep3, name="别人的老线索", mobile="13912340000")
    client.force_login(org.rep1)
    page = client.post(f"{URL}new/", lead_data()).content.decode()
    assert 'data-testid="duplicate-warning"' in page and "别人的老线索" not in page
    assert "An open lead of another team (销售二部) has this mobile. Ask an administrator." in page
    assert "Open the existing lead" not in page


def test_edit_form_rescores_and_shows_the_new_grade(client, org, scoring):
    lead = LeadFactory(owner=org.rep1, source="website", mobile="13900000009")
    client.force_login(org.rep1)
    response = client.post(
        f"{URL}{lead.pk}/edit/",
        lead_data(
            name=lead.name,
            mobile=lead.mobile,
            source="referral",
            need="想报英语",
            visits=2,
            events_attended=0,
            status="contacted",
        ),
        follow=True,
    )
    lead.refresh_from_db()
    assert lead.score == 70 and lead.grade == "A" and lead.status == "contacted" and lead.need == "想报英语"
    page = response.content.decode()
    assert "Score 70, grade A" in page and re.search(r'data-testid="grade"[^>]*>A<', page)


def test_lead_page_explains_the_score_and_lists_moves_and_followups(client, org, scoring):
    lead = services.capture_lead(name="王", mobile="13900000003", source="referral", owner=org.rep1, assign=False)
    services.record_followup(actor=org.rep1, lead=lead, content="第一次电话")
    client.force_login(org.rep1)
    page = client.get(f"{URL}{lead.pk}/").content.decode()
    assert "Source is 转介绍" in page and "+40" in page and "Has a mobile number" in page
    assert "States a need" not in page  # the rule did not contribute
    assert "第一次电话" in page
    assert 'data-testid="moves"' in page and "Assigned" in page


def test_manager_bulk_assign_moves_the_leads_and_records_it(client, org):
    leads = LeadFactory.create_batch(2, owner=org.rep1)
    client.force_login(org.manager1)
    response = client.post(
        URL, {"bulk_action": "assign", "selection": [lead.pk for lead in leads], "owner": org.rep2.pk}, follow=True
    )
    assert "2 leads assigned" in response.content.decode()
    assert set(Lead.objects.values_list("owner", flat=True)) == {org.rep2.pk}
    assert PoolMove.objects.filter(reason=PoolMove.Reason.REASSIGNED, to_owner=org.rep2, by=org.manager1).count() == 2


def test_bulk_assign_leaves_leads_outside_the_scope_alone(client, org, mine_and_theirs):
    theirs = mine_and_theirs[1]
    client.force_login(org.manager1)
    client.post(URL, {"bulk_action": "assign", "selection": [theirs.pk], "owner": org.rep2.pk})
    theirs.refresh_from_db()
    assert theirs.owner == org.rep3


def test_rep_may_not_bulk_assign(client, org, mine_and_theirs):
    client.force_login(org.rep1)
    response = client.post(URL, {"bulk_action": "assign", "selection": [mine_and_theirs[0].pk], "owner": org.rep1.pk})
    assert response.status_code == 403
    assert "data-bulk=" not in client.get(URL).content.decode()


def test_manager_assigns_from_the_lead_page(client, org):
    lead = LeadFactory(owner=None, department=org.sales1)
    client.force_login(org.manager1)
    response = client.post(f"{URL}{lead.pk}/assign/", {"owner": org.rep2.pk})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner == org.rep2 and lead.moves.get().reason == PoolMove.Reason.ASSIGNED


def test_export_contains_only_the_reps_leads(client, org, mine_and_theirs):
    client.force_login(org.rep1)
    response = client.get(URL, {"export": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    names = [row[0] for row in rows[1:]]
    assert names == ["我的线索"]
    response = client.get(URL, {"export": "xlsx"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")


def test_convert_from_the_browser_carries_followups_and_tags_and_lands_on_the_customer(client, org):
    tag = TagFactory(name="高意向")
    lead = services.capture_lead(name="刘", mobile="13900000004", source="website", owner=org.rep1, assign=False)
    lead.tags.add(tag)
    services.record_followup(actor=org.rep1, lead=lead, content="电话沟通")
    client.force_login(org.rep1)
    response = client.post(
        f"{URL}{lead.pk}/convert/", {"opportunity_name": "刘同学 数学课", "opportunity_amount": "12000.00"}
    )
    lead.refresh_from_db()
    customer = lead.customer
    assert lead.status == "converted" and customer is not None
    assert response.status_code == 302 and response["Location"] == f"/customers/{customer.pk}/"
    assert customer.tags.filter(pk=tag.pk).exists() and FollowUp.objects.get().customer == customer
    opportunity = Opportunity.objects.get()
    assert opportunity.customer == customer and str(opportunity.amount) == "12000.00"
    page = client.get(f"{URL}{lead.pk}/").content.decode()
    assert 'data-testid="converted"' in page and f'href="/customers/{customer.pk}/"' in page
    response = client.post(f"{URL}{lead.pk}/convert/", {}, follow=True)
    assert "converted already" in response.content.decode()
    assert Customer.objects.count() == 1


def test_convert_form_errors_show_on_the_lead_page(client, org):
    lead = LeadFactory(owner=org.rep1)
    client.force_login(org.rep1)
    response = client.post(f"{URL}{lead.pk}/convert/", {"opportunity_amount": "100"})
    assert response.status_code == 422 and "Name the opportunity" in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == "assigned" and lead.customer is None


def test_owner_releases_a_lead_to_the_pool(client, org):
    lead = LeadFactory(owner=org.rep1)
    client.force_login(org.rep1)
    response = client.post(f"{URL}{lead.pk}/release/")
    assert response.status_code == 302 and response["Location"] == URL
    lead.refresh_from_db()
    assert lead.owner is None and lead.moves.get().reason == PoolMove.Reason.RELEASED


def test_manager_cannot_release_a_reps_lead(client, org):
    lead = LeadFactory(owner=org.rep1)
    client.force_login(org.manager1)
    response = client.post(f"{URL}{lead.pk}/release/", follow=True)
    assert "Only the owner can release this lead." in response.content.decode()
    lead.refresh_from_db()
    assert lead.owner == org.rep1


@pytest.mark.parametrize("rows", [5, 100])
def test_inbox_runs_a_bounded_number_of_queries(client, org, rows, django_assert_max_num_queries):
    LeadFactory.create_batch(rows // 2, owner=org.rep1)
    LeadFactory.create_batch(rows - rows // 2, owner=org.rep2)
    client.force_login(org.manager1)
    with django_assert_max_num_queries(12):  # lead source names from the cache, the account line in the badges
        response = client.get(URL, {"per_page": 100})
    assert response.status_code == 200


@pytest.mark.parametrize("rows", [5, 100])
def test_lead_page_runs_a_bounded_number_of_queries(client, org, scoring, rows, django_assert_max_num_queries):
    lead = services.capture_lead(name="王", mobile="13900000003", source="referral", owner=org.rep1, assign=False)
    for n in range(rows):
        services.record_followup(actor=org.rep1, lead=lead, content=f"跟进{n}")
    for n in range(rows // 5):
        services.update_lead(lead=lead, actor=org.rep1, region=f"区域{n}")
    client.force_login(org.rep1)
    with django_assert_max_num_queries(22):
        response = client.get(f"{URL}{lead.pk}/")
    assert response.status_code == 200


def test_manager_creates_a_lead_for_a_rep(client, org):
    client.force_login(org.manager1)
    response = client.post(f"{URL}new/", lead_data(owner=org.rep2.pk))
    lead = Lead.objects.get()
    assert response.status_code == 302 and lead.owner == org.rep2
    assert lead.moves.get().by == org.manager1


def test_confirmed_lead_of_someone_elses_customer_goes_to_that_owner(client, org):
    customer = CustomerFactory(owner=org.rep3, name="别人的客户", mobile="13912340000")
    client.force_login(org.rep1)
    response = client.post(f"{URL}new/", lead_data(confirm_duplicate="1"), follow=True)
    lead = Lead.objects.get()
    assert lead.existing_customer == customer and lead.owner == org.rep3
    assert response.redirect_chain[-1][0] == URL and str(org.rep3) in response.content.decode()


def test_edit_form_warns_when_the_new_mobile_is_taken(client, org):
    LeadFactory(owner=org.rep1, name="另一个线索", mobile="13912345678")
    lead = LeadFactory(owner=org.rep1, mobile="13900000001")
    client.force_login(org.rep1)
    data = lead_data(name=lead.name, mobile="13912345678", visits=0, events_attended=0, status="assigned")
    page = client.post(f"{URL}{lead.pk}/edit/", data).content.decode()
    assert 'data-testid="duplicate-warning"' in page and "另一个线索" in page
    lead.refresh_from_db()
    assert lead.mobile == "13900000001"
    assert client.post(f"{URL}{lead.pk}/edit/", {**data, "confirm_duplicate": "1"}).status_code == 302
    lead.refresh_from_db()
    assert lead.mobile == "13912345678"


def test_the_score_breakdown_names_the_source_not_its_code(client, org):
    ScoringRule.objects.create(criterion="source", value="event", points=25)
    lead = LeadFactory(owner=org.rep1, source="event")
    client.force_login(org.rep1)
    page = client.get(lead.get_absolute_url()).content.decode()  # in English (the fixture): names are data
    assert re.search(r"<span>Source is 活动/会议</span><span class=\"fw-semibold\">\+25</span>", page)
    assert "Source is event" not in page
