"""``GET /api/v1/members/{id}``, ``POST /api/v1/points/earn`` and ``POST /api/v1/points/spend``
(scope ``members``): the member's balance and tier; points earned and spent, idempotent on
``reference`` (and on the Idempotency-Key header); a balance never goes below zero."""

from django.db.models import Sum
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.base import idempotent
from crm.api.schema import conflict, not_found
from customers.api.serializers import CustomerRefSerializer
from customers.selectors import customers_for
from customers.services import find_customer

from .. import selectors
from ..models import PointsEntry
from ..services import points


class MemberOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    name = serializers.CharField(source="customer.name")
    tier = serializers.CharField(source="tier.name", allow_null=True, default=None)
    points = serializers.IntegerField(help_text="The balance: never below zero.")
    joined_at = serializers.DateTimeField()
    projected_tier = serializers.CharField(allow_null=True, help_text="The tier after this month's end.")
    next_tier = serializers.CharField(allow_null=True)
    points_to_next = serializers.IntegerField(allow_null=True)
    expiring = serializers.ListField(
        child=serializers.DictField(), help_text='Points held by expiry date: [{"expires_on", "points"}].'
    )


class PointsInSerializer(serializers.Serializer):
    customer = CustomerRefSerializer()
    points = serializers.IntegerField(min_value=1, max_value=10_000_000)
    reference = serializers.CharField(
        max_length=100, help_text="Your id of this change: the same reference again changes nothing."
    )
    reason = serializers.CharField(max_length=100)


class PointsOutSerializer(serializers.Serializer):
    member = serializers.IntegerField()
    entry = serializers.IntegerField()
    points = serializers.IntegerField(help_text="This change: positive earned, negative spent.")
    balance = serializers.IntegerField()
    tier = serializers.CharField(allow_null=True)
    expires_on = serializers.DateField(allow_null=True, help_text="Earned points: the day they expire.")


def _member_data(member):
    standing = selectors.standing(member)
    expiring = (
        PointsEntry.objects.filter(member=member, remaining__gt=0, expires_on__isnull=False)
        .order_by("expires_on")
        .values("expires_on")
        .annotate(points=Sum("remaining"))[:12]
    )
    return MemberOutSerializer(
        {
            "id": member.pk,
            "customer_id": member.customer_id,
            "customer": member.customer,
            "tier": member.tier,
            "points": member.points,
            "joined_at": member.joined_at,
            "projected_tier": standing["projected"].name if standing["projected"] else None,
            "next_tier": standing["next_tier"].name if standing["next_tier"] else None,
            "points_to_next": standing["points_to_next"],
            "expiring": [{"expires_on": row["expires_on"].isoformat(), "points": row["points"]} for row in expiring],
        }
    ).data


class MemberDetailView(APIView):
    required_scope = "members"

    @extend_schema(
        summary="A member's points, tier and the points that expire",
        responses={200: MemberOutSerializer, 404: not_found("No member with this id.")},
    )
    def get(self, request, pk):
        member = selectors.members_for(request.user).filter(pk=pk).first()
        if member is None:
            raise exceptions.NotFound("No member with this id.")
        return Response(_member_data(member))


def _member(request, ref):
    customer = find_customer(ref, queryset=customers_for(request.user))
    if customer is None:
        raise exceptions.NotFound("No customer with this id or mobile.")
    return points.member_for(customer)


def _answer(entry):
    member = entry.member
    member.refresh_from_db(fields=["points", "tier"])
    return Response(
        {
            "member": member.pk,
            "entry": entry.pk,
            "points": entry.delta,
            "balance": member.points,
            "tier": member.tier.name if member.tier_id else None,
            "expires_on": entry.expires_on.isoformat() if entry.expires_on else None,
        }
    )


class PointsEarnView(APIView):
    required_scope = "members"

    @extend_schema(
        summary="Give a customer points (joins the membership on the first award)",
        request=PointsInSerializer,
        responses={200: PointsOutSerializer, 404: not_found("No customer with this id or mobile.")},
    )
    @idempotent
    def post(self, request):
        incoming = PointsInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        member = _member(request, data["customer"])
        entry = points.earn(member=member, points=data["points"], reason=data["reason"], reference=data["reference"])
        return _answer(entry)


class PointsSpendView(APIView):
    required_scope = "members"

    @extend_schema(
        summary="Spend a customer's points, the oldest-expiring first",
        request=PointsInSerializer,
        responses={
            200: PointsOutSerializer,
            404: not_found("No customer with this id or mobile."),
            409: conflict("insufficient_points"),
        },
    )
    @idempotent
    def post(self, request):
        incoming = PointsInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        member = _member(request, data["customer"])
        entry = points.spend(member=member, points=data["points"], reason=data["reason"], reference=data["reference"])
        return _answer(entry)
