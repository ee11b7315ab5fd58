from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketingConfig(AppConfig):
    name = "marketing"
    verbose_name = _("Marketing")

    def ready(self):
        from auditlog.registry import auditlog

        from . import models

        auditlog.register(models.Campaign, m2m_fields={"batches"})
        auditlog.register(models.Segment, exclude_fields=["size", "counted_at", "problem"])
        auditlog.register(models.Event, exclude_fields=["registered_count", "attended_count"])
        auditlog.register(models.Touch, exclude_fields=["recipients", "held_back"])
        auditlog.register(models.NurturePlan, exclude_fields=["enrolled_at"])
        auditlog.register(models.ContentItem, exclude_fields=["clicks"])
        auditlog.register(models.MarketingSettings, exclude_fields=["attributed_until"])
        from .integration import register

        register()
        from .approvals import register as register_approvals

        register_approvals()
        from . import calendar_items

        calendar_items.register()
