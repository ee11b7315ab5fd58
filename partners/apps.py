from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = _("Partners")

    def ready(self):
        from auditlog.registry import auditlog

        from crm.permissions import register_partner_resolver
        from customers.registry import register_lead_captured, register_order_placed

        from . import models
        from .services.commission import on_order_placed, on_orders_placed
        from .services.portal import partner_of_user

        register_partner_resolver(partner_of_user)

        register_order_placed("partners", on_order_placed, batch=on_orders_placed)
        from .services.distribution import on_lead_captured

        register_lead_captured("partners", on_lead_captured)
        from .approvals import register as register_approvals

        register_approvals()

        auditlog.register(models.Partner)
        auditlog.register(models.PartnerContact)
        auditlog.register(models.PartnerFollowUp)
        auditlog.register(models.CommissionRule)
        auditlog.register(models.Attribution)
        auditlog.register(models.Statement)
        auditlog.register(models.StatementLine)
        auditlog.register(models.RebatePlan)
        auditlog.register(models.RebateTier)
        auditlog.register(models.LeadRegistration)
        auditlog.register(models.PartnerUser)
        auditlog.register(models.GradeChange)
        auditlog.register(models.DealerStore)
        auditlog.register(models.LeadDistributionRule, exclude_fields=["updated_at"])
        auditlog.register(models.LeadHandover)
