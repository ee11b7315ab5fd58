from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Organization")

    def ready(self):
        from auditlog.registry import auditlog

        from . import audit, models

        audit.connect_jobs()
        # ``field__searchable__contains``: a partial search on a trigram-indexed column (crm.db)
        from django.db.models import CharField

        from .db import Searchable

        CharField.register_lookup(Searchable)
        # the people and departments offered by the list filters are cached (crm.fast_table)
        from .fast_table import choices_read_from

        choices_read_from(models.User, models.Department)
        # the department tree the scopes read is cached (crm.department_tree)
        from django.db.models.signals import post_delete, post_save

        from . import department_tree

        post_save.connect(department_tree.tree_changed, sender=models.Department, dispatch_uid="department-tree-save")
        post_delete.connect(department_tree.tree_changed, sender=models.Department, dispatch_uid="department-tree-del")
        auditlog.register(models.Department, include_fields=["name", "kind", "parent", "manager", "wecom_webhook"])
        auditlog.register(
            models.User,
            include_fields=[
                "username",
                "first_name",
                "last_name",
                "email",
                "mobile",
                "department",
                "role",
                "data_scope",
                "is_active",
                "notify_by_email",
                "notify_by_wecom",
                "wecom_webhook",
            ],
        )
        auditlog.register(models.ApprovalRule)
        auditlog.register(models.ApprovalRequest, include_fields=["status", "decided_by", "comment"])
        auditlog.register(models.ApprovalStep, include_fields=["status", "decided_by", "comment"])
        auditlog.register(
            models.ApiClient, include_fields=["name", "description", "department", "can_see_mobile", "is_active"]
        )
