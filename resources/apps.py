from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResourcesConfig(AppConfig):
    name = "resources"
    verbose_name = _("Courses and classes")

    def ready(self):
        from auditlog.registry import auditlog

        from . import models, panels

        for model in (
            models.Teacher,
            models.TeacherLeave,
            models.Room,
            models.Holiday,
            models.Course,
            models.SchoolClass,
            models.Session,
            models.Enrolment,
            models.Attendance,
            models.RenewalRequest,
            models.TrialLesson,
        ):
            auditlog.register(model)
        panels.register()
        from . import calendar_items

        calendar_items.register()
