"""外勤签到: a visit follow-up on the record, distance, photo checks and stripped metadata, one open
visit per person (also under concurrency), check-out with its duration, and who sees what."""

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.tests.parallel import run_parallel
from customers.tests.factories import CustomerFactory
from field.models import Visit
from field.services.visits import check_in, check_out
from sales.models import FollowUp

from .conftest import CUSTOMER_AT, jpeg_with_exif, local

DAY = datetime.date(2026, 12, 7)


def _photo(data=None, name="shop.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, jpeg_with_exif() if data is None else data, content_type=content_type)


def test_a_check_in_records_a_visit_follow_up_with_the_distance(org, customer):
    visit = check_in(
        user=org.rep1,
        customer=customer,
        latitude=CUSTOMER_AT[0] + Decimal("0.001"),
        longitude=CUSTOMER_AT[1],
        accuracy=30,
        notes="送资料",
        now=local(DAY, 10, 0),
    )
    assert (visit.distance_m, visit.accuracy_m, visit.department, visit.is_open) == (111, 30, org.team1, True)
    followup = FollowUp.objects.get(customer=customer)
    assert (followup.channel, followup.content, followup.created_by, followup.at) == (
        FollowUp.Channel.VISIT,
        "外勤拜访（签到）：送资料",
        org.rep1,
        local(DAY, 10, 0),
    )
    assert visit.followup == followup
    customer.refresh_from_db()
    assert customer.last_followup_at == local(DAY, 10, 0)


def test_without_the_customers_coordinates_there_is_no_distance_and_the_place_can_be_saved(org):
    far = CustomerFactory(name="李四", owner=org.rep1)
    visit = check_in(
        user=org.rep1,
        customer=far,
        latitude="31.2",
        longitude="121.4",
        accuracy=10,
        remember_location=True,
        now=local(DAY, 10, 0),
    )
    far.refresh_from_db()
    assert (visit.distance_m, far.latitude, far.longitude) == (None, Decimal("31.200000"), Decimal("121.400000"))


def test_the_photo_is_kept_without_its_metadata(org, customer):
    from PIL import Image

    visit = check_in(user=org.rep1, customer=customer, photo=_photo(), now=local(DAY, 10, 0))
    with visit.photo.open("rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        assert (image.format, image.size, dict(image.getexif()), "exif" in image.info) == (
            "JPEG",
            (800, 600),
            {},
            False,
        )
    assert len(visit.photo_sha256) == 64
    assert visit.photo.name.startswith("visits/2026/12/")


def test_a_photo_larger_than_the_limit_is_refused_before_it_is_read(org, customer, settings):
    settings.FIELD_PHOTO_MAX_BYTES = 1000

    class Huge:
        name, content_type, size = "huge.jpg", "image/jpeg", 1001

        def read(self, *args):
            pytest.fail("the file was read")

    upload = Huge()
    with pytest.raises(ValidationError) as error:
        check_in(user=org.rep1, customer=customer, photo=upload, now=local(DAY, 10, 0))
    assert list(error.value.message_dict) == ["photo"]
    assert Visit.objects.count() == 0 and FollowUp.objects.count() == 0


@pytest.mark.parametrize(
    "data,content_type",
    [
        (b"%PDF-1.4 not a photo", "application/pdf"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
        (b"not really a jpeg", "image/jpeg"),
    ],
)
def test_a_file_that_is_no_photo_is_refused(org, customer, data, content_type):
    with pytest.raises(ValidationError) as error:
        check_in(user=org.rep1, customer=customer, photo=_photo(data, content_type=content_type), now=local(DAY, 10, 0))
    assert list(error.value.message_dict) == ["photo"]
    assert Visit.objects.count() == 0


def test_a_second_check_in_before_checking_out_is_refused_beside_the_customer(org, customer):
    check_in(user=org.rep1, customer=customer, now=local(DAY, 10, 0))
    other = CustomerFactory(name="王五", owner=org.rep1)
    with pytest.raises(ValidationError) as error:
        check_in(user=org.rep1, customer=other, now=local(DAY, 10, 30))
    assert error.value.message_dict == {"customer": ["请先在 张三丰 处签退。"]}
    assert (Visit.objects.count(), FollowUp.objects.count()) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_two_check_ins_at_once_leave_one_open_visit_and_one_follow_up():
    from crm.tests.factories import OrgFixture

    org = OrgFixture()
    customer = CustomerFactory(name="张三丰", owner=org.rep1)
    results = run_parallel(
        [lambda: check_in(user=org.rep1, customer=customer)] * 3, refusals=[(ValidationError, lambda exc: "refused")]
    )
    assert sorted("refused" if r == "refused" else "made" for r in results) == ["made", "refused", "refused"]
    assert (Visit.objects.count(), FollowUp.objects.filter(channel="visit").count()) == (1, 1)


def test_check_out_keeps_the_duration_once_and_writes_the_audit_log(org, customer):
    from auditlog.models import LogEntry

    visit = check_in(user=org.rep1, customer=customer, now=local(DAY, 10, 0))
    visit = check_out(visit=visit, user=org.rep1, notes="约了试听", now=local(DAY, 10, 47))
    assert (visit.ended_at, visit.duration_minutes, visit.notes) == (local(DAY, 10, 47), 47, "约了试听")
    assert visit.followup.content == "外勤拜访（签到）（47 分钟后签退）\n约了试听"
    with pytest.raises(ValidationError) as error:
        check_out(visit=visit, user=org.rep1, now=local(DAY, 11, 0))
    assert error.value.message_dict == {"visit": ["这次拜访已经签退。"]}
    entries = LogEntry.objects.get_for_object(visit)
    assert entries.count() == 2  # the check-in and the check-out
    assert set(entries.first().changes) == {"ended_at", "duration_minutes"}


def test_only_the_visitor_checks_out(org, customer):
    visit = check_in(user=org.rep1, customer=customer, now=local(DAY, 10, 0))
    with pytest.raises(ValidationError):
        check_out(visit=visit, user=org.manager1, now=local(DAY, 11, 0))
    visit.refresh_from_db()
    assert visit.ended_at is None


def test_the_check_in_page_checks_in_with_a_photo_and_opens_the_visit(client, org, customer):
    client.force_login(org.rep1)
    url = reverse("field:visit_new") + f"?customer={customer.pk}"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "consent": "on",
            "latitude": "31.176800",
            "longitude": "121.405300",
            "accuracy": "8",
            "notes": "上门拜访",
            "photo": _photo(),
        },
    )
    visit = Visit.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("field:visit", args=[visit.pk])
    assert (visit.distance_m, bool(visit.photo)) == (0, True)
    photo = client.get(reverse("field:visit_photo", args=[visit.pk]))
    assert (photo.status_code, photo["Content-Type"]) == (200, "image/jpeg")


def test_a_bad_photo_is_named_beside_the_field_on_the_page(client, org, customer):
    client.force_login(org.rep1)
    page = client.post(
        reverse("field:visit_new") + f"?customer={customer.pk}",
        {"photo": _photo(b"%PDF", content_type="application/pdf")},
    ).content.decode()
    assert 'data-testid="photo-error"' in page and "请拍摄 JPEG、PNG 或 WebP 格式的照片。" in page
    assert Visit.objects.count() == 0


def test_a_rep_cannot_check_in_at_another_reps_customer(client, org):
    theirs = CustomerFactory(name="别人的客户", owner=org.rep2)
    client.force_login(org.rep1)
    assert client.get(reverse("field:visit_new") + f"?customer={theirs.pk}").status_code == 404
    assert client.post(reverse("field:visit_new") + f"?customer={theirs.pk}", {"notes": "x"}).status_code == 404
    assert Visit.objects.count() == 0


def test_the_manager_sees_the_teams_visits_of_the_day_and_another_manager_does_not(
    client, org, customer, django_assert_max_num_queries
):
    visit = check_in(
        user=org.rep1,
        customer=customer,
        latitude=CUSTOMER_AT[0],
        longitude=CUSTOMER_AT[1],
        accuracy=10,
        now=local(DAY, 10, 0),
    )
    check_out(visit=visit, user=org.rep1, now=local(DAY, 10, 40))
    other = CustomerFactory(name="二部客户", owner=org.rep3)
    check_in(user=org.rep3, customer=other, now=local(DAY, 11, 0))
    client.force_login(org.manager1)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("field:team_visits") + "?day=2026-12-07").content.decode()
    assert page.count('data-testid="team-visit"') == 1
    assert "张三丰" in page and "10:00–10:40" in page and "距客户 0 米" in page and "40 分钟" in page
    assert "二部客户" not in page
    assert 'data-testid="visit-map"' not in page  # no provider key: nothing from outside
    client.force_login(org.manager2)
    assert client.get(reverse("field:visit", args=[visit.pk])).status_code == 404
    assert client.get(reverse("field:visit_photo", args=[visit.pk])).status_code == 404


def test_with_a_map_key_the_team_page_shows_the_providers_map_and_allows_only_its_images(
    client, org, customer, settings
):
    settings.MAP_PROVIDER, settings.MAP_PROVIDER_KEY = "amap", "k123"
    check_in(user=org.rep1, customer=customer, latitude="31.1768", longitude="121.4053", now=local(DAY, 10, 0))
    client.force_login(org.manager1)
    response = client.get(reverse("field:team_visits") + "?day=2026-12-07")
    assert 'data-testid="visit-map"' in response.content.decode()
    assert "img-src 'self' data: https://restapi.amap.com" in response["Content-Security-Policy"].split("; ")


def test_a_refused_check_in_puts_the_shared_error_summary_on_top_linking_to_the_photo(client, org, customer):
    client.force_login(org.rep1)
    page = client.post(
        reverse("field:visit_new") + f"?customer={customer.pk}",
        {"photo": _photo(b"%PDF", content_type="application/pdf")},
    ).content.decode()
    summary = re.search(
        r'<div class="alert alert-danger error-summary"[^>]*data-testid="error-summary">(.*?)</div>', page, re.S
    )
    assert summary is not None
    text = " ".join(re.sub(r"<[^>]+>", " ", summary.group(1)).split())
    assert text == "请更正以下错误： 照片：请拍摄 JPEG、PNG 或 WebP 格式的照片。"
    assert '<a class="alert-link" href="#id_photo">' in summary.group(1)


def test_a_position_error_is_named_on_top_of_the_form_with_a_chinese_colon(org):
    from field.forms import VisitForm, apply_service_errors

    form = VisitForm(data={})
    form.is_valid()
    apply_service_errors(form, ValidationError({"latitude": ["超出范围。"]}))
    assert form.non_field_errors() == ["定位：超出范围。"]
