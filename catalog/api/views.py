"""``GET /api/v1/products`` (scope ``products:read``) and ``POST /api/v1/entitlements/{id}/consume``
(scope ``entitlements``)."""

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.base import idempotent
from crm.api.errors import BusinessRuleError
from crm.api.schema import conflict, not_found
from crm.errors import DomainError

from .. import selectors
from ..models import Category
from ..services import entitlements
from ..services.imports import category_path


class ProductPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


class SkuOutSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    product_code = serializers.CharField(source="product.code")
    product_name = serializers.CharField(source="product.name")
    category_path = serializers.SerializerMethodField(
        help_text='The category and those above it, e.g. "教育培训/一对一".'
    )
    spec = serializers.CharField()
    unit = serializers.CharField()
    list_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    status = serializers.SerializerMethodField(help_text='"on_sale": every SKU listed is on sale today.')
    sale_until = serializers.DateField(source="product.sale_until", allow_null=True)
    updated_at = serializers.DateTimeField()

    def get_category_path(self, sku) -> str:
        return category_path(sku.product.category, self.context["category_names"])

    def get_status(self, sku) -> str:
        return "on_sale"


class ProductListView(APIView):
    """The SKUs on sale today."""

    required_scope = "products:read"

    @extend_schema(
        summary="List the SKUs on sale",
        parameters=[
            OpenApiParameter(
                "category",
                int,
                description="A category id: its SKUs and those of the categories below it.",
            ),
            OpenApiParameter(
                "updated_since",
                str,
                description="ISO 8601 time: only SKUs changed since then.",
            ),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 500 (100 by default)."),
        ],
        responses={200: SkuOutSerializer(many=True)},
    )
    def get(self, request):
        category = None
        raw_category = request.query_params.get("category", "").strip()
        if raw_category:
            if not raw_category.isdigit():
                raise exceptions.ValidationError({"category": ["Enter a category id."]})
            category = Category.objects.filter(pk=int(raw_category)).first()
            if category is None:
                raise exceptions.ValidationError({"category": ["Unknown category."]})
        since = None
        raw_since = request.query_params.get("updated_since", "").strip()
        if raw_since:
            try:
                since = parse_datetime(raw_since.replace(" ", "+"))
            except ValueError:
                since = None
            if since is None or since.tzinfo is None:
                raise exceptions.ValidationError({"updated_since": ["Enter an ISO 8601 time with its offset."]})
        skus = selectors.skus_on_sale(category=category, updated_since=since)
        paginator = ProductPagination()
        page = paginator.paginate_queryset(skus, request, view=self)
        names = dict(Category.objects.values_list("pk", "name"))
        data = SkuOutSerializer(page, many=True, context={"category_names": names}).data
        return paginator.get_paginated_response(data)


class ConsumeInSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=entitlements.MAX_USE)
    reference = serializers.CharField(
        max_length=100,
        help_text="Your id of this use: the same reference again takes nothing and answers the first result.",
    )


class ConsumeOutSerializer(serializers.Serializer):
    entitlement = serializers.IntegerField()
    quantity = serializers.IntegerField()
    reference = serializers.CharField()
    balance = serializers.IntegerField(help_text="The balance this use left.")


class EntitlementConsumeView(APIView):
    required_scope = "entitlements"

    @extend_schema(
        summary="Use units of a customer's entitlement",
        request=ConsumeInSerializer,
        responses={
            200: ConsumeOutSerializer,
            404: not_found("No entitlement with this id."),
            409: conflict("insufficient_balance", "expired"),
        },
    )
    @idempotent
    def post(self, request, pk):
        incoming = ConsumeInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        entitlement = selectors.entitlements_for(request.user).filter(pk=pk).first()
        if entitlement is None:
            raise exceptions.NotFound("No entitlement with this id.")
        data = incoming.validated_data
        try:
            use = entitlements.consume(
                entitlement=entitlement,
                quantity=data["quantity"],
                reference=data["reference"],
                actor=request.user,
            )
        except ValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages) from exc
        except DomainError as exc:
            raise BusinessRuleError(exc.code, str(exc)) from exc
        return Response(
            {
                "entitlement": entitlement.pk,
                "quantity": use.quantity,
                "reference": use.reference,
                "balance": use.balance_after,
            }
        )
