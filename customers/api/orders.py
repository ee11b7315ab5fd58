"""``POST /api/v1/orders`` and ``POST /api/v1/orders/{external_id}/cancel`` (scope ``orders``)."""

import hashlib
import json

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.base import idempotent
from crm.api.fields import MoneyField
from crm.api.schema import conflict
from crm.errors import Conflict
from crm.models import ApiScope

from .. import regions, services
from ..models import Customer, Order
from ..services.orders import MAX_QUANTITY
from .serializers import CustomerRefSerializer


class OrderCustomerRefSerializer(CustomerRefSerializer):
    """The order's customer; an unknown mobile creates one with this name."""

    name = serializers.CharField(required=False, max_length=100)
    region = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=6,
        help_text="省/市/区 code (6-digit GB/T 2260 adcode) of a customer the order creates.",
    )

    def validate_region(self, value):
        if value and not regions.is_code(value):
            raise serializers.ValidationError("Unknown region code; give a 6-digit province, city or district code.")
        return value


class OrderItemSerializer(serializers.Serializer):
    sku = serializers.CharField(
        max_length=64,
        help_text="A SKU code of the catalogue. An unknown one is 422 on `items[n].sku`, unless the token "
        "has the scope `products:write`: the SKU is then added to the catalogue as a draft.",
    )
    category = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, default=1)
    price = MoneyField(
        required=False,
        allow_null=True,
        help_text="The unit price charged. Absent or null: the catalogue's price for this customer, channel "
        "and day (the winning sales policy's, or the list price).",
    )


class OrderItemOutSerializer(serializers.Serializer):
    sku = serializers.CharField()
    category = serializers.CharField()
    quantity = serializers.IntegerField()
    price = MoneyField(help_text="The unit price charged.")
    policy = serializers.DictField(
        allow_null=True,
        help_text='The sales policy that applied (`{"id", "name", "price"}`, its unit price); '
        "null for the list price or a SKU outside the catalogue.",
    )
    catalogue_price = MoneyField(
        allow_null=True, help_text="The catalogue's unit price (the policy's or the list price); null outside it."
    )


class OrderInSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=100)
    customer = OrderCustomerRefSerializer()
    amount = MoneyField()
    cost = MoneyField(required=False, allow_null=True)
    placed_at = serializers.DateTimeField(required=False)
    channel = serializers.ChoiceField(choices=Order.Channel.choices, required=False, default=Order.Channel.ONLINE)
    items = OrderItemSerializer(many=True, required=False, default=list)
    coupon_code = serializers.CharField(max_length=32, required=False, allow_blank=True)
    partner_code = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        help_text="A partner's referral code: the order is attributed to that partner (422 on an unknown code).",
    )


class OrderOutSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    items = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "external_id",
            "customer",
            "status",
            "amount",
            "cost",
            "discount",
            "channel",
            "placed_at",
            "cancelled_at",
            "items",
        ]

    @extend_schema_field(OrderItemOutSerializer(many=True))
    def get_items(self, obj):
        return [
            {
                "sku": line.sku,
                "category": line.category,
                "quantity": line.quantity,
                "price": f"{line.price:.2f}",
                "policy": None
                if line.policy_id is None
                else {"id": line.policy_id, "name": line.policy_name, "price": f"{line.policy_price:.2f}"},
                "catalogue_price": None if line.policy_price is None else f"{line.policy_price:.2f}",
            }
            for line in obj.lines.all()
        ]


def _fingerprint(data):
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


# the redeem codes of POST /api/v1/coupons/redeem (the coupons app may not be installed)
COUPON_REFUSALS = (
    "not_found",
    "not_owner",
    "already_redeemed",
    "not_yet_valid",
    "expired",
    "threshold_not_met",
    "order_has_coupon",
    "negative_margin",
    "budget_exhausted",
)


class OrderCreateView(APIView):
    required_scope = "orders"

    @extend_schema(
        request=OrderInSerializer,
        responses={
            201: OrderOutSerializer,
            200: OrderOutSerializer,
            409: conflict(
                "conflict",
                *COUPON_REFUSALS,
                description="`conflict`: the external_id was used with another body; "
                "otherwise the coupon was refused and no order is stored.",
            ),
        },
    )
    @idempotent
    def post(self, request):
        incoming = OrderInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        client = request.auth.client
        fingerprint = _fingerprint(incoming.initial_data)
        existing = Order.objects.filter(client=client, external_id=data["external_id"]).first()
        if existing is not None:
            return self._replay(existing, fingerprint)
        try:
            with transaction.atomic():
                # an unknown mobile creates the customer in the client's department pool
                order = services.place_order(
                    customer_ref=data["customer"],
                    new_customer={
                        "actor": client.service_user,
                        "department": client.department,
                        "owner": None,
                        "source": Customer.Source.API,
                        "region": data["customer"].get("region", ""),
                    },
                    amount=data["amount"],
                    cost=data.get("cost"),
                    channel=data["channel"],
                    placed_at=data.get("placed_at"),
                    lines=data["items"],
                    external_id=data["external_id"],
                    client=client,
                    actor=request.user,
                    fingerprint=fingerprint,
                    coupon_code=data.get("coupon_code"),
                    partner_code=data.get("partner_code", ""),
                    unknown_skus="create" if ApiScope.PRODUCTS_WRITE in request.auth.scopes else "refuse",
                )
        except IntegrityError:  # the same external_id was stored by a concurrent request
            return self._replay(Order.objects.get(client=client, external_id=data["external_id"]), fingerprint)
        except ValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages) from exc
        return Response(OrderOutSerializer(order).data, status=status.HTTP_201_CREATED)

    def _replay(self, order, fingerprint):
        if order.fingerprint and order.fingerprint != fingerprint:
            raise Conflict("conflict", "This external_id was already used for a different order.")
        return Response(OrderOutSerializer(order).data, status=status.HTTP_200_OK)


class OrderCancelView(APIView):
    required_scope = "orders"

    @extend_schema(request=None, responses={200: OrderOutSerializer})
    @idempotent
    def post(self, request, external_id):
        # an external_id with NUL was never stored (and PostgreSQL cannot compare one)
        order = (
            None
            if "\x00" in external_id
            else Order.objects.filter(client=request.auth.client, external_id=external_id).first()
        )
        if order is None:
            raise exceptions.NotFound("No order with this external_id for this client.")
        order = services.cancel_order(order=order, actor=request.user)
        return Response(OrderOutSerializer(order).data)
