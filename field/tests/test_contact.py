"""打电话 and 复制微信号 from the phone: the full number is a logged reveal; the call is logged as a
follow-up through the follow-up service."""

from django.urls import reverse

from crm.models import AccessLog
from sales.models import FollowUp, Lead


def test_the_call_page_shows_the_number_as_a_tel_link_and_logs_the_reveal(client, org, customer):
    client.force_login(org.rep1)
    page = client.get(reverse("field:contact_customer", args=[customer.pk])).content.decode()
    assert f'href="tel:{customer.mobile}"' in page and 'value="zsf_wx"' in page
    log = AccessLog.objects.get()
    assert (log.action, log.user, list(log.records.values_list("object_id", flat=True))) == (
        AccessLog.Action.REVEAL,
        org.rep1,
        [customer.pk],
    )


def test_after_the_call_it_is_logged_as_a_phone_follow_up(client, org, customer):
    client.force_login(org.rep1)
    response = client.post(
        reverse("field:contact_customer", args=[customer.pk]), {"outcome": "interested", "content": "想了解春季班"}
    )
    assert response.status_code == 302 and response["Location"] == customer.get_absolute_url()
    followup = FollowUp.objects.get()
    assert (followup.channel, followup.outcome, followup.content, followup.customer) == (
        "phone",
        "interested",
        "想了解春季班",
        customer,
    )


def test_an_empty_call_log_is_refused_beside_the_content(client, org, customer):
    client.force_login(org.rep1)
    response = client.post(reverse("field:contact_customer", args=[customer.pk]), {"outcome": "talked"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"content": ["此项为必填项。"]}
    assert FollowUp.objects.count() == 0


def test_a_lead_is_called_too(client, org):
    lead = Lead.objects.create(name="赵六", mobile="13700001111", owner=org.rep1, department=org.team1)
    client.force_login(org.rep1)
    client.post(reverse("field:contact_lead", args=[lead.pk]), {"outcome": "talked", "content": "已沟通"})
    assert FollowUp.objects.get().lead == lead


def test_another_reps_customer_cannot_be_called(client, org, customer):
    client.force_login(org.rep2)
    assert client.get(reverse("field:contact_customer", args=[customer.pk])).status_code == 404
    assert AccessLog.objects.count() == 0
