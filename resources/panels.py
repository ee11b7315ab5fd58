"""What resources adds to the apps below it: enrolments and attendance on the 360 timeline, and
"预约试听" on an opportunity at the trial stage."""

from django.utils.translation import gettext_lazy as _

from crm import permissions
from customers import timeline
from sales import opportunity_page

from .models import Attendance, Enrolment
from .services.trials import is_trial_stage


def _trial_action(opportunity, user):
    if not is_trial_stage(opportunity.stage) or not permissions.can(user, "resources.enrol"):
        return None
    return {"opportunity": opportunity}


def register():
    opportunity_page.register(
        "trial", "resources/actions/book_trial.html", _trial_action, place=opportunity_page.ACTION
    )
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
