"""The calendar: a rep's reminders and tasks, moving one, the team view, the private feed."""

import datetime

import icalendar
import pytest
from auditlog.models import LogEntry
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
