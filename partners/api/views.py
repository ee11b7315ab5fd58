"""``POST /api/v1/partner-leads`` and ``GET /api/v1/partners/{id}/statements`` (scope ``partner``).

A partner's token acts through a service user linked to that partner (``issue_partner_token``), so
the permission layer shows it that partner's records only; another partner's id is 404."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from crm import permissions
from crm.api.base import idempotent
from crm.api.schema import not_found

from .. import selectors
from ..models import LeadRegistration, Statement
from ..services import registrations


def _partner(request):
    """The partner the token belongs to; a token of a client that is no partner's is refused."""
    if permissions.partner_id_of(request.user) is None:
        raise exceptions.PermissionDenied("This token does not belong to a partner.")
    return permissions.visible(request.user, selectors.Partner.objects.all()).get()


class PartnerLeadInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    mobile = serializers.CharField(max_length=20, help_text="An 11-digit mainland mobile number.")


class PartnerLeadOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=["protected", "conflict", "owned"],
        help_text="protected: free, now protected for you; conflict: another partner holds it (never named); "
        "owned: already a customer. A conflict or owned registration is flagged to your channel manager.",
    )
    protected_until = serializers.DateTimeField(allow_null=True)


class PartnerLeadView(APIView):
    required_scope = "partner"

    @extend_schema(
        summary="Register a lead (报备) for the token's partner",
        request=PartnerLeadInSerializer,
        responses={201: PartnerLeadOutSerializer},
    )
    @idempotent
    def post(self, request):
        partner = _partner(request)
        incoming = PartnerLeadInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        registration = registrations.register_lead(
            partner=partner, name=incoming.validated_data["name"], mobile=incoming.validated_data["mobile"]
        )
        outcome = registration.status
        if registration.status == LeadRegistration.Status.CONFLICT and registration.conflict_reason == "owned":
            outcome = "owned"
        return Response(
            {"id": registration.pk, "status": outcome, "protected_until": registration.protected_until},
            status=status.HTTP_201_CREATED,
        )


class StatementLineSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="accrual, clawback, adjustment or rebate; signed amounts.")
    order = serializers.IntegerField(source="order_id", allow_null=True)
    base = serializers.DecimalField(max_digits=14, decimal_places=2)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    note = serializers.CharField()


class StatementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    period = serializers.DateField(help_text="The first day of the month.")
    status = serializers.CharField(help_text="submitted, approved or paid (drafts are not shown).")
    total = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="The sum of the lines.")
    approved_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    confirmed_at = serializers.DateTimeField(allow_null=True)
    lines = StatementLineSerializer(many=True)


class PartnerStatementsView(APIView):
    required_scope = "partner"

    @extend_schema(
        summary="The partner's settlement statements (own partner only)",
        responses={200: StatementSerializer(many=True), 404: not_found("No partner with this id for this token.")},
    )
    def get(self, request, pk):
        partner = _partner(request)
        if partner.pk != pk:
            raise exceptions.NotFound("No partner with this id.")
        rows = (
            permissions.visible(request.user, Statement.objects.exclude(status=Statement.Status.DRAFT))
            .prefetch_related("lines")
            .order_by("-period")[:24]
        )
        return Response(StatementSerializer(rows, many=True).data)
