"""Contracts above ``CONTRACT_APPROVAL_OVER`` as a kind of the approval engine (``crm.approvals``)."""

from django.utils.translation import gettext_lazy as _

from crm.approvals import kinds
from crm.models import ApprovalRelation

from .services import contracts
from .services.contracts import APPROVAL_KIND


def _approved(request, contract, actor):
    contracts.on_approved(contract=contract)


def _rejected(request, contract, actor, comment):
    contracts.on_rejected(contract=contract)


def _describe(contract, key):
    return _("Contract %(number)s, %(amount)s") % {
        "number": contract.number,
        "amount": f"{contract.amount:,.2f}",
    }


def register():
    kinds.register(
        kinds.Kind(
            code=APPROVAL_KIND,
            label=_("Contract"),
            model="contracts.Contract",
            describe=_describe,
            on_approved=_approved,
            on_rejected=_rejected,
            amount=lambda contract: contract.amount,
            default_steps=((ApprovalRelation.REQUESTER_MANAGER, "", None),),
            requester=lambda contract: contract.created_by,
        )
    )
