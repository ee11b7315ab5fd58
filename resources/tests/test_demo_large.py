"""The large school generator, proven at a small scale on PostgreSQL: every session it writes
passes the exclusion constraints (no teacher or room twice at once), and the class page and the
timetable read in a flat number of queries."""

import datetime

import pytest
from django.urls import reverse

from resources import demo_large
from resources.models import SchoolClass, Session

from .conftest import MONDAY


@pytest.mark.django_db
def test_the_generator_writes_weekly_sessions_without_double_booking(postgres, org):
    made = demo_large.generate(department=org.sales1, start=MONDAY, classes=12, sessions_per_class=8)
    first = SchoolClass.objects.order_by("id").first()
    starts = list(first.sessions.order_by("number").values_list("starts_at", flat=True))
    assert (made, SchoolClass.objects.count(), Session.objects.count()) == (96, 12, 96)
    assert starts[1] - starts[0] == datetime.timedelta(days=7)


@pytest.mark.django_db
def test_the_class_page_and_timetable_read_in_flat_queries(postgres, org, client, django_assert_max_num_queries):
    demo_large.generate(department=org.sales1, start=MONDAY, classes=10, sessions_per_class=40)
    school_class = SchoolClass.objects.order_by("id").first()
    client.force_login(org.admin)
    with django_assert_max_num_queries(15):
        page = client.get(reverse("resources:class", args=[school_class.pk]))
    with django_assert_max_num_queries(15):
        week = client.get(reverse("resources:calendar"), {"week": MONDAY.isoformat()})
    assert (page.status_code, len(page.context["sessions"]), week.status_code) == (200, 40, 200)
