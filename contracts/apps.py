from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = _("Contracts and collections")

    def ready(self):
        from auditlog.registry import auditlog

        from . import models
        from .approvals import register as register_approvals
        from .integration import register

        auditlog.register(models.Contract, exclude_fields=["updated_at"])
        auditlog.register(models.ContractLine)
        auditlog.register(models.ContractAttachment)
        auditlog.register(models.Instalment)
        auditlog.register(models.Payment)
        auditlog.register(models.Invoice)
        auditlog.register(models.DunningLevel)
        auditlog.register(models.Competitor)
        auditlog.register(models.CompetitorQuote)
        register()
        register_approvals()
