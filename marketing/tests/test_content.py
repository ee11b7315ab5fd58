"""The content library, reps' tracked links from the 360 view, opt-outs by hand, settings."""

import pytest
from django.urls import reverse

from customers.models import CustomerTag, LifecycleStage
from customers.tests.factories import CustomerFactory, TagFactory
from marketing.integration import suggested_content
from marketing.models import ContentItem, MarketingSettings, OptOut, TrackingLink


@pytest.fixture
def library(org):
    math = TagFactory(name="数学")
    guide = ContentItem.objects.create(title="幼小衔接指南", url="https://example.com/a", stages=["potential"])
    video = ContentItem.objects.create(
        title="数学思维公开课", kind="video", url="https://example.com/v", stages=["developing"]
    )
    video.tags.add(math)
    ContentItem.objects.create(title="下架内容", url="https://example.com/x", stages=["potential"], active=False)
    return {"math": math, "guide": guide, "video": video}


def test_suggestions_follow_stage_and_tags(org, library):
    newcomer = CustomerFactory(owner=org.rep1, lifecycle_stage=LifecycleStage.POTENTIAL)
    assert [c.title for c in suggested_content(newcomer)] == ["幼小衔接指南"]
    learner = CustomerFactory(owner=org.rep1, lifecycle_stage=LifecycleStage.DEVELOPING)
    CustomerTag.objects.create(customer=learner, tag=library["math"])
    assert [c.title for c in suggested_content(learner)] == ["数学思维公开课"]


def test_rep_gets_a_tracked_link_and_clicks_count(client, org, library):
    customer = CustomerFactory(owner=org.rep1, lifecycle_stage=LifecycleStage.POTENTIAL)
    client.force_login(org.rep1)
    response = client.post(reverse("marketing:share", args=[library["guide"].pk, customer.pk]), follow=True)
    link = TrackingLink.objects.get()
    assert link.rep == org.rep1 and link.customer == customer
    assert link.get_absolute_url() in response.content.decode()
    client.post(reverse("marketing:share", args=[library["guide"].pk, customer.pk]))
    assert TrackingLink.objects.count() == 1  # the same link again
    visitor = client.__class__()
    assert visitor.get(link.get_absolute_url()).url == "https://example.com/a"
    link.refresh_from_db()
    assert link.clicks == 1 and ContentItem.objects.get(pk=library["guide"].pk).clicks == 1
    assert visitor.get("/r/" + link.code[:-1] + "0").status_code == 404


def test_rep_cannot_share_to_anothers_customer(client, org, library):
    theirs = CustomerFactory(owner=org.rep3)
    client.force_login(org.rep1)
    assert client.post(reverse("marketing:share", args=[library["guide"].pk, theirs.pk])).status_code == 404
    assert (
        client.post(reverse("marketing:opt", args=[theirs.pk]), {"channel": "sms", "state": "out"}).status_code == 404
    )
    assert not OptOut.objects.exists()


def test_opt_out_and_back_in_by_hand(client, org):
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    client.post(reverse("marketing:opt", args=[customer.pk]), {"channel": "sms", "state": "out"})
    assert OptOut.objects.filter(customer=customer, channel="sms").exists()
    client.post(reverse("marketing:opt", args=[customer.pk]), {"channel": "sms", "state": "in"})
    assert not OptOut.objects.exists()


def test_360_view_shows_the_marketing_panel(client, org, library):
    customer = CustomerFactory(owner=org.rep1, lifecycle_stage=LifecycleStage.POTENTIAL)
    OptOut.objects.create(customer=customer, channel="email")
    client.force_login(org.rep1)
    body = client.get(customer.get_absolute_url()).content.decode()
    assert "幼小衔接指南" in body
    assert reverse("marketing:opt", args=[customer.pk]) in body


def test_library_pages(client, org, library, django_assert_max_num_queries):
    client.force_login(org.marketing)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("marketing:content_list"))
    assert "数学思维公开课" in page.content.decode()
    assert "幼小衔接指南" not in client.get(reverse("marketing:content_list") + "?kind=video").content.decode()
    with django_assert_max_num_queries(12):
        detail = client.get(library["video"].get_absolute_url())
    assert "/r/" in detail.content.decode()
    response = client.post(
        reverse("marketing:content_create"),
        {
            "title": "新海报",
            "kind": "poster",
            "url": "https://example.com/p",
            "summary": "",
            "stages": ["stable"],
            "tags": [library["math"].pk],
            "active": "on",
        },
    )
    assert response.status_code == 302 and ContentItem.objects.filter(title="新海报").exists()
    bad = client.post(reverse("marketing:content_create"), {"title": "", "kind": "poster", "url": "not a url"})
    assert bad.status_code == 200 and bad.content.decode().count("invalid-feedback") >= 2


def test_settings_page(client, org):
    client.force_login(org.marketing)
    response = client.post(
        reverse("marketing:settings"), {"push_cap": "2", "push_window_days": "14", "attribution_days": "15"}
    )
    assert response.status_code == 302
    settings = MarketingSettings.current()
    assert (settings.push_cap, settings.push_window_days, settings.attribution_days) == (2, 14, 15)
    client.force_login(org.manager1)
    assert client.get(reverse("marketing:settings")).status_code == 403
