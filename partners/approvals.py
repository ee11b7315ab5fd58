"""Settlement statements (结算单) as a kind of the approval engine (``crm.approvals``)."""

from django.utils.translation import gettext_lazy as _

from crm.approvals import kinds
from crm.models import ApprovalRelation, Role

from .services import statements
from .services.statements import STATEMENT_KIND


def _approved(request, statement, actor):
    statements.on_approved(statement, actor)


def _rejected(request, statement, actor, comment):
    statements.on_rejected(statement, actor)


def register():
    kinds.register(
        kinds.Kind(
            code=STATEMENT_KIND,
            label=_("Partner settlement statement"),
            model="partners.Statement",
            describe=lambda statement, key: (
                _("Settlement of %(partner)s for %(month)s")
                % {"partner": statement.partner.name, "month": statement.period.strftime("%Y-%m")}
            ),
            on_approved=_approved,
            on_rejected=_rejected,
            amount=lambda statement: statement.total,
            department=lambda statement: statement.partner.department,
            default_steps=((ApprovalRelation.ROLE, Role.DIRECTOR, None),),
            requester=lambda statement: statement.prepared_by,
        )
    )
