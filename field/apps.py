from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FieldConfig(AppConfig):
    name = "field"
    verbose_name = _("Field work")

    def ready(self):
        from auditlog.registry import auditlog

        from . import models

        auditlog.register(models.WorkSite)
        auditlog.register(models.WorkHours)
        auditlog.register(models.ClockIn, exclude_fields=["device", "evidence", "evidence_signature"])
        auditlog.register(models.Visit, exclude_fields=["photo_sha256", "evidence", "evidence_signature"])
        auditlog.register(models.CheckInRadius)
        auditlog.register(models.WeComAccount)
        auditlog.register(models.WeChatIdentity)
        from . import calendar_items

        calendar_items.register()
