from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Organization")

    def ready(self):
        from auditlog.registry import auditlog

        from . import models

        auditlog.register(models.Department)
        auditlog.register(models.User, exclude_fields=["password", "last_login"])
        auditlog.register(models.ApiClient)
