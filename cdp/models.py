"""The customer data platform (客户数据平台): identities that point at one customer, behaviour
events, and the merge suggestions that appear when two customers share an identity.

WeChat identities (openid, unionid, WeCom external contact) are kept by ``field`` (its own
uniqueness rule, ``wechat_identity_unique``); this app reads them through :mod:`cdp.registry`
instead of storing a second copy."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import SettingsRow

USER = settings.AUTH_USER_MODEL


class EventType(models.TextChoices):
    PAGE_VIEW = "page_view", _("Page view")
    CLICK = "click", _("Click")
    LIVE_WATCH = "live_watch", _("Live stream watched")
    VIDEO_WATCH = "video_watch", _("Video watched")
    FORM_VIEW = "form_view", _("Form viewed")
    CUSTOM = "custom", _("Custom event")


class IdentityKind(models.TextChoices):
    """Every kind an event or a link may name; the WeChat kinds are stored by ``field``."""

    MOBILE = "mobile", _("Mobile")
    EMAIL = "email", _("Email")
    EXTERNAL = "external", _("Client's external id")
    OPENID = "openid", _("Official account openid")
    UNIONID = "unionid", _("WeChat unionid")
    WECOM_EXTERNAL = "wecom_external", _("WeCom external contact")


#: the kinds this app stores itself
OWN_KINDS = (IdentityKind.MOBILE, IdentityKind.EMAIL, IdentityKind.EXTERNAL)


class Identity(models.Model):
    """身份: one identifier of one customer. ``issuer`` is the API client's id for an external id
    (each client has its own id space) and empty otherwise. An identifier belongs to one customer
    only (the unique constraint); a second customer claiming it becomes a merge suggestion."""

    scope_owner_field = "customer__owner"
    scope_department_field = "customer__department"

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="cdp_identities"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=IdentityKind.choices)
    issuer = models.CharField(_("issued by"), max_length=64, blank=True)
    value = models.CharField(_("identifier"), max_length=128)
    created_at = models.DateTimeField(_("linked at"), default=timezone.now)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["customer", "kind", "id"]
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        constraints = [
            models.UniqueConstraint(fields=["kind", "issuer", "value"], name="cdp_identity_unique"),
            models.CheckConstraint(condition=~Q(value=""), name="cdp_identity_value"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.value}"


class MergeSuggestion(models.Model):
    """合并建议: two customers share an identity. Kept once per pair and identity; the lower
    customer id comes first so (A, B) and (B, A) are one row."""

    scope_owner_field = "customer__owner"
    scope_department_field = "customer__department"
    #: merging either customer into another ends the suggestion (customers.services.merge_customers)
    deleted_on_customer_merge = True

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DISMISSED = "dismissed", _("Dismissed")

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    other = models.ForeignKey(
        "customers.Customer", verbose_name=_("other customer"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=IdentityKind.choices)
    value = models.CharField(_("identifier"), max_length=128)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("found at"), default=timezone.now)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("merge suggestion")
        verbose_name_plural = _("merge suggestions")
        constraints = [
            models.UniqueConstraint(fields=["customer", "other", "kind", "value"], name="cdp_merge_once"),
            models.CheckConstraint(condition=Q(customer__lt=F("other")), name="cdp_merge_ordered_pair"),
        ]


class EventKey(models.Model):
    """The event ids seen, per client: the idempotency of ``POST /api/v1/events``. Apart from the
    events because a unique index on a partitioned table must include the month; old keys go with
    their partition's retention."""

    client_id = models.IntegerField()
    key = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client_id", "key"], name="cdp_event_key_once")]
        indexes = [models.Index(fields=["at"], name="cdp_eventkey_at")]


class Event(models.Model):
    """行为事件: one thing a customer did. On PostgreSQL the table is partitioned by month on
    ``at`` (see ``services.partitions``); its primary key there is (id, at)."""

    id = models.BigAutoField(primary_key=True)
    client_id = models.IntegerField(null=True, blank=True)
    key = models.CharField(_("event id"), max_length=64)
    type = models.CharField(_("type"), max_length=20, choices=EventType.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)
    at = models.DateTimeField(_("at"))
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,  # (customer, at) serves every read by customer
        related_name="cdp_events",
    )
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("behaviour event")
        verbose_name_plural = _("behaviour events")
        indexes = [
            models.Index(fields=["customer", "at"], name="cdp_event_customer_at"),
            # the segment and scoring conditions: one type over a recent range, counted per customer
            models.Index(fields=["type", "at", "customer"], name="cdp_event_type_at"),
        ]

    def __str__(self):
        return f"{self.get_type_display()} {self.at:%Y-%m-%d %H:%M}"


class CdpSettings(SettingsRow):
    """One row: how long behaviour events are kept."""

    retention_months = models.PositiveIntegerField(
        _("keep behaviour events (months)"),
        default=13,
        help_text=_("Each night, months older than this are dropped whole (a partition at a time)."),
    )

    class Meta:
        verbose_name = _("customer data settings")
