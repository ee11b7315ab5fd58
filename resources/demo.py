"""Demo training school: teachers with availability and a leave, rooms, a holiday, three courses
(sold by the catalogue's lesson-hour SKUs), classes whose sessions started two weeks ago, rep1's
customers enrolled up to capacity (one waiting), attendance of the past sessions (one on leave,
made up in the sister class), a booked trial lesson from an opportunity, a short taster course
(编程体验课, two lessons) with no class yet for the school's admin to schedule, and one of rep1's
opportunities at the trial stage whose control point the managers have approved."""

import datetime

from django.utils import timezone

from catalog.models import Sku
from crm.approvals import selectors as approval_selectors
from customers.models import Customer
from sales.models import Opportunity, OpportunityStage
from sales.services.opportunities import decide_approval, open_opportunity, request_approval

from . import demo_large
from .models import Course, Holiday, Room, SchoolClass, Session, Teacher, TeacherLeave
from .services import attendance, enrolments, schedule, trials

WEEKDAY_HOURS = {str(d): [["09:00", "21:00"]] for d in range(6)}


def seed(ctx):
    department = ctx.departments["sales1"]
    today = ctx.anchor.date()
    monday = today - datetime.timedelta(days=today.weekday() + 14)
    teachers = [
        Teacher.objects.create(name=name, department=department, skills=skills, availability=WEEKDAY_HOURS)
        for name, skills in (("王建华", "数学, 物理"), ("李雪梅", "英语"), ("陈志强", "数学"))
    ]
    TeacherLeave.objects.create(
        teacher=teachers[2],
        starts_on=today + datetime.timedelta(days=14),
        ends_on=today + datetime.timedelta(days=16),
        reason="年假",
    )
    rooms = [
        Room.objects.create(name=name, department=department, seats=seats)
        for name, seats in (("301 教室", 8), ("302 教室", 8), ("报告厅", 120))
    ]
    rooms[2].is_venue = True
    rooms[2].save()
    Holiday.objects.create(day=monday + datetime.timedelta(days=21), name="校庆日")
    skus = {s.code: s for s in Sku.objects.filter(code__in=["EDU-1V1-MATH-24", "EDU-1V1-ENG-24"])}
    courses = [
        Course.objects.create(
            name="初中数学提高班",
            subject="数学",
            level="初二",
            lesson_count=24,
            sku=skus.get("EDU-1V1-MATH-24"),
            renewal_threshold=4,
        ),
        Course.objects.create(
            name="小学英语口语",
            subject="英语",
            level="三年级",
            lesson_count=24,
            sku=skus.get("EDU-1V1-ENG-24"),
            renewal_threshold=4,
        ),
    ]
    plan = [
        (courses[0], "数学提高1班", teachers[0], rooms[0], 4, [0, 3], 18),
        (courses[0], "数学提高2班", teachers[2], rooms[1], 6, [1, 4], 18),
        (courses[1], "英语口语A班", teachers[1], rooms[1], 6, [5], 10),
    ]
    classes = []
    for course, name, teacher, room, capacity, weekdays, hour in plan:
        school_class = SchoolClass.objects.create(
            course=course,
            name=name,
            department=department,
            teacher=teacher,
            room=room,
            capacity=capacity,
            weekdays=weekdays,
            start_time=datetime.time(hour, 0),
            minutes=90,
            first_day=monday,
        )
        schedule.generate_sessions(school_class=school_class)
        classes.append(school_class)
    rep1 = ctx.users["rep1"]
    students = list(Customer.objects.filter(owner=rep1, anonymized_at__isnull=True).order_by("id")[:8])
    for index, student in enumerate(students[:5]):
        enrolments.enrol(school_class=classes[0], customer=student, actor=rep1)  # 4 seats: the fifth waits
        if index < 3:
            enrolments.enrol(school_class=classes[2], customer=student, actor=rep1)
    now = timezone.now()
    first = classes[0]
    seated = list(first.enrolments.filter(status="enrolled").order_by("id"))
    past = list(first.sessions.filter(starts_at__lt=now).order_by("starts_at"))
    for number, session in enumerate(past):
        for position, enrolment in enumerate(seated):
            status = (
                "leave" if (number, position) == (0, 1) else ("absent" if (number + position) % 7 == 6 else "present")
            )
            attendance.record(session=session, enrolment=enrolment, status=status, actor=rep1)
    sister = classes[1].sessions.filter(starts_at__lt=now).order_by("-starts_at").first()
    if sister is not None and len(seated) > 1:
        attendance.record(session=sister, enrolment=seated[1], status="present", is_makeup=True, actor=rep1)
    opportunity = Opportunity.objects.filter(owner=rep1, closed_at__isnull=True).order_by("id").first()
    upcoming = Session.objects.filter(school_class=classes[1], starts_at__gt=now).order_by("starts_at").first()
    if opportunity is not None and upcoming is not None:
        trials.book_trial(opportunity=opportunity, session=upcoming, actor=rep1)
    Course.objects.create(name="编程体验课", subject="编程", level="入门", lesson_count=2, renewal_threshold=1)
    _trial_ready_opportunity(ctx, students)
    if ctx.size == "large":
        demo_large.generate(department=department, start=monday, classes=1000, sessions_per_class=50)
    ctx.log(
        f"  resources: {len(teachers)} teachers, {len(classes)} classes, {Session.objects.count()} sessions, "
        f"{sum(c.enrolments.count() for c in classes)} enrolments"
    )


def _trial_ready_opportunity(ctx, students):
    """An opportunity of rep1's at the trial stage (方案/试听课) whose control point is approved:
    a trial attended there moves it on to the next stage."""
    stage = OpportunityStage.objects.filter(name__contains=trials.TRIAL_STAGE_MARK, is_won=False).first()
    rep1 = ctx.users["rep1"]
    if stage is None or len(students) < 8:
        return
    for student, name in ((students[6], "少儿编程 暑期试听"), (students[7], "少儿编程 试听后报名")):
        opportunity = open_opportunity(actor=rep1, customer=student, name=name, amount=3600, stage=stage)
        approval = request_approval(actor=rep1, opportunity=opportunity)
        while approval.status == "pending":
            approvers = approval_selectors.next_approvers(approval)
            if not approvers:
                break
            approval = decide_approval(actor=approvers[0], approval=approval, approve=True, comment="同意安排试听")
