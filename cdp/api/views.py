"""``POST /api/v1/events`` (scope ``events``): a batch of behaviour events."""

from django.conf import settings
from drf_spectacular.plumbing import build_array_type, build_object_type
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.auth import ClientRateThrottle
from crm.api.base import idempotent
from crm.api.parsers import PayloadTooLarge

from ..services import events

MAX_BATCH_BYTES = 512 * 1024


EVENT_HELP = (
    'One event: "id" (your id, 1–64 characters: sent again it is stored once), "type" (page_view, click, '
    'live_watch, video_watch, form_view or custom), "name" (required for custom), "at" (ISO 8601 with its '
    'offset), "customer" ({"id"}, {"mobile"} or {"identity": {"kind", "value"}}) and "properties" (an '
    "object, up to 4 KB). At most 500 events and 512 KB per request (else 413)."
)


class RefusedSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The event's position in the batch, from 0.")
    id = serializers.CharField(allow_null=True)
    code = serializers.ChoiceField(
        choices=[
            "invalid",
            "invalid_id",
            "invalid_type",
            "invalid_name",
            "invalid_time",
            "too_old",
            "in_future",
            "invalid_properties",
            "invalid_customer",
            "unknown_customer",
        ]
    )
    message = serializers.CharField()


class BatchOutSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Events stored now or before (a repeated id counts once here).")
    duplicates = serializers.IntegerField(help_text="Of the accepted, those whose id had been received before.")
    refused = RefusedSerializer(
        many=True, help_text="Every event not stored, with its reason; none is dropped silently."
    )


class EventRateThrottle(ClientRateThrottle):
    """Events come in bulk: their own rate per client, apart from the other endpoints'."""

    scope = "events"

    def get_rate(self):
        return getattr(settings, "API_EVENTS_RATE_LIMIT", "3000/min")


class EventBatchView(APIView):
    required_scope = "events"
    throttle_classes = [EventRateThrottle]

    @extend_schema(
        summary="Send behaviour events",
        # Each event is checked on its own and a refused one is answered in "refused": the schema
        # asks only for a list of objects (EVENT_HELP names the fields of one event)
        request={
            "application/json": build_array_type(build_object_type(additionalProperties=True, description=EVENT_HELP))
        },
        responses={200: BatchOutSerializer},
        examples=[
            OpenApiExample(
                "A live stream watched",
                value=[
                    {
                        "id": "evt-0001",
                        "type": "live_watch",
                        "at": "2026-12-01T20:00:00+08:00",
                        "customer": {"mobile": "13800138000"},
                        "properties": {"room": "数学公开课", "minutes": 42},
                    }
                ],
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request):
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BATCH_BYTES:
            raise PayloadTooLarge("A batch is at most 512 KB.")
        batch = request.data
        if not isinstance(batch, list) or not all(isinstance(item, dict) for item in batch):
            raise exceptions.ValidationError({"events": ["Send a list of event objects."]})
        if len(batch) > events.MAX_BATCH:
            raise PayloadTooLarge(f"A batch is at most {events.MAX_BATCH} events; this one has {len(batch)}.")
        result = events.ingest(client_id=request.auth.client_id, events=batch)
        return Response({"accepted": result.accepted, "duplicates": result.duplicates, "refused": result.refused})
