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
    assert Report.objects.filter(kind="monthly", user__isnull=False).count() == 3  # rep1, rep2, rep3
    client.force_login(org.manager1)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/sales/reports/").content.decode()
    assert "Monthly · 2026-11</a>" in page


def test_the_beat_runs_the_monthly_reports_on_the_first():
    entry = settings.CELERY_BEAT_SCHEDULE["sales-monthly-reports"]
    assert (entry["task"], entry["schedule"].day_of_month) == ("sales.tasks.generate_monthly_reports", {1})


def test_each_team_gets_one_monthly_report_summing_its_members_however_often_the_job_runs(org):
    customer = CustomerFactory(owner=org.rep1)
    with time_machine.travel(datetime.datetime(2026, 11, 10, 3, tzinfo=datetime.UTC), tick=False):
        services.record_followup(actor=org.rep1, customer=customer, content="回访")
        services.record_followup(actor=org.rep1, customer=customer, content="再访")
    with time_machine.travel(FIRST, tick=False):
        generate_monthly_reports.delay()
        generate_monthly_reports.delay()
    team_reports = Report.objects.filter(kind="monthly", department__isnull=False)
    assert [(r.department.name, r.start, r.figures["followups"], r.figures["members"]) for r in team_reports] == [
        ("一组", datetime.date(2026, 11, 1), 2, 1)
    ]


def _team_report(org):
    org.team1.manager = org.rep1
    org.team1.save(update_fields=["manager"])
    with time_machine.travel(FIRST, tick=False):
        generate_monthly_reports.delay()
    return Report.objects.get(kind="monthly", department=org.team1)


def test_the_team_lead_annotates_the_team_report_and_the_manager_comments_and_the_lead_is_told(client, org):
    from crm.models import Notification

    report = _team_report(org)
    client.force_login(org.rep1)
    assert client.post(f"/sales/reports/{report.pk}/note/", {"note": "本月试听转化偏低"}).status_code == 302
    assert client.post(f"/sales/reports/{report.pk}/comment/", {"comment": "自己点评"}).status_code == 403
    client.force_login(org.manager1)
    page = client.get(f"/sales/reports/{report.pk}/").content.decode()
    assert "本月试听转化偏低" in page
    response = client.post(f"/sales/reports/{report.pk}/comment/", {"comment": "下月重点跟进老客转介绍"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert (report.comment, report.commented_by, report.read_by) == (
        "下月重点跟进老客转介绍",
        org.manager1,
        org.manager1,
    )
    told = Notification.objects.filter(recipient=org.rep1, kind="report")
    assert [(n.body, n.url) for n in told] == [("下月重点跟进老客转介绍", f"/sales/reports/{report.pk}/")]


def test_a_rep_comments_nothing_and_an_empty_comment_is_refused(client, org):
    with time_machine.travel(FIRST, tick=False):
        generate_monthly_reports.delay()
    report = Report.objects.get(kind="monthly", user=org.rep1)
    client.force_login(org.rep2)
    assert client.post(f"/sales/reports/{report.pk}/comment/", {"comment": "x"}).status_code == 403
    client.force_login(org.manager1)
    client.post(f"/sales/reports/{report.pk}/comment/", {"comment": "   "})
    report.refresh_from_db()
    assert (report.comment, report.read_at) == ("", None)


def test_another_departments_manager_cannot_open_a_report(client, org):
    with time_machine.travel(FIRST, tick=False):
        generate_monthly_reports.delay()
    report = Report.objects.get(kind="monthly", user=org.rep1)
    client.force_login(org.manager2)
    assert client.get(f"/sales/reports/{report.pk}/").status_code == 404
    assert client.post(f"/sales/reports/{report.pk}/comment/", {"comment": "越权"}).status_code == 404
