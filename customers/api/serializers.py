from django.core.exceptions import ValidationError
from rest_framework import serializers

from crm.phone import mask_mobile, normalize_mobile

from .. import regions
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
                raise serializers.ValidationError({"mobile": exc.messages}) from exc
        return data


class CustomerSummarySerializer(serializers.ModelSerializer):
    mobile = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    last_order_date = serializers.SerializerMethodField()
    total = serializers.DecimalField(source="total_amount", max_digits=14, decimal_places=2)
    average_order_value = serializers.DecimalField(source="avg_order_value", max_digits=12, decimal_places=2)
    region = serializers.CharField(help_text='省/市/区 code (6-digit GB/T 2260 adcode), "" when unknown.')
    region_name = serializers.SerializerMethodField(help_text="The region's names from the province down.")
    province = serializers.SerializerMethodField()
    city = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            "id",
            "name",
            "mobile",
            "tags",
            "lifecycle_stage",
            "value_segment",
            "order_count",
            "total",
            "average_order_value",
            "last_order_date",
            "region",
            "region_name",
            "province",
            "city",
        ]

    def get_region_name(self, obj) -> str:
        return regions.full_name(obj.region)

    def get_province(self, obj) -> dict | None:
        """{"code", "name"} of the region's province, null when the region is unknown."""
        return {"code": obj.region_province, "name": regions.name(obj.region_province)} if obj.region_province else None

    def get_city(self, obj) -> dict | None:
        return {"code": obj.region_city, "name": regions.name(obj.region_city)} if obj.region_city else None

    def get_mobile(self, obj) -> str:
        return obj.mobile if self.context.get("show_mobile") else mask_mobile(obj.mobile)

    def get_tags(self, obj) -> list[str]:
        return sorted(tag.name for tag in obj.tags.all())

    def get_last_order_date(self, obj) -> str | None:
        if obj.last_order_at is None:
            return None
        from django.utils import timezone

        return timezone.localtime(obj.last_order_at).date().isoformat()
