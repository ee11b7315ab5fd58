from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from crm import privacy
from crm.phone import normalize_mobile

from ..selectors import customers_for
from .serializers import CustomerSummarySerializer


def _log_read(request, pks):
    if pks:
        privacy.log_access(
            action=privacy.Action.API_READ,
            subject=privacy.Subject.CUSTOMER,
            ids=pks,
            client=request.auth.client,
            user=None,
            request=None,
        )


def _context(request):
    client = request.auth.client
    return {"show_mobile": client.can_see_mobile}


class CustomerLookupView(APIView):
    """Find customers by mobile: ``GET /api/v1/customers?mobile=…``."""

    required_scope = "customers:read"

    @extend_schema(
        parameters=[OpenApiParameter("mobile", str, required=True, description="China mobile number")],
        responses=CustomerSummarySerializer(many=True),
    )
    def get(self, request):
        raw = request.query_params.get("mobile", "")
        try:
            mobile = normalize_mobile(raw)
        except Exception as exc:
            raise exceptions.ValidationError({"mobile": list(getattr(exc, "messages", [str(exc)]))}) from exc
        customers = list(customers_for(request.user).filter(mobile=mobile).prefetch_related("tags")[:20])
        _log_read(request, [customer.pk for customer in customers])
        return Response(CustomerSummarySerializer(customers, many=True, context=_context(request)).data)


class CustomerDetailView(APIView):
    required_scope = "customers:read"

    @extend_schema(responses=CustomerSummarySerializer)
    def get(self, request, pk):
        customer = customers_for(request.user).filter(pk=pk).prefetch_related("tags").first()
        if customer is None:
            raise exceptions.NotFound("No customer with this id.")
        _log_read(request, [customer.pk])
        return Response(CustomerSummarySerializer(customer, context=_context(request)).data)
