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
from crm.errors import DomainError
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


class EarnInSerializer(PointsInSerializer):
    points = serializers.IntegerField(
        min_value=1,
        max_value=10_000_000,
        required=False,
        help_text="Required without a source; with one, leave it out to award the tier's points for it.",
    )
    reason = serializers.CharField(max_length=100, required=False, help_text="Required without a source.")
    source = serializers.ChoiceField(
        choices=[("check_in", "check_in")],
        required=False,
        help_text="What earned the points: `check_in` (a visit or store check-in, with `reference` your id "
        "of that check-in). Without `points`, the member's tier's earning rule decides the points.",
    )

    def validate(self, data):
        if "source" not in data:
            missing = {name: ["This field is required."] for name in ("points", "reason") if name not in data}
            if missing:
                raise serializers.ValidationError(missing)
        return data


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
        description="With `source: check_in` the points of a check-in: the member's tier's earning rule "
        "decides them unless `points` is given; once per `reference` (the check-in's id).",
        request=EarnInSerializer,
        responses={
            200: PointsOutSerializer,
            404: not_found("No customer with this id or mobile."),
            409: conflict("no_points"),
        },
    )
    @idempotent
    def post(self, request):
        incoming = EarnInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        member = _member(request, data["customer"])
        if data.get("source") and "points" not in data:
            entry = points.award(customer=member.customer, kind=data["source"], reference=data["reference"])
            if entry is None:
                raise DomainError("no_points", "Check-ins earn this member no points.")
            return _answer(entry)
        reason = data.get("reason") or points.SOURCE_LABELS[data["source"]]
        entry = points.earn(member=member, points=data["points"], reason=reason, reference=data["reference"])
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
