"""The phone's shell: the bottom tab bar, lists as cards, the record's phone actions, the manifest."""

import json

from django.contrib.staticfiles import finders
from django.urls import reverse

from customers.tests.factories import CustomerFactory


def test_the_tab_bar_has_five_labelled_tabs_for_a_rep(client, org):
    client.force_login(org.rep1)
    page = client.get(reverse("customers:list")).content.decode()
    bar = page[page.index('data-testid="tabbar"') :]
    bar = bar[: bar.index("</nav>")]
    labels = [part.split("</span>")[0] for part in bar.split("<span>")[1:]]
    assert labels == ["工作台", "客户", "线索", "商机", "我的"]
    assert bar.count('aria-current="page"') == 1 and 'data-tab="customers:list"' in bar


def test_marketing_sees_only_the_tabs_it_may_use(client, org):
    client.force_login(org.marketing)
    page = client.get(reverse("home")).content.decode()
    assert 'data-tab="sales:leads"' not in page and 'data-tab="customers:list"' in page


def test_lists_show_a_card_per_row_on_phones(client, org):
    for index in range(3):
        CustomerFactory(name=f"卡片客户{index}", owner=org.rep1)
    client.force_login(org.rep1)
    page = client.get(reverse("customers:list")).content.decode()
    assert page.count('data-testid="record-card"') == 3
    assert 'class="card d-none d-sm-block"' in page  # the table stays above 576 px


def test_a_customer_page_has_the_phone_actions(client, org, customer):
    client.force_login(org.rep1)
    page = client.get(customer.get_absolute_url()).content.decode()
    for testid in ("write-followup", "phone-call", "phone-wechat", "phone-navigate", "phone-check-in"):
        assert f'data-testid="{testid}"' in page
    assert "https://uri.amap.com/marker?position=121.405300,31.176800" in page


def test_without_a_map_provider_there_is_no_navigate_link(client, org, customer, settings):
    settings.MAP_PROVIDER = "none"
    client.force_login(org.rep1)
    assert 'data-testid="phone-navigate"' not in client.get(customer.get_absolute_url()).content.decode()


def test_the_web_app_manifest_names_the_icons_that_exist(client):
    manifest = json.loads(open(finders.find("manifest.webmanifest"), encoding="utf-8").read())
    assert (manifest["display"], manifest["start_url"]) == ("standalone", "/")
    assert [finders.find(icon["src"]) is not None for icon in manifest["icons"]] == [True, True, True, True]


def test_my_page_lists_what_the_tab_bar_has_no_room_for(client, org):
    client.force_login(org.manager1)
    page = client.get(reverse("field:me")).content.decode()
    for testid in ("me-today", "me-approvals", "me-team-visits", "me-clock-link"):
        assert f'data-testid="{testid}"' in page


def test_today_shows_the_reminders_due_with_thumb_actions(client, org, customer, django_assert_max_num_queries):
    import datetime

    from django.utils import timezone

    from sales.services.reminders import create_reminder

    create_reminder(
        owner=org.rep1, title="回访张三丰", due_at=timezone.now() + datetime.timedelta(minutes=30), customer=customer
    )
    client.force_login(org.rep1)
    with django_assert_max_num_queries(14):
        page = client.get(reverse("field:today")).content.decode()
    assert "回访张三丰" in page
    assert page.count('data-testid="today-reminders"') == 1 and "/snooze/" in page and "/reschedule/" in page


def test_an_opportunity_card_shows_the_customer_stage_and_amount_with_separators(client, org, customer):
    from decimal import Decimal

    from sales.services.opportunities import open_opportunity

    open_opportunity(actor=org.rep1, customer=customer, name="数学提高班", amount=Decimal("12800"))
    client.force_login(org.rep1)
    page = client.get(reverse("sales:opportunities")).content.decode()
    card = page[page.index('data-testid="record-card"') :]
    card = card[: card.index("</a>")]
    assert "数学提高班" in card and "张三丰" in card and "¥12,800.00" in card
