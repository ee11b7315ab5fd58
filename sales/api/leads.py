"""``POST /api/v1/leads`` (scope ``leads``)."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.base import idempotent
from crm.phone import normalize_mobile
from customers.services.sources import active_sources, check_source

from .. import services
from ..models import Lead


class LeadInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    mobile = serializers.CharField(max_length=30)
    source = serializers.CharField(max_length=20, help_text="An active lead source code (GET /api/v1/lead-sources).")
    note = serializers.CharField(required=False, allow_blank=True, default="")
    external_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    tags = serializers.ListField(child=serializers.CharField(max_length=101), required=False, default=list)

    def validate_source(self, value):
        try:
            return check_source(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["source"]) from exc

    def validate_mobile(self, value):
        try:
            return normalize_mobile(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc


class LeadOutSerializer(serializers.ModelSerializer):
    duplicate_of = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = ["id", "status", "grade", "score", "duplicate_of"]

    def get_duplicate_of(self, obj) -> int | None:
        return obj.duplicate_of_id


class LeadCreateView(APIView):
    required_scope = "leads"

    @extend_schema(request=LeadInSerializer, responses={201: LeadOutSerializer, 200: LeadOutSerializer})
    @idempotent
    def post(self, request):
        incoming = LeadInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        client = request.auth.client
        if data["external_id"]:
            existing = Lead.objects.filter(client=client, external_id=data["external_id"]).first()
            if existing is not None:
                return Response(LeadOutSerializer(existing).data, status=status.HTTP_200_OK)
        try:
            lead = services.capture_lead(client=client, actor=None, **data)
        except ValidationError as exc:
            raise exceptions.ValidationError(
                exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
            ) from exc
        except IntegrityError:
            existing = Lead.objects.get(client=client, external_id=data["external_id"])
            return Response(LeadOutSerializer(existing).data, status=status.HTTP_200_OK)
        return Response(LeadOutSerializer(lead).data, status=status.HTTP_201_CREATED)


class LeadSourceSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="What to send as `source` in POST /api/v1/leads.")
    name = serializers.CharField()
    group = serializers.CharField(help_text="The channel group (线上, 线下 …); may be empty.")


class LeadSourceListView(APIView):
    """``GET /api/v1/lead-sources`` (scope ``leads``): the active lead sources."""

    required_scope = "leads"

    @extend_schema(
        summary="List the active lead sources",
        responses={200: LeadSourceSerializer(many=True)},
        description="The codes `POST /api/v1/leads` accepts as `source`; an unknown or inactive "
        "code there is 422 on `source`.",
    )
    def get(self, request):
        return Response(LeadSourceSerializer(active_sources(), many=True).data)
