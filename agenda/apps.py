from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AgendaConfig(AppConfig):
    name = "agenda"
    verbose_name = _("Calendar")

    def ready(self):
        from auditlog.registry import auditlog

        from . import models

        auditlog.register(models.CalendarFeed, exclude_fields=["token_hash"])
