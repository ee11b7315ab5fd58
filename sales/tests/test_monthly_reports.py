"""月报: generated on the 1st for the month just ended, like the daily and weekly reports."""

import datetime

import time_machine
from django.conf import settings

from customers.tests.factories import CustomerFactory
from sales import services
from sales.models import Report
from sales.tasks import generate_monthly_reports

#: 1 December 2026, 00:30 in Shanghai
FIRST = datetime.datetime(2026, 11, 30, 16, 30, tzinfo=datetime.UTC)


def test_the_monthly_report_on_the_first_covers_the_month_just_ended(client, org):
    customer = CustomerFactory(owner=org.rep1)
    for day in (
        datetime.datetime(2026, 11, 3, 3, tzinfo=datetime.UTC),
        datetime.datetime(2026, 11, 28, 3, tzinfo=datetime.UTC),
        datetime.datetime(2026, 10, 30, 3, tzinfo=datetime.UTC),
    ):
        with time_machine.travel(day, tick=False):
            services.record_followup(actor=org.rep1, customer=customer, content="回访")
    with time_machine.travel(FIRST, tick=False):
        generate_monthly_reports.delay()
        generate_monthly_reports.delay()  # twice: still one report each
    report = Report.objects.get(user=org.rep1, kind="monthly")
    assert (report.start, report.figures["followups"]) == (datetime.date(2026, 11, 1), 2)
    assert Report.objects.filter(kind="monthly").count() == 3  # rep1, rep2, rep3
    client.force_login(org.manager1)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/sales/reports/").content.decode()
    assert "Monthly · 2026-11-01" in page


def test_the_beat_runs_the_monthly_reports_on_the_first():
    entry = settings.CELERY_BEAT_SCHEDULE["sales-monthly-reports"]
    assert (entry["task"], entry["schedule"].day_of_month) == ("sales.tasks.generate_monthly_reports", {1})
