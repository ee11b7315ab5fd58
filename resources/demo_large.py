"""The large school (the benchmark set): ``classes`` classes of 50-lesson courses with
``sessions_per_class`` weekly sessions each, written set-based on PostgreSQL (one ``INSERT …
SELECT generate_series`` for every session), row by row elsewhere.

Never double-booked: five classes share a teacher and a room, each at its own hour of the same
weekday, so the exclusion constraints hold for every generated row."""

import datetime

from django.db import connection
from django.utils import timezone

from .models import Course, Room, SchoolClass, Session, Teacher

HOURS = [9, 11, 14, 16, 19]
PER_TEACHER = len(HOURS)
SUBJECTS = ["数学", "英语", "语文", "物理", "编程", "美术"]


def generate(*, department, start: datetime.date, classes: int = 1000, sessions_per_class: int = 50) -> int:
    """Write the classes and their sessions; returns the number of sessions."""
    monday = start - datetime.timedelta(days=start.weekday())
    courses = Course.objects.bulk_create(
        [
            Course(name=f"{subject}系统班", subject=subject, level="综合", lesson_count=sessions_per_class)
            for subject in SUBJECTS
        ]
    )
    groups = (classes + PER_TEACHER - 1) // PER_TEACHER
    all_days = {str(d): [["08:00", "21:00"]] for d in range(7)}
    teachers = Teacher.objects.bulk_create(
        [
            Teacher(name=f"老师{i + 1:04d}", department=department, skills=SUBJECTS[i % 6], availability=all_days)
            for i in range(groups)
        ]
    )
    rooms = Room.objects.bulk_create(
        [Room(name=f"教室{i + 1:04d}", department=department, seats=30) for i in range(groups)]
    )
    made = SchoolClass.objects.bulk_create(
        [
            SchoolClass(
                course=courses[i % len(courses)],
                name=f"大班{i + 1:04d}",
                department=department,
                teacher=teachers[i // PER_TEACHER],
                room=rooms[i // PER_TEACHER],
                capacity=20,
                weekdays=[(i // PER_TEACHER) % 7],
                start_time=datetime.time(HOURS[i % PER_TEACHER], 0),
                minutes=90,
                first_day=monday,
            )
            for i in range(classes)
        ]
    )
    if not made or made[0].pk is None:
        made = list(SchoolClass.objects.filter(name__startswith="大班").order_by("id"))
    base = timezone.make_aware(datetime.datetime.combine(monday, datetime.time.min))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO resources_session (school_class_id, number, teacher_id, room_id, starts_at, ends_at, status)
                SELECT c.id, g, c.teacher_id, c.room_id,
                       %s + ((g - 1) * 7 + (c.weekdays->>0)::int) * interval '1 day' + c.start_time,
                       %s + ((g - 1) * 7 + (c.weekdays->>0)::int) * interval '1 day' + c.start_time
                            + c.minutes * interval '1 minute',
                       'scheduled'
                FROM resources_schoolclass c CROSS JOIN generate_series(1, %s) AS g
                WHERE c.id = ANY(%s)
                """,
                [base, base, sessions_per_class, [c.pk for c in made]],
            )
    else:
        rows = []
        for c in made:
            for g in range(1, sessions_per_class + 1):
                day = monday + datetime.timedelta(days=(g - 1) * 7 + c.weekdays[0])
                starts = timezone.make_aware(datetime.datetime.combine(day, c.start_time))
                rows.append(
                    Session(
                        school_class=c,
                        number=g,
                        teacher_id=c.teacher_id,
                        room_id=c.room_id,
                        starts_at=starts,
                        ends_at=starts + datetime.timedelta(minutes=c.minutes),
                    )
                )
        Session.objects.bulk_create(rows, batch_size=2000)
    return Session.objects.filter(school_class__in=made).count()
