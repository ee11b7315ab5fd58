"""Field work (外勤): clock-in at the start and end of the day (打卡) against the work sites and
hours an admin sets per department, and visit check-ins at a customer (签到)."""

import datetime

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

USER = settings.AUTH_USER_MODEL


def photo_storage():
    """The storage visit photos go to (``FIELD_PHOTO_STORAGE``: a key of ``STORAGES``)."""
    return storages[getattr(settings, "FIELD_PHOTO_STORAGE", "default")]


def _coordinate(label):
    return models.DecimalField(label, max_digits=9, decimal_places=6, null=True, blank=True)


class EvidenceMixin(models.Model):
    """The signed evidence bundle of an entry (``field.evidence``) and, for an offline draft, the
    time the phone says it was made."""

    evidence = models.JSONField(_("evidence"), default=dict, blank=True, editable=False)
    evidence_signature = models.CharField(max_length=64, blank=True, editable=False)
    client_at = models.DateTimeField(_("time on the phone"), null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def evidence_check(self):
        """(status, reasons): see ``field.evidence.check``."""
        from .evidence import check

        if not hasattr(self, "_evidence_check"):
            self._evidence_check = check(self)
        return self._evidence_check

    @property
    def evidence_status(self):
        return self.evidence_check[0]

    @property
    def evidence_reasons(self):
        return self.evidence_check[1]


class WorkSite(models.Model):
    """考勤地点: where a department's people clock in — a point and a radius in metres."""

    scope_owner_field = None
    scope_department_field = "department"

    department = models.ForeignKey(
        "crm.Department", verbose_name=_("department"), on_delete=models.CASCADE, related_name="work_sites"
    )
    name = models.CharField(_("name"), max_length=100)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6)
    radius_m = models.PositiveIntegerField(_("radius (m)"), default=300)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["department__path", "name", "id"]
        verbose_name = _("work site")
        verbose_name_plural = _("work sites")
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="work_site_coordinates",
            ),
            models.CheckConstraint(condition=Q(radius_m__gte=10, radius_m__lte=50_000), name="work_site_radius"),
        ]

    def __str__(self):
        return self.name


class WorkHours(models.Model):
    """考勤时间: when a department's day starts and ends; a team without its own follows the
    nearest department above it."""

    department = models.OneToOneField(
        "crm.Department", verbose_name=_("department"), on_delete=models.CASCADE, related_name="work_hours"
    )
    start = models.TimeField(_("start of day"), default=datetime.time(9, 0))
    end = models.TimeField(_("end of day"), default=datetime.time(18, 0))
    grace_minutes = models.PositiveSmallIntegerField(
        _("grace (minutes)"), default=0, help_text=_("A clock-in this many minutes late is not late.")
    )

    class Meta:
        verbose_name = _("work hours")
        verbose_name_plural = _("work hours")
        constraints = [models.CheckConstraint(condition=Q(start__lt=models.F("end")), name="work_hours_order")]

    def __str__(self):
        return f"{self.department}: {self.start:%H:%M}–{self.end:%H:%M}"


class ClockIn(EvidenceMixin, models.Model):
    """打卡: the start or the end of one person's working day, with where it was made."""

    scope_owner_field = "user"
    scope_department_field = "department"

    class Kind(models.TextChoices):
        START = "start", _("Start of day")
        END = "end", _("End of day")

    user = models.ForeignKey(USER, verbose_name=_("user"), on_delete=models.CASCADE, related_name="clock_ins")
    department = models.ForeignKey("crm.Department", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    day = models.DateField(_("day"))
    at = models.DateTimeField(_("time"), default=timezone.now)
    latitude = _coordinate(_("latitude"))
    longitude = _coordinate(_("longitude"))
    accuracy_m = models.PositiveIntegerField(_("accuracy (m)"), null=True, blank=True)
    site = models.ForeignKey(
        WorkSite, verbose_name=_("work site"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    distance_m = models.PositiveIntegerField(_("distance (m)"), null=True, blank=True)
    is_late = models.BooleanField(_("late"), default=False)
    is_early = models.BooleanField(_("left early"), default=False)
    is_outside = models.BooleanField(_("outside the work sites"), default=False)
    device = models.CharField(_("device"), max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("clock-in")
        verbose_name_plural = _("clock-ins")
        constraints = [models.UniqueConstraint(fields=["user", "day", "kind"], name="one_clock_in_per_kind_and_day")]
        indexes = [models.Index(fields=["department", "day"], name="clockin_department_day")]

    def __str__(self):
        return f"{self.user} {self.get_kind_display()} {timezone.localtime(self.at):%Y-%m-%d %H:%M}"

    @property
    def has_location(self):
        return self.latitude is not None and self.longitude is not None


class Visit(EvidenceMixin, models.Model):
    """外勤签到: a visit at a customer, from check-in to check-out. At most one visit per person
    is open at a time (a partial unique index)."""

    scope_owner_field = "user"
    scope_department_field = "department"

    user = models.ForeignKey(USER, verbose_name=_("user"), on_delete=models.CASCADE, related_name="visits")
    department = models.ForeignKey("crm.Department", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="visits"
    )
    started_at = models.DateTimeField(_("checked in"), default=timezone.now, db_index=True)
    ended_at = models.DateTimeField(_("checked out"), null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    latitude = _coordinate(_("latitude"))
    longitude = _coordinate(_("longitude"))
    accuracy_m = models.PositiveIntegerField(_("accuracy (m)"), null=True, blank=True)
    distance_m = models.PositiveIntegerField(_("distance to the customer (m)"), null=True, blank=True)
    photo = models.FileField(_("photo"), upload_to="visits/%Y/%m/", storage=photo_storage, blank=True)
    photo_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    is_outside = models.BooleanField(_("outside the customer's radius"), default=False)
    notes = models.TextField(_("notes"), blank=True)
    followup = models.OneToOneField(
        "sales.FollowUp", null=True, blank=True, on_delete=models.SET_NULL, related_name="visit"
    )

    personal_fields = ("notes",)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(ended_at__isnull=True), name="one_open_visit_per_user"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="visit_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["department", "started_at"], name="visit_department_time"),
            models.Index(fields=["user", "started_at"], name="visit_user_time"),
        ]

    def __str__(self):
        return f"{self.customer} {timezone.localtime(self.started_at):%Y-%m-%d %H:%M}"

    @property
    def is_open(self):
        return self.ended_at is None


class CheckInRadius(models.Model):
    """The radius a visit at a customer is expected within, learned from the customer's first
    verified visit (a fixed radius for everyone suits nobody: a campus needs more than a shop)."""

    customer = models.OneToOneField(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="check_in_radius"
    )
    radius_m = models.PositiveIntegerField(_("radius (m)"))
    learned_from = models.ForeignKey(
        Visit, verbose_name=_("learned from"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    learned_at = models.DateTimeField(_("learned at"), default=timezone.now)

    class Meta:
        verbose_name = _("check-in radius")
        verbose_name_plural = _("check-in radii")
        constraints = [
            models.CheckConstraint(condition=Q(radius_m__gte=50, radius_m__lte=5000), name="check_in_radius_range")
        ]

    def __str__(self):
        return f"{self.customer}: {self.radius_m} m"


class WeComAccount(models.Model):
    """The WeCom member a user signs in as from inside WeCom (企业微信 userid)."""

    user = models.OneToOneField(USER, verbose_name=_("user"), on_delete=models.CASCADE, related_name="wecom_account")
    corp_id = models.CharField(_("WeCom corp id"), max_length=64)
    userid = models.CharField(_("WeCom userid"), max_length=64)

    class Meta:
        verbose_name = _("WeCom account")
        verbose_name_plural = _("WeCom accounts")
        constraints = [models.UniqueConstraint(fields=["corp_id", "userid"], name="wecom_account_unique_userid")]

    def __str__(self):
        return self.userid


class WeChatIdentity(models.Model):
    """One WeChat identity of a customer: a WeCom external contact id (per corp), an official
    account openid (per account) or the unionid. Each belongs to one customer only."""

    scope_owner_field = "customer__owner"
    scope_department_field = "customer__department"

    class Kind(models.TextChoices):
        WECOM_EXTERNAL = "wecom_external", _("WeCom external contact")
        OPENID = "openid", _("Official account openid")
        UNIONID = "unionid", _("WeChat unionid")

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="wechat_identities"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    issuer = models.CharField(
        _("corp or account"),
        max_length=64,
        blank=True,
        help_text=_("The WeCom corp id or the official account's app id; empty for a unionid."),
    )
    value = models.CharField(_("id"), max_length=128)
    bound_by = models.ForeignKey(
        USER, verbose_name=_("bound by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    bound_at = models.DateTimeField(_("bound at"), default=timezone.now)

    class Meta:
        ordering = ["customer", "kind", "id"]
        verbose_name = _("WeChat identity")
        verbose_name_plural = _("WeChat identities")
        constraints = [
            models.UniqueConstraint(fields=["kind", "issuer", "value"], name="wechat_identity_unique"),
            models.CheckConstraint(condition=~Q(value=""), name="wechat_identity_value"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.value}"


class WeComFollow(models.Model):
    """A member following an external contact on WeCom, as the callbacks and the nightly
    reconciliation last saw it (the reconciliation compares WeCom's list with these)."""

    corp_id = models.CharField(_("WeCom corp id"), max_length=64)
    userid = models.CharField(_("WeCom userid"), max_length=64)
    external_userid = models.CharField(_("external contact id"), max_length=128)
    is_active = models.BooleanField(_("following"), default=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("WeCom follow")
        verbose_name_plural = _("WeCom follows")
        constraints = [
            models.UniqueConstraint(fields=["corp_id", "userid", "external_userid"], name="wecom_follow_unique")
        ]

    def __str__(self):
        return f"{self.userid} → {self.external_userid}"


class WeComEvent(models.Model):
    """A WeCom callback, stored once (WeCom retries unanswered callbacks) and processed by a task."""

    key = models.CharField(_("event key"), max_length=64, unique=True)
    change_type = models.CharField(_("change"), max_length=40, blank=True)
    payload = models.TextField(_("message"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("WeCom event")
        verbose_name_plural = _("WeCom events")

    def __str__(self):
        return f"{self.change_type} {self.key[:12]}"
