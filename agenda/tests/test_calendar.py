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
