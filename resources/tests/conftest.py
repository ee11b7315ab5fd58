import datetime

import pytest
from django.utils import timezone

from catalog.tests.factories import SkuFactory
from crm.tests.factories import OrgFixture
from customers.tests.factories import CustomerFactory
from resources.models import Course, Room, SchoolClass, Teacher

#: a Monday
MONDAY = datetime.date(2026, 12, 7)


def local(day, hour, minute=0):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def org(db):
    return OrgFixture()


@pytest.fixture
def teacher(org):
    return Teacher.objects.create(
        name="王老师",
        department=org.sales1,
        skills="数学, 物理",
        availability={"0": [["09:00", "18:00"]], "2": [["09:00", "18:00"]]},
    )


@pytest.fixture
def room(org):
    return Room.objects.create(name="301 教室", department=org.sales1, seats=12)


@pytest.fixture
def course(db):
    sku = SkuFactory(code="MATH-3-20", list_price="4800.00")
    return Course.objects.create(
        name="三年级数学", subject="数学", level="三年级", lesson_count=10, sku=sku, renewal_threshold=2
    )


@pytest.fixture
def make_class(org, course, teacher, room):
    def make(name="数学3班", capacity=3, weekdays=(0, 2), hour=10, **extra):
        values = dict(
            course=course,
            name=name,
            department=org.sales1,
            teacher=teacher,
            room=room,
            capacity=capacity,
            weekdays=list(weekdays),
            start_time=datetime.time(hour, 0),
            minutes=90,
            first_day=MONDAY,
        )
        values.update(extra)
        return SchoolClass.objects.create(**values)

    return make


@pytest.fixture
def students(org):
    return [
        CustomerFactory(name=name, owner=org.rep1, department=org.team1)
        for name in ("李小明", "王小红", "张小军", "赵小燕", "陈小东")
    ]
