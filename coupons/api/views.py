"""``POST /api/v1/coupons/claim`` and ``POST /api/v1/coupons/redeem`` (scope ``coupons``)."""

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.base import idempotent
from crm.api.fields import MoneyField
from crm.api.schema import conflict, not_found
from crm.errors import Conflict, NotFound
from customers import services as customer_services
from customers.api.serializers import CustomerRefSerializer
from customers.models import Customer, Order

from ..services import claims


class CouponCustomerRefSerializer(CustomerRefSerializer):
    """The coupon's customer (never created here: unknown is 404)."""


def find_customer(ref):
    customer = customer_services.find_customer(ref)
    if customer is None:
        raise NotFound("No customer with this id or mobile.")
    return customer


class ClaimInSerializer(serializers.Serializer):
    batch = serializers.CharField(max_length=40)
    customer = CouponCustomerRefSerializer()
    channel = serializers.CharField(max_length=30)


class CouponOutSerializer(serializers.Serializer):
    code = serializers.CharField()
    batch = serializers.CharField(source="batch.code")
    discount_type = serializers.CharField(source="batch.discount_type")
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    percent = serializers.DecimalField(source="batch.percent", max_digits=5, decimal_places=2)
    threshold = serializers.DecimalField(source="batch.threshold", max_digits=10, decimal_places=2)
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField()
    channel = serializers.CharField()


class ClaimView(APIView):
    required_scope = "coupons"

    @extend_schema(
        request=ClaimInSerializer,
        responses={
            201: CouponOutSerializer,
            404: not_found("No customer with this id or mobile."),
            409: conflict(
                "batch_not_active", "sold_out", "per_customer_limit", "daily_limit", "not_eligible", "budget_exhausted"
            ),
        },
    )
    @idempotent
    def post(self, request):
        incoming = ClaimInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        ref = data["customer"]
        try:  # the customer is looked up and locked in the claim's first statement
            coupon = claims.claim(
                batch_code=data["batch"],
                customer_id=ref.get("id") or None,
                customer_mobile=None if ref.get("id") else ref["mobile"],
                channel=data["channel"],
            )
        except Customer.DoesNotExist as exc:
            raise NotFound("No customer with this id or mobile.") from exc
        return Response(CouponOutSerializer(coupon).data, status=status.HTTP_201_CREATED)


class OrderRefSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=100)
    amount = MoneyField()
    cost = MoneyField(required=False, allow_null=True)


class RedeemInSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=32)
    order = OrderRefSerializer()
    customer = CouponCustomerRefSerializer()


class RedeemOutSerializer(serializers.Serializer):
    code = serializers.CharField()
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    payable = serializers.DecimalField(max_digits=12, decimal_places=2)
    subsidy = serializers.DecimalField(max_digits=12, decimal_places=2)


class RedeemView(APIView):
    required_scope = "coupons"

    @extend_schema(
        request=RedeemInSerializer,
        responses={
            200: RedeemOutSerializer,
            404: not_found("No customer with this id or mobile."),
            409: conflict(
                "not_found",
                "not_owner",
                "already_redeemed",
                "not_yet_valid",
                "expired",
                "threshold_not_met",
                "order_has_coupon",
                "negative_margin",
                "budget_exhausted",
            ),
        },
    )
    @idempotent
    def post(self, request):
        incoming = RedeemInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        customer = find_customer(data["customer"])
        client = request.auth.client
        with transaction.atomic():
            order = Order.objects.filter(client=client, external_id=data["order"]["external_id"]).first()
            if order is None:  # a new order, placed with the coupon in one transaction
                redemption = customer_services.place_order(
                    customer=customer,
                    amount=data["order"]["amount"],
                    cost=data["order"].get("cost"),
                    channel=Order.Channel.ONLINE,
                    external_id=data["order"]["external_id"],
                    client=client,
                    actor=request.user,
                    coupon_code=data["code"],
                ).redemption
            elif order.customer_id != customer.pk:
                raise Conflict("not_owner", "This order belongs to another customer.")
            else:  # the client's order stored before: the coupon is used on it
                redemption = customer_services.redeem_coupon(
                    code=data["code"], customer=customer, order=order, lines=[]
                )
        return Response(
            RedeemOutSerializer(
                {
                    "code": redemption.coupon.code,
                    "discount": redemption.discount,
                    "payable": redemption.order_amount - redemption.discount,
                    "subsidy": redemption.subsidy,
                }
            ).data
        )
