from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self):
        from auditlog.registry import auditlog
        from django.db.models.signals import post_delete, post_migrate, post_save

        from . import models
        from .services import sources

        # the default lead sources come with the schema: after migrate and after a flush
        post_migrate.connect(sources.ensure_defaults, sender=self, dispatch_uid="lead-source-defaults")
        post_save.connect(sources.forget, sender=models.LeadSource, dispatch_uid="lead-source-forget")
        post_delete.connect(sources.forget, sender=models.LeadSource, dispatch_uid="lead-source-forget-deleted")
        from .selectors import forget_custom_attributes

        post_save.connect(forget_custom_attributes, sender=models.CustomAttribute, dispatch_uid="attributes-forget")
        post_delete.connect(
            forget_custom_attributes, sender=models.CustomAttribute, dispatch_uid="attributes-forget-del"
        )
        # the tag choices of the list filters and bulk actions are cached (crm.fast_table)
        from crm.fast_table import choices_read_from

        choices_read_from(models.Tag, models.TagGroup)

        derived = [
            "order_count",
            "total_amount",
            "avg_order_value",
            "first_order_at",
            "last_order_at",
            "previous_order_at",
            "median_interval_days",
            "satisfaction_level",
            "volume_level",
            "grid_class",
            "value_segment",
            "lifecycle_stage",
            "updated_at",
            "last_followup_at",
            "last_inbound_at",
            "region_province",
            "region_city",
        ]
        # reverse relations are not the customer's fields ("tag_links: customers.CustomerTag.None")
        reverse = [f.name for f in models.Customer._meta.get_fields() if f.auto_created and not f.concrete]
        auditlog.register(models.Customer, exclude_fields=derived + reverse, m2m_fields={"tags"})
        auditlog.register(models.CustomerRelation)
        auditlog.register(models.Order)
        auditlog.register(models.Satisfaction)
        auditlog.register(models.TagGroup, include_fields=["name", "multiple", "color", "position"])
        auditlog.register(models.Tag, include_fields=["group", "name"])
        auditlog.register(models.TagRule, exclude_fields=["last_run_at", "last_count", "last_error"])
        auditlog.register(models.CustomAttribute)
        auditlog.register(models.SegmentationSettings)
        from .integration import register

        register()
