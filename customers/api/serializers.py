from django.core.exceptions import ValidationError
from rest_framework import serializers

from crm.phone import mask_mobile, normalize_mobile

from ..models import Customer


class CustomerRefSerializer(serializers.Serializer):
    """A customer named by a request: ``{"id"}`` or ``{"mobile"}`` (normalized here), as every
    endpoint takes one (``customers.services.find_customer`` resolves it)."""

    id = serializers.IntegerField(required=False)
    mobile = serializers.CharField(required=False, max_length=30)

    def validate(self, data):
        if not data.get("id") and not data.get("mobile"):
            raise serializers.ValidationError("Give the customer's id or mobile.")
        if data.get("mobile"):
            try:
                data["mobile"] = normalize_mobile(data["mobile"])
            except ValidationError as exc:
                raise serializers.ValidationError({"mobile": exc.messages})
        return data


class CustomerSummarySerializer(serializers.ModelSerializer):
    mobile = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    last_order_date = serializers.SerializerMethodField()
    total = serializers.DecimalField(source="total_amount", max_digits=14, decimal_places=2)
    average_order_value = serializers.DecimalField(source="avg_order_value", max_digits=12, decimal_places=2)

    class Meta:
        model = Customer
        fields = [
            "id", "name", "mobile", "tags", "lifecycle_stage", "value_segment",
            "order_count", "total", "average_order_value", "last_order_date",
        ]

    def get_mobile(self, obj) -> str:
        return obj.mobile if self.context.get("show_mobile") else mask_mobile(obj.mobile)

    def get_tags(self, obj) -> list[str]:
        return sorted(tag.name for tag in obj.tags.all())

    def get_last_order_date(self, obj) -> str | None:
        if obj.last_order_at is None:
            return None
        from django.utils import timezone

        return timezone.localtime(obj.last_order_at).date().isoformat()
