"""``POST /api/v1/leads`` (scope ``leads``)."""
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.base import idempotent
from crm.phone import normalize_mobile
from customers.models import Customer

from .. import services
from ..models import Lead


class LeadInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    mobile = serializers.CharField(max_length=30)
    source = serializers.ChoiceField(choices=Customer.Source.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    external_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    tags = serializers.ListField(child=serializers.CharField(max_length=101), required=False, default=list)


    def validate_mobile(self, value):
        try:
            return normalize_mobile(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages)


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
            raise exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else
                                             {"non_field_errors": exc.messages})
        except IntegrityError:
            existing = Lead.objects.get(client=client, external_id=data["external_id"])
            return Response(LeadOutSerializer(existing).data, status=status.HTTP_200_OK)
        return Response(LeadOutSerializer(lead).data, status=status.HTTP_201_CREATED)
