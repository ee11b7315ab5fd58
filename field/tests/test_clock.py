"""打卡: flags for late, early and outside; once per kind and day, also under concurrency."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from crm.tests.parallel import run_parallel
from field.models import ClockIn, WorkHours
from field.services.clock import clock, hours_for

from .conftest import OFFICE, local

DAY = datetime.date(2026, 12, 7)


def test_a_start_within_the_grace_at_the_office_is_neither_late_nor_outside(org, office):
    record = clock(
        user=org.rep1,
        kind=ClockIn.Kind.START,
        latitude=OFFICE[0],
        longitude=OFFICE[1] + Decimal("0.001"),
        accuracy=12.4,
        now=local(DAY, 9, 5),
    )
    assert (record.is_late, record.is_early, record.is_outside) == (False, False, False)
    assert (record.site, record.distance_m, record.accuracy_m, record.day) == (office, 95, 13, DAY)
    assert record.department == org.team1


def test_a_start_after_the_grace_far_from_the_office_is_late_and_outside(org, office):
    record = clock(
        user=org.rep1,
        kind=ClockIn.Kind.START,
        latitude="31.200000",
        longitude="121.397800",
        accuracy=20,
        now=local(DAY, 9, 6),
    )
    assert (record.is_late, record.is_outside, record.site, record.distance_m) == (True, True, office, 3314)


def test_an_end_before_the_hours_end_is_early(org, office):
    record = clock(
        user=org.rep1,
        kind=ClockIn.Kind.END,
        latitude=OFFICE[0],
        longitude=OFFICE[1],
        accuracy=10,
        now=local(DAY, 17, 30),
    )
    assert (record.is_early, record.is_late, record.is_outside) == (True, False, False)


def test_a_clock_in_without_a_position_is_kept_and_flagged_outside(org, office):
    record = clock(user=org.rep1, kind=ClockIn.Kind.START, now=local(DAY, 8, 50))
    assert (record.latitude, record.site, record.is_outside, record.is_late) == (None, None, True, False)


def test_nobody_is_outside_where_no_work_site_is_set(org):
    record = clock(user=org.rep3, kind=ClockIn.Kind.START, latitude="30.0", longitude="120.0", now=local(DAY, 8, 0))
    assert (record.is_outside, record.site) == (False, None)


def test_a_team_without_its_own_hours_follows_its_department(org, office):
    WorkHours.objects.create(department=org.region, start=datetime.time(8, 0), end=datetime.time(17, 0))
    assert hours_for(org.team1).department == org.sales1
    assert hours_for(org.sales2).department == org.region
    assert hours_for(None).start == datetime.time(9, 0)


def test_a_second_start_on_the_same_day_is_refused_beside_the_kind(org, office):
    clock(user=org.rep1, kind=ClockIn.Kind.START, now=local(DAY, 8, 55))
    with pytest.raises(ValidationError) as error:
        clock(user=org.rep1, kind=ClockIn.Kind.START, now=local(DAY, 9, 30))
    assert error.value.message_dict == {"kind": ["今天已在 08:55 打过上班卡。"]}
    assert ClockIn.objects.filter(user=org.rep1).count() == 1


@pytest.mark.parametrize(
    "field,lat,lng", [("latitude", "91", "121"), ("longitude", "31", "-181"), ("latitude", "north", "121")]
)
def test_a_position_out_of_range_is_refused_naming_the_field(org, field, lat, lng):
    with pytest.raises(ValidationError) as error:
        clock(user=org.rep1, kind=ClockIn.Kind.START, latitude=lat, longitude=lng, now=local(DAY, 9, 0))
    assert list(error.value.message_dict) == [field]
    assert ClockIn.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_taps_at_once_make_one_clock_in():
    from crm.tests.factories import OrgFixture

    org = OrgFixture()
    results = run_parallel(
        [lambda: clock(user=org.rep1, kind=ClockIn.Kind.START, now=local(DAY, 9, 0))] * 4,
        refusals=[(ValidationError, lambda exc: "refused")],
    )
    assert sorted(str(r) if r == "refused" else "made" for r in results) == ["made", "refused", "refused", "refused"]
    assert ClockIn.objects.filter(user=org.rep1).count() == 1


def test_the_clock_page_clocks_in_with_the_browsers_position(client, org, office, django_assert_max_num_queries):
    client.force_login(org.rep1)
    response = client.post(
        reverse("field:clock_submit"),
        {"kind": "start", "consent": "on", "latitude": str(OFFICE[0]), "longitude": str(OFFICE[1]), "accuracy": "15"},
        HTTP_USER_AGENT="Mozilla/5.0 wxwork/4.1",
    )
    assert response.status_code == 302
    record = ClockIn.objects.get(user=org.rep1)
    assert (record.distance_m, record.accuracy_m, record.device) == (0, 15, "Mozilla/5.0 wxwork/4.1")
    with django_assert_max_num_queries(12):
        page = client.get(reverse("field:clock")).content.decode()
    assert 'data-testid="clock-button"' in page and "下班打卡" in page
    assert "考勤时间 09:00–18:00 · 考勤地点：漕河泾办公室</div>" in page


def test_without_consent_the_position_is_not_stored(client, org, office):
    client.force_login(org.rep1)
    client.post(
        reverse("field:clock_submit"), {"kind": "start", "latitude": "31.1", "longitude": "121.3", "accuracy": "15"}
    )
    record = ClockIn.objects.get(user=org.rep1)
    assert (record.latitude, record.longitude, record.accuracy_m) == (None, None, None)


def test_clock_ins_are_audited(org, office):
    from auditlog.models import LogEntry

    record = clock(user=org.rep1, kind=ClockIn.Kind.START, now=local(DAY, 9, 0))
    assert LogEntry.objects.get_for_object(record).count() == 1
