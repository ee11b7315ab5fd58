from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("Products and sales policies")

    def ready(self):
        from auditlog.registry import auditlog

        from . import models

        auditlog.register(models.Category, exclude_fields=["path"])
        auditlog.register(models.Product, exclude_fields=["updated_at"])
        auditlog.register(models.Sku, exclude_fields=["updated_at"])
        auditlog.register(models.SalesPolicy)
        auditlog.register(
            models.Entitlement,
            exclude_fields=["balance", "updated_at", "renewal_flagged_at"],
        )
        auditlog.register(models.EntitlementUse)
        from .approvals import register as register_approvals
        from .integration import register

        register()
        register_approvals()
