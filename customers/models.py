"""客户档案: the people (and stores) the business serves."""
from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LifecycleStage(models.TextChoices):
    """生命周期"""

    POTENTIAL = "potential", _("Potential")
    FIRST_ORDER = "first_order", _("First order")
    DEVELOPING = "developing", _("Developing")
    STABLE = "stable", _("Stable / high value")
    AT_RISK = "at_risk", _("At risk")
    CHURNED = "churned", _("Churned")
    REACTIVATED = "reactivated", _("Reactivated")


class ValueSegment(models.TextChoices):
    """价值象限: average order value × order count."""

    POTENTIAL = "potential", _("Potential")
    LOW = "low", _("Low value")
    HIGH_AOV = "high_aov", _("High AOV, few orders")
    FREQUENT = "frequent", _("Frequent, low AOV")
    HIGH = "high", _("High value")


class Customer(models.Model):
    """客户: an individual (a parent, a student) or an organization (a store, a school)."""

    scope_owner_field = "owner"
    scope_department_field = "department"

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("Individual")
        ORGANIZATION = "organization", _("Organization")

    class Gender(models.TextChoices):
        UNKNOWN = "", _("Unknown")
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        WECHAT = "wechat", _("WeChat")
        SMS = "sms", _("SMS")
        EMAIL = "email", _("Email")
        VISIT = "visit", _("Visit")

    class Source(models.TextChoices):
        WEBSITE = "website", _("Official website")
        WECHAT_OA = "wechat_oa", _("WeChat official account")
        LIVE = "live", _("Live stream")
        EVENT = "event", _("Event / meeting")
        REFERRAL = "referral", _("Referral")
        VISIT = "visit", _("Cold visit")
        STORE = "store", _("Store / walk-in")
        API = "api", _("Integration")
        OTHER = "other", _("Other")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.INDIVIDUAL)
    name = models.CharField(_("name"), max_length=100, db_index=True)
    mobile = models.CharField(_("mobile"), max_length=11, blank=True, db_index=True)
    wechat_id = models.CharField(_("WeChat id"), max_length=64, blank=True)
    email = models.EmailField(_("email"), blank=True)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True, default="")
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True, db_index=True)
    source = models.CharField(_("source channel"), max_length=20, choices=Source.choices, default=Source.OTHER)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
    )
    department = models.ForeignKey(
        "crm.Department", verbose_name=_("department"), null=True, blank=True, on_delete=models.PROTECT
    )
    preferred_channel = models.CharField(
        _("preferred contact channel"), max_length=20, choices=Channel.choices, blank=True
    )
    active_hours = models.CharField(_("active hours"), max_length=50, blank=True, help_text=_("e.g. 19:00-21:00"))
    notes = models.TextField(_("notes"), blank=True)
    # Value figures, kept current by the order services (no aggregation at read time).
    order_count = models.PositiveIntegerField(_("orders"), default=0, db_index=True)
    total_amount = models.DecimalField(_("total spent"), max_digits=14, decimal_places=2, default=0, db_index=True)
    avg_order_value = models.DecimalField(_("average order value"), max_digits=12, decimal_places=2, default=0)
    first_order_at = models.DateTimeField(_("first order"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True, db_index=True)
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=20, choices=LifecycleStage.choices, default=LifecycleStage.POTENTIAL,
        db_index=True,
    )
    value_segment = models.CharField(
        _("value segment"), max_length=20, choices=ValueSegment.choices, default=ValueSegment.POTENTIAL, db_index=True
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="customer_owner_recent"),
            models.Index(fields=["department", "-created_at"], name="customer_dept_recent"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("customers:detail", args=[self.pk])
