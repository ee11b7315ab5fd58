from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = _("Partners")

    def ready(self):
        from auditlog.registry import auditlog

        from . import models

        auditlog.register(models.Partner)
        auditlog.register(models.PartnerContact)
        auditlog.register(models.PartnerFollowUp)
