from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = _("Sales")

    def ready(self):
        from auditlog.registry import auditlog

        from . import models

        for model in (
            models.Lead,
            models.Opportunity,
            models.FollowUp,
            models.Task,
            models.PoolRule,
            models.OpportunityStage,
            models.ScoringRule,
            models.AssignmentRule,
            models.Target,
            models.ServiceTicket,
            models.SalesSettings,
        ):
            auditlog.register(
                model, exclude_fields=["stage_entered_at", "updated_at", "last_followup_at", "region_code"]
            )
        # the notes, read marks and comments of reports; not the figures refreshed each night
        auditlog.register(models.Report, exclude_fields=["figures", "generated_at"])
        from .integration import register
        from .signals import connect

        register()
        connect()
        from .approvals import register as register_approvals

        register_approvals()
        from .calendar_items import register as register_calendar

        register_calendar()
        from customers.selectors import register_unmatched_regions

        from .selectors_regions import unmatched_lead_regions, unmatched_rule_regions

        register_unmatched_regions(_("Leads"), unmatched_lead_regions)
        register_unmatched_regions(_("Assignment rules"), unmatched_rule_regions)
