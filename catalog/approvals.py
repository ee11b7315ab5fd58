"""Product launches (产品上线) as a kind of the approval engine (``crm.approvals``)."""

from django.utils.translation import gettext_lazy as _

from crm import permissions
from crm.approvals import kinds
from crm.models import ApprovalRelation, Role

from .services import catalogue
from .services.catalogue import LAUNCH_KIND


def _approved(request, product, actor):
    catalogue.on_launch_approved(product=product, actor=actor)


def _rejected(request, product, actor, comment):
    catalogue.on_launch_rejected(product=product, actor=actor, reason=comment)


def _describe(product, key):
    day = key.split(":", 1)[0] if key else ""
    return _("Launch of %(product)s from %(day)s") % {
        "product": product.name,
        "day": day or "-",
    }


def register():
    kinds.register(
        kinds.Kind(
            code=LAUNCH_KIND,
            label=_("Product launch"),
            model="catalog.Product",
            describe=_describe,
            on_approved=_approved,
            on_rejected=_rejected,
            department=lambda product: None,
            may_view=lambda user, product: permissions.can(user, "catalog.view"),
            # a director decides what goes on sale (an admin when the company has none)
            default_steps=((ApprovalRelation.ROLE, Role.DIRECTOR, None),),
            requester=lambda product: product.created_by,
        )
    )
