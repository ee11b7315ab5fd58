"""Courses, classes, sessions, teachers and rooms (课程、班级、课节、老师、教室).

A class's seats are inventory: ``SchoolClass.enrolled`` is taken by a conditional UPDATE and a
CHECK keeps it within ``capacity``. A teacher or a room is never booked twice at the same time:
on PostgreSQL an exclusion constraint over the session's time range (btree_gist), elsewhere the
same rule in ``services.schedule``.
"""

import datetime

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db import models
from django.db.models import F, Func, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

USER = settings.AUTH_USER_MODEL


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = models.DateTimeField()


class Teacher(models.Model):
    """老师: who teaches, the subjects they teach and the hours of the week they can."""

    scope_owner_field = None
    scope_department_field = "department"

    name = models.CharField(_("name"), max_length=50)
    user = models.OneToOneField(
        USER,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="teacher",
    )
    department = models.ForeignKey(
        "crm.Department",
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="teachers",
    )
    skills = models.CharField(_("subjects"), max_length=200, blank=True, help_text=_("Comma-separated."))
    #: weekday (0 = Monday) -> [["09:00", "18:00"], ...]
    availability = models.JSONField(_("weekly availability"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("teacher")
        verbose_name_plural = _("teachers")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("resources:calendar") + f"?teacher={self.pk}"

    def skill_list(self) -> list[str]:
        return [s.strip() for s in self.skills.replace("，", ",").split(",") if s.strip()]

    def available_minutes_per_week(self) -> int:
        total = 0
        for spans in (self.availability or {}).values():
            for start, end in spans:
                a = datetime.time.fromisoformat(start)
                b = datetime.time.fromisoformat(end)
                total += max(0, (b.hour * 60 + b.minute) - (a.hour * 60 + a.minute))
        return total

    def is_available(self, starts_at, ends_at) -> bool:
        """Whether [starts_at, ends_at) lies inside one of the weekday's spans (local time); a
        teacher with no availability set is available at any time."""
        if not self.availability:
            return True
        start = timezone.localtime(starts_at)
        end = timezone.localtime(ends_at)
        for a, b in self.availability.get(str(start.weekday()), []):
            if a <= f"{start:%H:%M}" and f"{end:%H:%M}" <= b:
                return True
        return False


class TeacherLeave(models.Model):
    """老师请假: a teacher is not scheduled from ``starts_on`` to ``ends_on`` (inclusive)."""

    teacher = models.ForeignKey(Teacher, verbose_name=_("teacher"), on_delete=models.CASCADE, related_name="leaves")
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    reason = models.CharField(_("reason"), max_length=100, blank=True)

    class Meta:
        ordering = ["starts_on", "id"]
        verbose_name = _("teacher leave")
        verbose_name_plural = _("teacher leaves")
        constraints = [models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="resources_leave_order")]

    def __str__(self):
        return f"{self.teacher}: {self.starts_on}–{self.ends_on}"


class Room(models.Model):
    """教室 or meeting venue (会场), with the seats it holds."""

    scope_owner_field = None
    scope_department_field = "department"

    name = models.CharField(_("name"), max_length=50)
    department = models.ForeignKey(
        "crm.Department",
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="rooms",
    )
    seats = models.PositiveIntegerField(_("seats"), default=20)
    is_venue = models.BooleanField(_("meeting venue"), default=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("room")
        verbose_name_plural = _("rooms")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("resources:calendar") + f"?room={self.pk}"


class Holiday(models.Model):
    """节假日: no session is generated on this day."""

    day = models.DateField(_("day"), unique=True)
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        ordering = ["day"]
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")

    def __str__(self):
        return f"{self.day} {self.name}"


class Course(models.Model):
    """课程: a subject at a level, so many lessons long, sold as a catalog SKU (whose
    entitlement is the lesson hours)."""

    name = models.CharField(_("name"), max_length=100)
    subject = models.CharField(_("subject"), max_length=50)
    level = models.CharField(_("level"), max_length=50, blank=True)
    lesson_count = models.PositiveIntegerField(_("lessons"), default=20)
    sku = models.ForeignKey(
        "catalog.Sku",
        verbose_name=_("SKU"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="courses",
    )
    renewal_threshold = models.PositiveIntegerField(
        _("renewal at hours left"),
        default=4,
        help_text=_("At this many lesson hours left, the owner is asked to renew."),
    )

    class Meta:
        ordering = ["subject", "level", "name", "id"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        constraints = [models.CheckConstraint(condition=Q(lesson_count__gte=1), name="resources_course_lessons")]

    def __str__(self):
        return self.name


class SchoolClass(models.Model):
    """班级: a course taught to a group by one teacher in one room, with seats."""

    scope_owner_field = None
    scope_department_field = "department"

    course = models.ForeignKey(Course, verbose_name=_("course"), on_delete=models.PROTECT, related_name="classes")
    name = models.CharField(_("name"), max_length=100)
    department = models.ForeignKey(
        "crm.Department",
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="school_classes",
    )
    teacher = models.ForeignKey(Teacher, verbose_name=_("teacher"), on_delete=models.PROTECT, related_name="classes")
    room = models.ForeignKey(Room, verbose_name=_("room"), on_delete=models.PROTECT, related_name="classes")
    capacity = models.PositiveIntegerField(_("capacity"))
    enrolled = models.PositiveIntegerField(_("enrolled"), default=0, editable=False)
    #: the schedule rule: weekdays (0 = Monday), a start time and a length, from a first day
    weekdays = models.JSONField(_("weekdays"), default=list)
    start_time = models.TimeField(_("start time"))
    minutes = models.PositiveIntegerField(_("minutes"), default=90)
    first_day = models.DateField(_("first day"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["course__subject", "name", "id"]
        verbose_name = _("class")
        verbose_name_plural = _("classes")
        constraints = [
            models.CheckConstraint(condition=Q(enrolled__lte=F("capacity")), name="resources_class_seats"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="resources_class_capacity"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("resources:class", args=[self.pk])

    @property
    def fill_rate(self):
        return round(100 * self.enrolled / self.capacity) if self.capacity else 0


class Session(models.Model):
    """课节: one lesson of a class at a time, with its teacher and room (a substitute may teach)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    school_class = models.ForeignKey(
        SchoolClass, verbose_name=_("class"), on_delete=models.CASCADE, related_name="sessions"
    )
    number = models.PositiveIntegerField(_("lesson no."))
    teacher = models.ForeignKey(Teacher, verbose_name=_("teacher"), on_delete=models.PROTECT, related_name="sessions")
    room = models.ForeignKey(Room, verbose_name=_("room"), on_delete=models.PROTECT, related_name="sessions")
    starts_at = models.DateTimeField(_("starts at"), db_index=True)
    ends_at = models.DateTimeField(_("ends at"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SCHEDULED)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="resources_session_order"),
            models.UniqueConstraint(fields=["school_class", "number"], name="resources_session_number"),
            # PostgreSQL only (the migration skips them elsewhere): no double booking
            ExclusionConstraint(
                name="resources_teacher_no_overlap",
                expressions=[
                    (TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                    ("teacher", RangeOperators.EQUAL),
                ],
                condition=~Q(status="cancelled"),
            ),
            ExclusionConstraint(
                name="resources_room_no_overlap",
                expressions=[
                    (TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                    ("room", RangeOperators.EQUAL),
                ],
                condition=~Q(status="cancelled"),
            ),
        ]

    def __str__(self):
        local = timezone.localtime(self.starts_at)
        return f"{self.school_class} #{self.number} {local:%Y-%m-%d %H:%M}"

    def get_absolute_url(self):
        return reverse("resources:session", args=[self.pk])


class Enrolment(models.Model):
    """报名: a student (a customer) in a class — holding a seat, or waiting for one."""

    scope_owner_field = "customer__owner"
    scope_department_field = "customer__department"

    class Status(models.TextChoices):
        ENROLLED = "enrolled", _("Enrolled")
        WAITING = "waiting", _("Waiting")
        LEFT = "left", _("Left")

    school_class = models.ForeignKey(
        SchoolClass, verbose_name=_("class"), on_delete=models.CASCADE, related_name="enrolments"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("student"),
        on_delete=models.CASCADE,
        related_name="enrolments",
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ENROLLED)
    entitlement = models.ForeignKey(
        "catalog.Entitlement",
        verbose_name=_("lesson hours"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("enrolled at"), default=timezone.now)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [
            models.UniqueConstraint(
                fields=["school_class", "customer"],
                condition=~Q(status="left"),
                name="resources_enrolment_once",
            )
        ]

    def __str__(self):
        return f"{self.customer} · {self.school_class}"

    def get_absolute_url(self):
        return reverse("resources:class", args=[self.school_class_id])


class Attendance(models.Model):
    """考勤: a student at a session — present and absent use a lesson hour, leave does not."""

    class Status(models.TextChoices):
        PRESENT = "present", _("Present")
        ABSENT = "absent", _("Absent")
        LEAVE = "leave", _("On leave")

    session = models.ForeignKey(Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="attendance")
    enrolment = models.ForeignKey(
        Enrolment, verbose_name=_("enrolment"), on_delete=models.CASCADE, related_name="attendance"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    is_makeup = models.BooleanField(_("make-up lesson"), default=False)
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["session__starts_at", "id"]
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        constraints = [models.UniqueConstraint(fields=["session", "enrolment"], name="resources_attendance_once")]

    def __str__(self):
        return f"{self.enrolment.customer} · {self.session}: {self.get_status_display()}"


class RenewalRequest(models.Model):
    """续费: the renewal opportunity opened for an enrolment whose hours reached a threshold —
    once per enrolment and threshold (the unique constraint)."""

    enrolment = models.ForeignKey(
        Enrolment, verbose_name=_("enrolment"), on_delete=models.CASCADE, related_name="renewals"
    )
    threshold = models.PositiveIntegerField(_("threshold"))
    opportunity = models.ForeignKey(
        "sales.Opportunity",
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("renewal request")
        verbose_name_plural = _("renewal requests")
        constraints = [models.UniqueConstraint(fields=["enrolment", "threshold"], name="resources_renewal_once")]

    def __str__(self):
        return f"{self.enrolment}: {self.threshold}"


class TrialLesson(models.Model):
    """试听: a prospect booked into a session from an opportunity; a trial takes a seat too."""

    scope_owner_field = "opportunity__owner"
    scope_department_field = "opportunity__department"

    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        ATTENDED = "attended", _("Attended")
        NO_SHOW = "no_show", _("No-show")
        CANCELLED = "cancelled", _("Cancelled")

    opportunity = models.ForeignKey(
        "sales.Opportunity",
        verbose_name=_("opportunity"),
        on_delete=models.CASCADE,
        related_name="trial_lessons",
    )
    session = models.ForeignKey(Session, verbose_name=_("session"), on_delete=models.PROTECT, related_name="trials")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.BOOKED)
    booked_at = models.DateTimeField(default=timezone.now)
    booked_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-booked_at", "-id"]
        verbose_name = _("trial lesson")
        verbose_name_plural = _("trial lessons")
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "session"],
                condition=~Q(status="cancelled"),
                name="resources_trial_once",
            )
        ]

    def __str__(self):
        return f"{self.opportunity} · {self.session}"

    def get_absolute_url(self):
        return reverse("resources:session", args=[self.session_id])
