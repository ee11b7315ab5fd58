from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CdpConfig(AppConfig):
    name = "cdp"
    verbose_name = _("Customer data")

    def ready(self):
        from auditlog.registry import auditlog

        from . import integration, models

        auditlog.register(models.Identity)
        auditlog.register(models.MergeSuggestion)
        auditlog.register(models.CdpSettings)
        integration.register()
