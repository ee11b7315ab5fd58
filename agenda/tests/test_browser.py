"""The calendar walked in headless Chromium: a rep sees today's reminder and a class session and
drags the reminder to tomorrow (desk), reads the day list (phone); a manager sees the team view;
the private feed answers until it is turned off."""

import datetime

import pytest
from django.utils import timezone

from crm.tests.browser import DESK, PHONE, chromium, signed_in_page  # noqa: F401 (chromium: a fixture)
from crm.tests.factories import OrgFixture
from resources.models import Course, Room, SchoolClass, Session, Teacher
from sales.models import Reminder
from sales.services.reminders import create_reminder

pytestmark = pytest.mark.browser


@pytest.fixture
def day_plan(transactional_db):
    org = OrgFixture()
    now = timezone.localtime()
    if now.hour >= 22:
        pytest.skip("the walk needs a reminder later today")
    due = now.replace(hour=22, minute=30, second=0, microsecond=0)
    reminder = create_reminder(owner=org.rep1, title="回访王女士", due_at=due)
    early = (now + datetime.timedelta(days=1)).replace(hour=5, minute=30, second=0, microsecond=0)
    create_reminder(owner=org.rep1, title="早班车前致电", due_at=early)
    teacher = Teacher.objects.create(name="王老师", department=org.sales1, user=org.rep1)
    room = Room.objects.create(name="301 教室", department=org.sales1, seats=12)
    course = Course.objects.create(name="三年级数学", subject="数学", level="三年级", lesson_count=10)
    school_class = SchoolClass.objects.create(
        course=course,
        name="数学3班",
        department=org.sales1,
        teacher=teacher,
        room=room,
        capacity=6,
        weekdays=[],
        start_time=datetime.time(19, 0),
        minutes=90,
        first_day=now.date(),
    )
    starts = now.replace(hour=19, minute=0, second=0, microsecond=0)
    Session.objects.create(
        school_class=school_class,
        number=1,
        teacher=teacher,
        room=room,
        starts_at=starts,
        ends_at=starts + datetime.timedelta(minutes=90),
    )
    return org, reminder


def test_a_rep_drags_todays_reminder_to_tomorrow_and_a_manager_sees_the_team(chromium, live_server, day_plan):
    org, reminder = day_plan
    today = timezone.localdate()
    tomorrow = today + datetime.timedelta(days=1)
    page = signed_in_page(chromium, live_server.url, org.rep1, DESK, timeout_ms=30_000)
    page.goto(f"{live_server.url}/calendar/?view=month")
    grid = page.get_by_test_id("calendar-grid")
    event = grid.locator(".fc-event", has_text="回访王女士")
    event.wait_for()
    assert grid.locator(".fc-event", has_text="数学3班").count() == 1
    target = grid.locator(f'td[data-date="{tomorrow.isoformat()}"]')
    box, goal = event.bounding_box(), target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 5, box["y"] + box["height"] / 2 + 5, steps=5)
    page.mouse.move(goal["x"] + goal["width"] / 2, goal["y"] + goal["height"] / 2, steps=15)
    page.mouse.up()
    page.locator(f'#calendar-grid[data-moved="reminder:{reminder.pk}"]').wait_for(state="attached")
    moved = Reminder.objects.get(pk=reminder.pk)
    assert (timezone.localtime(moved.due_at).date(), timezone.localtime(moved.due_at).hour) == (tomorrow, 22)
    # the week grid starts at 07:00, or earlier for an earlier item: tomorrow's 05:30 call is on it
    page.goto(f"{live_server.url}/calendar/?view=week&date={tomorrow.isoformat()}")
    grid.locator(".fc-event", has_text="早班车前致电").wait_for()
    assert grid.locator(".fc-timegrid-slot-label[data-time='05:00:00']").count() == 1
    assert page.locator(".page-header .btn-group").evaluate_all("groups => groups.map(g => g.offsetParent)") == [
        None,
        None,
    ]  # the grid's own toolbar steps through the days on a desk: the page's buttons are for phones
    assert page.errors == []
    page.context.close()

    phone = signed_in_page(chromium, live_server.url, org.rep1, PHONE, timeout_ms=30_000)
    phone.goto(f"{live_server.url}/calendar/?view=day&date={tomorrow.isoformat()}")
    assert phone.get_by_test_id("calendar-days").inner_text().count("回访王女士") == 1
    assert phone.get_by_test_id("calendar-grid").is_visible() is False
    weekday = "一二三四五六日"[tomorrow.weekday()]
    assert phone.get_by_test_id("calendar-period").inner_text() == f"{tomorrow.month}月{tomorrow.day}日 星期{weekday}"
    with phone.expect_navigation():  # back from the day to its week, on the phone
        phone.get_by_role("link", name="周", exact=True).click()
    monday = tomorrow - datetime.timedelta(days=tomorrow.weekday())
    sunday = monday + datetime.timedelta(days=6)
    assert phone.get_by_test_id("calendar-period").inner_text() == (
        f"{monday.month}月{monday.day}日 – {sunday.month}月{sunday.day}日"
    )
    assert phone.get_by_test_id("calendar-days").inner_text().count("早班车前致电") == 1
    assert phone.evaluate("() => document.documentElement.scrollWidth") == PHONE["width"]
    phone.context.close()

    manager = signed_in_page(chromium, live_server.url, org.manager1, DESK, timeout_ms=30_000)
    manager.goto(f"{live_server.url}/calendar/?view=month&team=1")
    manager.get_by_test_id("calendar-grid").locator(".fc-event", has_text="数学3班").wait_for()
    # today's class session, and the two reminders of tomorrow when tomorrow is in this month
    shown = 1 + (2 if tomorrow.month == today.month else 0)
    assert manager.locator("h1").inner_text().split() == ["团队日历", str(shown)]
    manager.context.close()


def test_the_feed_answers_until_it_is_turned_off(chromium, live_server, day_plan):
    org, _reminder = day_plan
    page = signed_in_page(chromium, live_server.url, org.rep1, DESK, timeout_ms=30_000)
    page.goto(f"{live_server.url}/calendar/")
    with page.expect_navigation():
        page.get_by_test_id("feed-issue").click()
    url = page.get_by_test_id("feed-url").input_value()
    feed = page.request.get(url)
    assert (feed.status, "SUMMARY:回访王女士" in feed.text(), "数学3班" in feed.text()) == (200, True, True)
    page.get_by_test_id("feed-revoke").click()  # turning the feed off asks first
    with page.expect_navigation():
        page.locator("#confirm-modal .js-confirm-ok").click()
    assert page.request.get(url).status == 404
    page.context.close()
