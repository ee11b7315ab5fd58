"""The training school's day in Chromium on the demo business, at 1366×768 and 390×844: a rep books a
trial lesson from an opportunity at the trial stage and the student's attendance moves it on; the
admin schedules a class, enrols students up to capacity (the next one waits) and records attendance,
and the low balance gives the rep a renewal opportunity; a member earns points for a lesson — the
points of the earning rule of the member's tier — and spends them on a coupon."""

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

SIZES = ["desk", "phone"]

#: the points a lesson attended earns by tier: the school's earning rules (the default is 10)
ATTENDANCE_POINTS = {"普通": 10, "银卡": 15, "金卡": 20, "钻石": 30}


@pytest.fixture(scope="module")
def attendance_rules(demo_day, django_db_blocker):
    """The admin's earning rules for lessons attended, one per tier (stored for the live server)."""
    from members.models import EarnRule, Tier

    with django_db_blocker.unblock():
        for tier in Tier.objects.all():
            EarnRule.objects.update_or_create(
                source="attendance", category="", tier=tier, defaults={"points": ATTENDANCE_POINTS[tier.name]}
            )


@pytest.mark.parametrize("size", SIZES)
def test_a_rep_books_a_trial_and_the_attended_trial_moves_the_opportunity_on(demo_day, size):
    from playwright.sync_api import expect

    from sales.models import Opportunity

    opportunity = (
        Opportunity.objects.filter(owner__username="rep1", stage__name="方案/试听课", trial_lessons__isnull=True)
        .filter(name__startswith="少儿编程")
        .order_by("id")
        .first()
    )
    me = demo_day.open("rep1", size)
    page = me.page
    me.go(opportunity.get_absolute_url(), shot="trial-opportunity")
    expect(page.locator("[data-testid=current-stage]")).to_have_text("方案/试听课")
    me.click(page.locator("[data-testid=book-trial]"), shot="trial-sessions")
    expect(page.locator("h1")).to_contain_text("预约试听课")
    first = page.locator("#sessions li").first
    session_text = first.locator("span").inner_text()
    me.click(first.locator("button"))
    expect(page.locator(".messages .alert-success")).to_contain_text("试听课已预约。")
    trial = opportunity.trial_lessons.get()
    assert trial.session.school_class.name in session_text
    me.fits_the_width()
    # the teacher's record of the lesson, on the session's page
    me.go(trial.session.get_absolute_url(), shot="trial-session")
    row = page.locator("#trials li", has_text=opportunity.customer.name)
    me.click(row.locator("button", has_text="已到场"))
    expect(page.locator(".messages .alert-success")).to_contain_text("试听结果已记录。")
    me.go(opportunity.get_absolute_url(), shot="trial-moved-on")
    expect(page.locator("[data-testid=current-stage]")).to_have_text("商务谈判")
    assert Opportunity.objects.get(pk=opportunity.pk).stage.name == "商务谈判"
    me.done()


@pytest.mark.parametrize("size", SIZES)
def test_the_admin_schedules_a_class_fills_it_and_a_low_balance_opens_a_renewal(demo_day, size):
    from playwright.sync_api import expect

    from customers.models import Customer
    from resources.models import Course, Enrolment, RenewalRequest, Room, SchoolClass, Teacher

    course = Course.objects.get(name="编程体验课")
    name = f"编程体验{'1' if size == 'desk' else '2'}班"
    me = demo_day.open("admin", size)
    page = me.page
    me.go("/resources/classes/new/", shot="class-new")
    page.select_option("#id_course", str(course.pk))
    page.fill("#id_name", name)
    page.select_option("#id_department", label="销售一部")
    page.select_option("#id_teacher", str(Teacher.objects.get(name="李雪梅").pk))
    page.select_option("#id_room", str(Room.objects.get(name="报告厅").pk))
    page.fill("#id_capacity", "2")
    page.check("input[name=weekdays][value='6']")
    page.fill("#id_start_time", "14:00" if size == "desk" else "16:00")
    page.fill("#id_minutes", "90")
    page.fill("#id_first_day", page.evaluate("() => new Date().toISOString().slice(0, 10)"))
    me.click(page.locator("main form button[type=submit]"))
    expect(page.locator(".messages .alert-success")).to_contain_text("班级已保存。")
    school_class = SchoolClass.objects.get(name=name)
    assert school_class.sessions.count() == 2
    taken = set(Enrolment.objects.filter(school_class__course=course).values_list("customer_id", flat=True))
    students = list(
        Customer.objects.filter(owner__username="rep1", anonymized_at__isnull=True)
        .exclude(pk__in=taken)
        .order_by("-id")[:3]
    )
    for student in students:
        me.go(f"{school_class.get_absolute_url()}?q={student.name}")
        me.click(page.locator(f"main form:has(input[name=customer][value='{student.pk}']) button"))
    expect(page.locator("#seats")).to_have_text("2 / 2")
    me.shot("class-full")
    enrolled = page.locator("#enrolled").inner_text()
    assert (students[0].name in enrolled, students[1].name in enrolled, students[2].name in enrolled) == (
        True,
        True,
        False,
    )
    assert Enrolment.objects.get(school_class=school_class, customer=students[2]).status == "waiting"
    session = school_class.sessions.order_by("starts_at").first()
    me.go(session.get_absolute_url(), shot="attendance")
    row = page.locator("#attendance li", has_text=students[0].name)
    me.click(row.locator("button", has_text="出勤"))
    expect(page.locator("#attendance li", has_text=students[0].name)).to_contain_text("剩余 1 课时")
    renewal = RenewalRequest.objects.get(enrolment__school_class=school_class)
    assert (renewal.opportunity.name, renewal.opportunity.owner.username) == ("续费：编程体验课", "rep1")
    me.go(students[0].get_absolute_url(), shot="renewal-360")
    expect(page.locator("#panel-opportunities")).to_contain_text("续费：编程体验课")
    enrolment = Enrolment.objects.get(school_class=school_class, customer=students[0])
    me.go(f"/resources/enrolments/{enrolment.pk}/hours/", shot="hour-ledger")
    assert page.locator("[data-testid=hour-ledger] tbody tr").all_inner_texts()[1].split("\t")[-2:] == ["-1", "1"]
    me.fits_the_width()
    me.done()


@pytest.mark.parametrize("size", SIZES)
def test_a_member_earns_points_at_a_lesson_and_spends_them_on_a_coupon(demo_day, attendance_rules, size):
    from playwright.sync_api import expect

    from coupons.models import Coupon
    from members.models import Member, PointsOffer
    from resources.models import Attendance, Enrolment, SchoolClass

    school_class = SchoolClass.objects.get(name="数学提高1班")
    enrolment = Enrolment.objects.filter(school_class=school_class, status="enrolled").order_by("id")[
        0 if size == "desk" else 1
    ]
    session = (
        school_class.sessions.exclude(attendance__enrolment=enrolment)
        .filter(status="scheduled")
        .order_by("starts_at")
        .first()
    )
    member = Member.objects.get(customer=enrolment.customer)
    before = member.points
    earned = ATTENDANCE_POINTS[member.tier.name]  # the member's tier's rule for a lesson attended
    offer = PointsOffer.objects.get()
    me = demo_day.open("rep1", size)
    page = me.page
    me.go(session.get_absolute_url())
    row = page.locator("#attendance li", has_text=enrolment.customer.name)
    me.click(row.locator("button", has_text="出勤"))
    assert Attendance.objects.get(session=session, enrolment=enrolment).status == "present"
    me.go(member.get_absolute_url(), shot="member")
    expect(page.locator("[data-testid=member-points]")).to_have_text(f"{before + earned:,}")
    expect(page.locator("[data-testid=points-ledger] tbody tr").first).to_contain_text("上课出勤")
    page.select_option("#offer", str(offer.pk))
    page.locator("[data-testid=redeem]").click()  # points are spent only once the member confirms
    modal = page.locator("#confirm-modal")
    expect(modal).to_be_visible()
    expect(modal).to_contain_text("积分")
    me.click(modal.locator(".js-confirm-ok"), shot="member-spent")
    expect(page.locator(".messages .alert-success")).to_contain_text(f"已用 {offer.points} 积分兑换优惠券")
    expect(page.locator("[data-testid=member-points]")).to_have_text(f"{before + earned - offer.points:,}")
    code = re.search(r"优惠券 (\S+)。", page.locator(".messages .alert-success").inner_text()).group(1)
    assert Coupon.objects.get(code=code).customer_id == enrolment.customer_id
    me.go(enrolment.customer.get_absolute_url())
    expect(page.locator("[data-testid=member-card] [data-testid=member-points]")).to_have_text(
        f"{before + earned - offer.points:,} 积分"
    )
    me.fits_the_width()
    me.done()
