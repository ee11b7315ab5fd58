"""The calendar: a rep's reminders and tasks, moving one, the team view, the private feed."""

import datetime

import icalendar
import pytest
from auditlog.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from agenda.models import CalendarFeed
from sales.models import Reminder
from sales.services.reminders import create_reminder


@pytest.fixture
def reminder(org):
    due = timezone.localtime().replace(hour=23, minute=0, second=0, microsecond=0)
    if due <= timezone.now():
        due += datetime.timedelta(days=1)
    return create_reminder(owner=org.rep1, title="回访王女士", due_at=due)


def test_a_rep_sees_todays_reminder(client, org, reminder, django_assert_max_num_queries):
    client.force_login(org.rep1)
    with django_assert_max_num_queries(20):
        page = client.get(f"/calendar/?view=day&date={timezone.localtime(reminder.due_at):%Y-%m-%d}")
    assert (page.status_code, page.content.decode().count("回访王女士")) == (200, 1)


def test_moving_a_reminder_to_tomorrow_keeps_its_time_and_is_audited(client, org, reminder):
    client.force_login(org.rep1)
    tomorrow = timezone.localtime(reminder.due_at).date() + datetime.timedelta(days=1)
    client.post(
        "/calendar/move",
        {"key": f"reminder:{reminder.pk}", "date": tomorrow.isoformat(), "time": reminder.due_at.isoformat()},
    )
    reminder.refresh_from_db()
    assert (timezone.localtime(reminder.due_at).date(), timezone.localtime(reminder.due_at).hour) == (tomorrow, 23)
    assert LogEntry.objects.get_for_object(reminder).filter(actor=org.rep1).count() == 1


def test_another_rep_cannot_move_the_reminder(client, org, reminder):
    client.force_login(org.rep2)
    response = client.post("/calendar/move", {"key": f"reminder:{reminder.pk}", "date": "2099-01-01"})
    assert (response.status_code, Reminder.objects.get(pk=reminder.pk).due_at) == (403, reminder.due_at)


def test_a_manager_sees_the_teams_reminders_and_a_rep_cannot_ask_for_them(client, org, reminder):
    day = f"{timezone.localtime(reminder.due_at):%Y-%m-%d}"
    client.force_login(org.manager1)
    assert "回访王女士" in client.get(f"/calendar/?view=day&date={day}&team=1").content.decode()
    client.force_login(org.rep2)
    assert "回访王女士" not in client.get(f"/calendar/?view=day&date={day}&team=1").content.decode()


def test_the_feed_returns_the_events_and_stops_after_revocation(client, org, reminder):
    client.force_login(org.rep1)
    client.post("/calendar/feed/issue")
    url = client.get("/calendar/").context["feed_url"]
    path = url[url.index("/calendar/") :]
    client.logout()
    body = client.get(path).content.decode()
    assert ("BEGIN:VCALENDAR" in body, "SUMMARY:回访王女士" in body) == (True, True)
    events = {str(e["summary"]): e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}
    assert events["回访王女士"].decoded("dtstart") == reminder.due_at
    client.force_login(org.rep1)
    client.post("/calendar/feed/revoke")
    client.logout()
    assert (client.get(path).status_code, CalendarFeed.objects.count()) == (404, 0)


def test_a_crowded_day_lists_its_first_items_and_counts_them_all_in_flat_queries(
    client, org, django_assert_max_num_queries
):
    """The page lists at most PER_DAY items of a day (by time, every source merged) and counts
    every item of the range; its queries do not grow with the number of items."""
    from agenda.views import PER_DAY

    day = timezone.localdate() + datetime.timedelta(days=2)
    at = datetime.datetime.combine(day, datetime.time(8, 0), timezone.get_current_timezone())
    Reminder.objects.bulk_create(
        Reminder(owner=org.rep1, title=f"提醒{i:03d}", due_at=at + datetime.timedelta(minutes=i), created_at=at)
        for i in range(PER_DAY + 5)
    )
    Reminder.objects.create(owner=org.rep2, title="别人的提醒", due_at=at, created_at=at)
    client.force_login(org.rep1)
    with django_assert_max_num_queries(12):
        page = client.get(f"/calendar/?view=week&date={day:%Y-%m-%d}")
    html = page.content.decode()
    shown = {d.isoformat(): (items, more) for d, items, more in page.context["days"]}
    items, more = shown[day.isoformat()]
    assert [item.title for item in items] == [f"提醒{i:03d}" for i in range(PER_DAY)]
    assert (page.context["count"], more, "别人的提醒" in html, 'data-testid="calendar-more"' in html) == (
        PER_DAY + 5,
        5,
        False,
        True,
    )
    assert len(client.get(f"/calendar/items.json?start={at:%Y-%m-%d}T00:00:00&end={day:%Y-%m-%d}T23:59:00").json()) == (
        PER_DAY + 5
    )


def test_every_source_gives_its_title_link_and_owner_from_the_columns_it_reads(
    org, reminder, django_assert_max_num_queries
):
    from catalog.tests.factories import SkuFactory
    from crm import calendar
    from customers.tests.factories import CustomerFactory
    from field.models import Visit
    from marketing.tests.factories import make_campaign, make_event
    from resources.models import Course, Room, SchoolClass, Session, Teacher

    at = reminder.due_at - datetime.timedelta(hours=2)
    customer = CustomerFactory(name="李先生", owner=org.rep1, department=org.team1)
    visit = Visit.objects.create(user=org.rep1, customer=customer, started_at=at)
    campaign = make_campaign(org, owner=org.rep1)
    event = make_event(campaign, name="开放日", starts_at=at, ends_at=at + datetime.timedelta(hours=1))
    teacher = Teacher.objects.create(name="王老师", user=org.rep1, department=org.sales1)
    room = Room.objects.create(name="301 教室", department=org.sales1, seats=12)
    course = Course.objects.create(name="三年级数学", subject="数学", level="三年级", lesson_count=10, sku=SkuFactory())
    school_class = SchoolClass.objects.create(
        course=course,
        name="数学3班",
        department=org.sales1,
        teacher=teacher,
        room=room,
        capacity=3,
        start_time=datetime.time(10, 0),
        first_day=timezone.localdate(at),
    )
    session = Session.objects.create(
        school_class=school_class,
        number=1,
        teacher=teacher,
        room=room,
        starts_at=at,
        ends_at=at + datetime.timedelta(minutes=90),
    )
    with django_assert_max_num_queries(6):
        items = calendar.items_for(
            [org.rep1], at - datetime.timedelta(hours=1), reminder.due_at + datetime.timedelta(hours=1)
        )
    found = {item.key: (item.title, item.url, item.owner_id, item.owner_name) for item in items}
    rep = str(org.rep1)
    assert found == {
        f"reminder:{reminder.pk}": ("回访王女士", "", org.rep1.pk, rep),
        f"visit:{visit.pk}": ("李先生", reverse("field:visit", args=[visit.pk]), org.rep1.pk, rep),
        f"event:{event.pk}": ("开放日", reverse("marketing:event", args=[event.pk]), org.rep1.pk, rep),
        f"session:{session.pk}": (
            "数学3班 · 301 教室",
            reverse("resources:class", args=[school_class.pk]),
            org.rep1.pk,
            "王老师",
        ),
    }


def test_an_impossible_date_in_the_address_shows_today_and_changes_nothing(client, org, reminder):
    """``?date=2024-02-30`` is well formed but no day: it was a server error."""
    client.force_login(org.rep1)
    page = client.get("/calendar/", {"view": "week", "date": "2024-02-30"})
    assert (page.status_code, page.context["day"]) == (200, timezone.localdate())
    assert client.get("/calendar/", {"date": "9999-12-31"}).context["day"] == timezone.localdate()
    window = {"start": "2024-02-30T00:00:00", "end": "2024-03-05T00:00:00"}
    assert client.get("/calendar/items.json", window).status_code == 400
    moved = client.post("/calendar/move", {"key": f"reminder:{reminder.pk}", "date": "2024-02-30"})
    assert (moved.status_code, Reminder.objects.get(pk=reminder.pk).due_at) == (400, reminder.due_at)


def test_turning_off_the_feed_asks_for_confirmation_first(client, org):
    client.force_login(org.rep1)
    client.post("/calendar/feed/issue")
    text = client.get("/calendar/").content.decode()
    form = text[text.index('action="/calendar/feed/revoke"') - 200 : text.index('action="/calendar/feed/revoke"') + 300]
    assert "确定关闭订阅吗" in form


@pytest.mark.parametrize(
    ("view", "day", "previous", "following", "period"),
    [
        ("month", "2027-01-31", "2026-12-01", "2027-02-01", "2027年1月"),  # 31 days on skipped February
        ("month", "2027-03-31", "2027-02-01", "2027-04-01", "2027年3月"),
        ("week", "2027-01-06", "2026-12-30", "2027-01-13", "1月4日 – 1月10日"),
        ("day", "2027-01-06", "2027-01-05", "2027-01-07", "1月6日 星期三"),
    ],
)
def test_the_phones_arrows_step_by_whole_periods_and_the_heading_names_the_period(
    client, org, settings, view, day, previous, following, period
):
    client.force_login(org.rep1)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get(f"/calendar/?view={view}&date={day}")
    assert (page.context["previous"].isoformat(), page.context["following"].isoformat()) == (previous, following)
    assert f'<h2 class="h6 d-sm-none mb-2" data-testid="calendar-period">{period}</h2>' in page.content.decode()
