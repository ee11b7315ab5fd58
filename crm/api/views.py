from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView


class PingView(APIView):
    """A trivial authenticated endpoint: checks a token and measures the API's floor."""

    @extend_schema(
        responses=inline_serializer("Ping", {"ok": serializers.BooleanField(), "client": serializers.CharField()})
    )
    def get(self, request):
        return Response({"ok": True, "client": request.auth.client.name})
