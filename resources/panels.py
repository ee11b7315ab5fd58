"""What resources adds to the apps below it: enrolments and attendance on the 360 timeline."""

from django.utils.translation import gettext_lazy as _

from customers import timeline

from .models import Attendance, Enrolment


def register():
    timeline.register(
        "enrolment",
        _("Classes"),
        lambda customer: timeline.entries(Enrolment.objects.filter(customer=customer), "enrolment", "created_at"),
        lambda ids: Enrolment.objects.filter(pk__in=ids).select_related("school_class__course", "entitlement"),
        "resources/timeline/enrolment.html",
        icon="bi-mortarboard",
    )
    timeline.register(
        "attendance",
        _("Lessons"),
        lambda customer: timeline.entries(
            Attendance.objects.filter(enrolment__customer=customer), "attendance", "recorded_at"
        ),
        lambda ids: Attendance.objects.filter(pk__in=ids).select_related("session__school_class", "session__teacher"),
        "resources/timeline/attendance.html",
        icon="bi-calendar-check",
    )
