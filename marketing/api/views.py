"""``POST /api/v1/events/{id}/registrations`` (scope ``marketing``): a sign-up form, a ticketing
system or a check-in kiosk registers people for an event and records attendance."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.base import idempotent
from crm.api.schema import conflict
from crm.errors import Conflict
from customers.api.serializers import CustomerRefSerializer
from customers.services import find_customer

from ..models import Event, Registration
from ..services import campaigns as campaign_rules


class PersonSerializer(CustomerRefSerializer):
    """A customer by id or mobile (normalized), with a name for someone new."""

    name = serializers.CharField(required=False, max_length=100, help_text="Needed for someone new.")


class RegistrationInSerializer(serializers.Serializer):
    customer = PersonSerializer()
    attended = serializers.BooleanField(default=False, help_text="Check the person in now.")


class RegistrationOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event = serializers.IntegerField(source="event_id")
    status = serializers.CharField()
    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    lead = serializers.IntegerField(source="lead_id", allow_null=True)
    registered_at = serializers.DateTimeField()
    checked_in_at = serializers.DateTimeField(allow_null=True)


class RegistrationView(APIView):
    """Register (idempotent per person and event) and optionally check in. 409 ``event_full`` when
    the event's capacity is reached, ``event_closed`` when its campaign is not approved or running."""

    required_scope = "marketing"

    @extend_schema(
        request=RegistrationInSerializer,
        responses={
            201: RegistrationOutSerializer,
            200: RegistrationOutSerializer,
            409: conflict("event_full", "event_closed"),
        },
    )
    @idempotent
    def post(self, request, pk):
        event = get_object_or_404(Event.objects.select_related("campaign"), pk=pk)
        incoming = RegistrationInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        if not event.campaign.can_send:
            raise Conflict("event_closed", "The event's campaign is not approved or running.")
        person = data["customer"]
        customer = None
        if person.get("id"):
            customer = find_customer({"id": person["id"]})
            if customer is None:
                raise serializers.ValidationError({"customer": ["No customer with this id."]})
        existed = (
            Registration.objects.filter(event=event)
            .filter(**({"customer": customer} if customer else {"mobile": person.get("mobile", "")}))
            .exists()
        )
        try:
            registration = campaign_rules.register(
                event=event,
                customer=customer,
                mobile=person.get("mobile", ""),
                name=person.get("name", ""),
                attended=data["attended"],
                source=Registration.Source.API,
                actor=request.user,
            )
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):
                raise Conflict("event_full", " ".join(exc.messages)) from exc
            raise serializers.ValidationError(exc.message_dict) from exc
        return Response(
            RegistrationOutSerializer(registration).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )
