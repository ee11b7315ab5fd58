from django.apps import AppConfig
from django.db.models.signals import post_migrate
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
        post_migrate.connect(_ensure_sold_lines, sender=self)


def _ensure_sold_lines(sender, using="default", **kwargs):
    """SQLite drops a table's triggers when a migration remakes the table: put the sold lines'
    triggers back (and rebuild the table) whenever one is missing after ``migrate`` — once the
    migration that installs them is applied (not after migrating back past it)."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    from .sold_lines import ensure

    if ("catalog", "0003_sold_line_triggers") in MigrationRecorder(connections[using]).applied_migrations():
        ensure(using)
