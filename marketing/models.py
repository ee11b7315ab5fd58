"""Marketing: audience segments, campaigns and events with their touches, the content library with
tracking links, nurture plans, channel opt-outs, and what each campaign produced (attribution)."""

import decimal

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import SettingsRow

USER = settings.AUTH_USER_MODEL
ZERO = decimal.Decimal("0.00")


class Channel(models.TextChoices):
    """How a message reaches a person. SMS and the official account go through a provider adapter
    (see ``marketing.channels``); WeChat Work goes to the owning rep, who forwards it."""

    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    WECHAT_OA = "wechat_oa", _("WeChat official account")
    WECOM = "wecom", _("WeChat Work (via the rep)")


class MarketingSettings(SettingsRow):
    """One row: frequency protection for pushes and the attribution window."""

    push_cap = models.PositiveIntegerField(
        _("marketing messages per person, at most"),
        default=3,
        help_text=_("Within the window below; more pushes are held back. Sales touches count separately."),
    )
    push_window_days = models.PositiveIntegerField(_("window (days)"), default=7)
    attribution_days = models.PositiveIntegerField(
        _("attribution window (days)"),
        default=30,
        help_text=_(
            "A lead, opportunity or order counts for the campaign that touched the person last within "
            "this many days before it."
        ),
    )
    attributed_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("marketing settings")


class Segment(models.Model):
    """受众分群: a saved set of conditions over customers or leads, combined with AND/OR."""

    scope_owner_field = "owner"
    scope_department_field = "department"

    class Subject(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        LEADS = "leads", _("Leads")

    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    subject = models.CharField(_("segment of"), max_length=10, choices=Subject.choices, default=Subject.CUSTOMERS)
    definition = models.JSONField(_("conditions"), default=dict)
    owner = models.ForeignKey(USER, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="segments")
    department = models.ForeignKey(
        "crm.Department", verbose_name=_("department"), null=True, blank=True, on_delete=models.PROTECT
    )
    size = models.PositiveIntegerField(_("size"), default=0)
    counted_at = models.DateTimeField(_("counted at"), null=True, blank=True)
    problem = models.CharField(
        _("problem"),
        max_length=300,
        blank=True,
        editable=False,
        help_text=_("Why the saved conditions match nobody (found when counting)."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("marketing:segment", args=[self.pk])


class SegmentSize(models.Model):
    """The size of a segment on a day, to chart its growth."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="sizes")
    day = models.DateField()
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["segment", "day"], name="segment_size_day")]


class Campaign(models.Model):
    """A marketing campaign: an open day, a live stream, a content push, a referral drive…"""

    scope_owner_field = "owner"
    scope_department_field = "department"

    class Kind(models.TextChoices):
        MEETING = "meeting", _("Offline meeting / open day")
        LIVE = "live", _("Live stream")
        VIDEO = "video", _("Video")
        PUSH = "push", _("Content push")
        REFERRAL = "referral", _("Referral drive")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.MEETING)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    description = models.TextField(_("description"), blank=True)
    owner = models.ForeignKey(
        USER, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="marketing_campaigns"
    )
    department = models.ForeignKey("crm.Department", verbose_name=_("department"), on_delete=models.PROTECT)
    segment = models.ForeignKey(
        Segment,
        verbose_name=_("audience segment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="campaigns",
    )
    budget_account = models.ForeignKey(
        "coupons.BudgetAccount",
        verbose_name=_("budget account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="marketing_campaigns",
        help_text=_("Needed when the campaign gives out coupons."),
    )
    budget = models.DecimalField(
        _("budget (¥)"),
        max_digits=14,
        decimal_places=2,
        default=ZERO,
        help_text=_("Planned spending besides coupons (venue, ads, gifts)."),
    )
    spent = models.DecimalField(
        _("spent (¥)"), max_digits=14, decimal_places=2, default=ZERO, help_text=_("Actual spending besides coupons.")
    )
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))
    channels = models.JSONField(_("channels"), default=list, blank=True)
    goal_reach = models.PositiveIntegerField(_("goal: people reached"), default=0)
    goal_registrations = models.PositiveIntegerField(_("goal: registrations"), default=0)
    goal_leads = models.PositiveIntegerField(_("goal: leads"), default=0)
    goal_deals = models.PositiveIntegerField(_("goal: deals"), default=0)
    goal_gmv = models.DecimalField(_("goal: GMV (¥)"), max_digits=16, decimal_places=2, default=ZERO)
    batches = models.ManyToManyField(
        "coupons.Batch", verbose_name=_("coupon batches"), blank=True, related_name="marketing_campaigns"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.TextField(_("rejection reason"), blank=True)
    created_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-start", "-id"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="campaign_period"),
            models.CheckConstraint(condition=models.Q(budget__gte=0, spent__gte=0), name="campaign_money"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("marketing:campaign", args=[self.pk])

    @property
    def editable(self):
        return self.status in (self.Status.DRAFT, self.Status.REJECTED)

    @property
    def can_send(self):
        return self.status in (self.Status.APPROVED, self.Status.RUNNING)


class Event(models.Model):
    """A dated occasion within a campaign: an open day, a live session. People register and attend."""

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="events")
    name = models.CharField(_("name"), max_length=100)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    location = models.CharField(_("place or link"), max_length=200, blank=True)
    capacity = models.PositiveIntegerField(
        _("capacity"), null=True, blank=True, help_text=_("Leave empty for no limit.")
    )
    registered_count = models.PositiveIntegerField(default=0, editable=False)
    attended_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gte=models.F("starts_at")), name="event_period"),
            models.CheckConstraint(
                condition=models.Q(capacity__isnull=True) | models.Q(registered_count__lte=models.F("capacity")),
                name="event_capacity",
            ),
        ]
        indexes = [models.Index(fields=["starts_at"], name="event_starts_at")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("marketing:event", args=[self.pk])


class Registration(models.Model):
    """Someone signed up for an event (and perhaps came). Unknown people become leads."""

    class Status(models.TextChoices):
        REGISTERED = "registered", _("Registered")
        ATTENDED = "attended", _("Attended")
        CANCELLED = "cancelled", _("Cancelled")

    class Source(models.TextChoices):
        HAND = "hand", _("By hand")
        IMPORT = "import", _("Import")
        API = "api", _("Integration")
        LINK = "link", _("Invitation link")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="registrations")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="registrations")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="registrations"
    )
    lead = models.ForeignKey(
        "sales.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="registrations"
    )
    name = models.CharField(_("name"), max_length=100)
    mobile = models.CharField(_("mobile"), max_length=11, blank=True)
    personal_fields = ("name", "mobile")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.REGISTERED)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.HAND)
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-registered_at", "-id"]
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "mobile"], condition=~models.Q(mobile=""), name="registration_event_mobile"
            ),
            models.UniqueConstraint(
                fields=["event", "customer"],
                condition=models.Q(customer__isnull=False),
                name="registration_event_customer",
            ),
        ]
        indexes = [models.Index(fields=["customer", "-registered_at"], name="registration_customer")]


class ContentItem(models.Model):
    """An article, a video or a poster reps and campaigns share, with tracked links."""

    class Kind(models.TextChoices):
        ARTICLE = "article", _("Article")
        VIDEO = "video", _("Video")
        POSTER = "poster", _("Poster")

    title = models.CharField(_("title"), max_length=150)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.ARTICLE)
    url = models.URLField(_("address"), max_length=500, help_text=_("Where the tracked link leads."))
    summary = models.TextField(_("summary"), blank=True)
    stages = models.JSONField(_("suggested for lifecycle stages"), default=list, blank=True)
    tags = models.ManyToManyField(
        "customers.Tag", verbose_name=_("suggested for tags"), blank=True, related_name="content_items"
    )
    active = models.BooleanField(_("active"), default=True)
    clicks = models.PositiveIntegerField(_("clicks"), default=0, editable=False)
    created_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("content")
        verbose_name_plural = _("content")

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("marketing:content", args=[self.pk])


class TrackingLink(models.Model):
    """A short link a rep shares (with one customer or in a group): clicks are counted and attributed."""

    scope_owner_field = "rep"
    scope_department_field = "rep__department"

    code = models.CharField(max_length=24, unique=True, help_text="Derived from content, rep and customer.")
    content = models.ForeignKey(ContentItem, on_delete=models.CASCADE, related_name="links")
    rep = models.ForeignKey(USER, null=True, blank=True, on_delete=models.CASCADE, related_name="tracking_links")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="tracking_links"
    )
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="links")
    clicks = models.PositiveIntegerField(default=0)
    last_clicked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("tracking link")

    def get_absolute_url(self):
        return reverse("track:link", args=[self.code])


class Touch(models.Model):
    """A planned push of a campaign: an invitation before the event, a reminder, a survey after it."""

    class Phase(models.TextChoices):
        BEFORE = "before", _("Before")
        DURING = "during", _("During")
        AFTER = "after", _("After")

    class Kind(models.TextChoices):
        INVITATION = "invitation", _("Invitation")
        REMINDER = "reminder", _("Reminder")
        SURVEY = "survey", _("Follow-up survey")
        CONTENT = "content", _("Content")
        OFFER = "offer", _("Coupon offer")

    class Audience(models.TextChoices):
        SEGMENT = "segment", _("The campaign's segment")
        REGISTERED = "registered", _("Registered for the event")
        ATTENDED = "attended", _("Attended the event")
        ABSENT = "absent", _("Registered but did not come")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="touches")
    event = models.ForeignKey(
        Event, verbose_name=_("event"), null=True, blank=True, on_delete=models.CASCADE, related_name="touches"
    )
    phase = models.CharField(_("phase"), max_length=10, choices=Phase.choices, default=Phase.BEFORE)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.INVITATION)
    audience = models.CharField(_("audience"), max_length=12, choices=Audience.choices, default=Audience.SEGMENT)
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices, default=Channel.SMS)
    content = models.ForeignKey(
        ContentItem, verbose_name=_("content"), null=True, blank=True, on_delete=models.SET_NULL, related_name="touches"
    )
    subject = models.CharField(_("subject"), max_length=150, blank=True)
    body = models.TextField(
        _("message"),
        help_text=_("{name} is replaced by the person's name; the tracked link and an opt-out line are added."),
    )
    scheduled_at = models.DateTimeField(
        _("send at"), null=True, blank=True, db_index=True, help_text=_("Leave empty to send when you press Send.")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    recipients = models.PositiveIntegerField(_("recipients"), default=0)
    held_back = models.JSONField(_("held back"), default=dict, blank=True)
    created_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["scheduled_at", "id"]
        verbose_name = _("touch")
        verbose_name_plural = _("touches")

    def __str__(self):
        return f"{self.get_kind_display()} · {self.get_channel_display()}"


class NurturePlan(models.Model):
    """培育计划: a sequence of touches over days for a segment, run by beat, with stop rules."""

    scope_owner_field = "owner"
    scope_department_field = "department"

    name = models.CharField(_("name"), max_length=100)
    segment = models.ForeignKey(
        Segment, verbose_name=_("segment"), on_delete=models.PROTECT, related_name="nurture_plans"
    )
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("counts for campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="nurture_plans",
    )
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices, default=Channel.WECOM)
    active = models.BooleanField(_("running"), default=False)
    stop_on_reply = models.BooleanField(_("stop when the person replies"), default=True)
    stop_on_order = models.BooleanField(_("stop when the person orders"), default=True)
    owner = models.ForeignKey(USER, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="nurture_plans")
    department = models.ForeignKey(
        "crm.Department", verbose_name=_("department"), null=True, blank=True, on_delete=models.PROTECT
    )
    enrolled_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("nurture plan")
        verbose_name_plural = _("nurture plans")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("marketing:plan", args=[self.pk])


class NurtureStep(models.Model):
    plan = models.ForeignKey(NurturePlan, on_delete=models.CASCADE, related_name="steps")
    day = models.PositiveIntegerField(_("day"), help_text=_("Days after the person joins the plan (0 = at once)."))
    content = models.ForeignKey(
        ContentItem, verbose_name=_("content"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject = models.CharField(_("subject"), max_length=150, blank=True)
    body = models.TextField(_("message"))

    class Meta:
        ordering = ["day", "id"]
        verbose_name = _("step")
        verbose_name_plural = _("steps")


class Enrollment(models.Model):
    """One customer going through a nurture plan."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        COMPLETED = "completed", _("Completed")
        STOPPED = "stopped", _("Stopped")

    class StopReason(models.TextChoices):
        REPLIED = "replied", _("Replied")
        ORDERED = "ordered", _("Ordered")
        OPTED_OUT = "opted_out", _("Opted out")
        PLAN_STOPPED = "plan_stopped", _("Plan stopped")

    plan = models.ForeignKey(NurturePlan, on_delete=models.CASCADE, related_name="enrollments")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="enrollments")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    stop_reason = models.CharField(max_length=12, choices=StopReason.choices, blank=True)
    step_index = models.PositiveIntegerField(default=0)
    next_due_at = models.DateTimeField(null=True, blank=True)
    deferrals = models.PositiveIntegerField(default=0)
    enrolled_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("nurture enrollment")
        constraints = [models.UniqueConstraint(fields=["plan", "customer"], name="enrollment_once")]
        indexes = [models.Index(fields=["status", "next_due_at"], name="enrollment_due")]


class Message(models.Model):
    """One message to one person, from a campaign touch or a nurture step. Created once (unique per
    touch and person, per enrollment and step), sent once."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    touch = models.ForeignKey(Touch, null=True, blank=True, on_delete=models.CASCADE, related_name="messages")
    enrollment = models.ForeignKey(Enrollment, null=True, blank=True, on_delete=models.CASCADE, related_name="messages")
    step_index = models.PositiveIntegerField(null=True, blank=True)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="messages")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="marketing_messages"
    )
    lead = models.ForeignKey(
        "sales.Lead", null=True, blank=True, on_delete=models.CASCADE, related_name="marketing_messages"
    )
    channel = models.CharField(max_length=12, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("marketing message")
        constraints = [
            models.UniqueConstraint(
                fields=["touch", "customer"], condition=models.Q(touch__isnull=False), name="message_touch_customer"
            ),
            models.UniqueConstraint(
                fields=["touch", "lead"], condition=models.Q(touch__isnull=False), name="message_touch_lead"
            ),
            models.UniqueConstraint(
                fields=["enrollment", "step_index"],
                condition=models.Q(enrollment__isnull=False),
                name="message_enrollment_step",
            ),
        ]
        indexes = [
            models.Index(fields=["touch", "status"], name="message_touch_status"),
            models.Index(fields=["campaign", "status"], name="message_campaign_status"),
            models.Index(fields=["customer", "sent_at"], name="message_customer_sent"),
            models.Index(fields=["lead", "sent_at"], name="message_lead_sent"),
        ]


class OptOut(models.Model):
    """The person does not want marketing on this channel (or on any: channel "all")."""

    ALL = "all"

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="opt_outs")
    channel = models.CharField(_("channel"), max_length=12)
    source = models.CharField(_("source"), max_length=20, default="hand")
    by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "channel"], name="opt_out_once")]
        verbose_name = _("opt-out")
        verbose_name_plural = _("opt-outs")


class Attribution(models.Model):
    """What a campaign produced: a lead, an opportunity or an order, counted for the campaign whose
    touch (message, click, registration) came last within the attribution window before it."""

    class Kind(models.TextChoices):
        LEAD = "lead", _("Lead")
        OPPORTUNITY = "opportunity", _("Opportunity")
        ORDER = "order", _("Order")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="attributions")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    object_id = models.BigIntegerField()
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    at = models.DateTimeField()
    touched_at = models.DateTimeField()

    class Meta:
        verbose_name = _("attribution")
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="attribution_once")]
        indexes = [models.Index(fields=["campaign", "kind"], name="attribution_campaign")]


class CampaignStats(models.Model):
    """The figures of a campaign, refreshed by beat and after each send (the page shows when)."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="stats")
    figures = models.JSONField(default=dict)
    refreshed_at = models.DateTimeField(default=timezone.now)
