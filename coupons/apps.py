from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CouponsConfig(AppConfig):
    name = "coupons"
    verbose_name = _("Coupons")

    def ready(self):
        from auditlog.registry import auditlog

        from . import models

        auditlog.register(models.BudgetAccount, exclude_fields=["reserved", "used", "gmv"])
        auditlog.register(models.Campaign)
        auditlog.register(models.Batch, exclude_fields=["issued", "claimed", "redeemed"])
        auditlog.register(models.FiscalPeriod)
        auditlog.register(models.CompensationRule)
        from .integration import register

        register()
        from .approvals import register as register_approvals

        register_approvals()
        # an order's coupon is redeemed in the order's transaction, and given back when it is cancelled
        from customers.services.orders import register_coupon_hooks

        from .services.claims import redeem_for_order, release_for_cancelled_order

        register_coupon_hooks(redeem=redeem_for_order, release=release_for_cancelled_order)
