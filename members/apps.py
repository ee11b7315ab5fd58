from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Membership")

    def ready(self):
        from auditlog.registry import auditlog

        from catalog.services import pricing
        from customers import registry

        from . import models, panels, selectors
        from .services import points

        auditlog.register(models.Tier)
        auditlog.register(models.Member)
        auditlog.register(models.PointsEntry)
        auditlog.register(models.TierChange)
        auditlog.register(models.EarnRule)
        auditlog.register(models.PointsOffer)
        registry.register_order_placed("members.points", points.earn_for_order, batch=points.earn_for_orders)
        registry.register_points_awarder(points.award)
        panels.register()
        pricing.register_member_tiers(of=selectors.member_tiers_of, choices=selectors.tier_choices)
