import datetime
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.tests.factories import OrgFixture
from customers.tests.factories import CustomerFactory
from field.models import WorkHours, WorkSite

#: the office of 销售一部 (WGS-84) and a customer 1.2 km away
OFFICE = (Decimal("31.170200"), Decimal("121.397800"))
CUSTOMER_AT = (Decimal("31.176800"), Decimal("121.405300"))


@pytest.fixture
def org(db):
    return OrgFixture()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def office(org):
    WorkHours.objects.create(
        department=org.sales1, start=datetime.time(9, 0), end=datetime.time(18, 0), grace_minutes=5
    )
    return WorkSite.objects.create(
        department=org.sales1, name="漕河泾办公室", latitude=OFFICE[0], longitude=OFFICE[1], radius_m=300
    )


@pytest.fixture
def customer(org):
    return CustomerFactory(
        name="张三丰",
        owner=org.rep1,
        wechat_id="zsf_wx",
        address="上海市徐汇区宜山路 700 号",
        latitude=CUSTOMER_AT[0],
        longitude=CUSTOMER_AT[1],
    )


def local(day, hour, minute=0):
    """An aware Shanghai time on ``day``."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def jpeg_with_exif(size=(800, 600)):
    """A JPEG as a phone writes it: EXIF with the camera's make and a GPS position."""
    from PIL import Image

    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model X"  # Model
    exif[0x8825] = {1: "N", 2: (31.0, 10.0, 12.0), 3: "E", 4: (121.0, 23.0, 52.0)}  # GPS
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()
