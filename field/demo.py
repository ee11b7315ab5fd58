"""Demo field work: a work site and hours per department, rep1's clock-ins and visits of
yesterday and this morning (and rep2's clock-in today). rep1 has not clocked in today: that is
his first tap of the day."""

import datetime
from decimal import Decimal

from customers.models import Customer

from .models import ClockIn, WorkHours, WorkSite
from .services import clock as clock_services
from .services import visits as visit_services

#: the company's offices (WGS-84), one per department in the demo tree's order
OFFICES = {
    "company": ("集团总部 · 浦东陆家嘴", "31.238100", "121.501500"),
    "region": ("华东大区 · 静安寺", "31.223600", "121.445600"),
    "sales1": ("销售一部 · 徐汇漕河泾", "31.170200", "121.397800"),
    "sales1_team1": ("一部一组 · 漕河泾", "31.170900", "121.398600"),
    "sales1_team2": ("一部二组 · 漕河泾", "31.169700", "121.396900"),
    "sales2": ("销售二部 · 杭州西湖", "30.274100", "120.155100"),
    "marketing": ("市场部 · 浦东张江", "31.203200", "121.590300"),
}
#: where rep1's visited customers are (near the office): (address, lat, lng)
CUSTOMER_PLACES = [
    ("上海市徐汇区宜山路 700 号", "31.176800", "121.415300"),
    ("上海市徐汇区桂平路 391 号", "31.167200", "121.401900"),
    ("上海市闵行区虹梅路 1801 号", "31.160300", "121.388400"),
]


def _at(ctx, days_back, hour, minute):
    day = ctx.anchor.date() - datetime.timedelta(days=days_back)
    return ctx.anchor.replace(year=day.year, month=day.month, day=day.day, hour=hour, minute=minute)


def _storefront():
    """A small picture of a shop front, as a phone camera would upload it."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 480), (236, 240, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle([80, 120, 560, 440], fill=(255, 255, 255), outline=(100, 116, 139), width=6)
    draw.rectangle([80, 80, 560, 160], fill=(31, 111, 235))
    draw.rectangle([260, 260, 380, 440], fill=(148, 163, 184))
    draw.rectangle([120, 220, 230, 320], fill=(191, 219, 254))
    draw.rectangle([410, 220, 520, 320], fill=(191, 219, 254))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return SimpleUploadedFile("storefront.jpg", out.getvalue(), content_type="image/jpeg")


def seed(ctx):
    for key, department in ctx.departments.items():
        name, lat, lng = OFFICES.get(key, (f"{department.name}办公室", "31.230400", "121.473700"))
        WorkSite.objects.create(
            department=department, name=name, latitude=Decimal(lat), longitude=Decimal(lng), radius_m=500
        )
    for key in ("sales1", "sales2", "marketing"):
        WorkHours.objects.create(
            department=ctx.departments[key], start=datetime.time(9, 0), end=datetime.time(18, 0), grace_minutes=5
        )
    rep1, rep2 = ctx.users["rep1"], ctx.users["rep2"]
    team1 = OFFICES["sales1_team1"]
    near = (Decimal(team1[1]) + Decimal("0.000300"), Decimal(team1[2]) + Decimal("0.000200"))
    # yesterday: rep1 in a little late, out on time; today: rep2 in on time
    clock_services.clock(
        user=rep1,
        kind=ClockIn.Kind.START,
        latitude=near[0],
        longitude=near[1],
        accuracy=18,
        now=_at(ctx, 1, 9, 7),
        device="demo",
    )
    clock_services.clock(
        user=rep1,
        kind=ClockIn.Kind.END,
        latitude=near[0],
        longitude=near[1],
        accuracy=22,
        now=_at(ctx, 1, 18, 12),
        device="demo",
    )
    clock_services.clock(
        user=rep2,
        kind=ClockIn.Kind.START,
        latitude=near[0],
        longitude=near[1],
        accuracy=15,
        now=_at(ctx, 0, 8, 51),
        device="demo",
    )
    customers = list(Customer.objects.filter(owner=rep1, anonymized_at__isnull=True).order_by("id")[:3])
    for customer, (address, lat, lng) in zip(customers, CUSTOMER_PLACES):
        Customer.objects.filter(pk=customer.pk).update(address=address, latitude=Decimal(lat), longitude=Decimal(lng))
        customer.address, customer.latitude, customer.longitude = address, Decimal(lat), Decimal(lng)
    visits = [
        (1, (10, 30), (11, 15), "介绍春季班课程，家长关心时间安排", Decimal("0.000400")),
        (1, (14, 0), (14, 50), "试听课反馈良好，约下周签约", Decimal("0.000100")),
        (0, (8, 10), (8, 40), "上课前送资料", Decimal("0.002500")),
    ]
    for index, (customer, (days_back, start, end, notes, offset)) in enumerate(zip(customers, visits)):
        visit = visit_services.check_in(
            user=rep1,
            customer=customer,
            latitude=customer.latitude + offset,
            longitude=customer.longitude,
            accuracy=25,
            notes=notes,
            photo=_storefront() if index == 0 else None,
            now=_at(ctx, days_back, *start),
        )
        visit_services.check_out(visit=visit, user=rep1, now=_at(ctx, days_back, *end))
    ctx.log(
        f"  field work: {len(ctx.departments)} work sites, {ClockIn.objects.count()} clock-ins, {len(customers)} visits"
    )
