"""Sales: leads and the public pool, opportunities and control points, follow-ups, reminders,
tasks, targets, reports and after-sales tickets."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import STAFF_ROLE_CHOICES, ImportJobBase, SettingsRow
from crm.name_keys import NameKeysField, keys_for
from customers import regions, registry
from customers.models import Customer, source_name

USER = settings.AUTH_USER_MODEL


class Grade(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


class Lead(models.Model):
    """线索: a possible customer from any channel, before (or instead of) a customer record."""

    scope_owner_field = "owner"
    scope_department_field = "department"

    class Status(models.TextChoices):
        NEW = "new", _("New")
        ASSIGNED = "assigned", _("Assigned")
        CONTACTED = "contacted", _("Contacted")
        QUALIFIED = "qualified", _("Qualified")
        CONVERTED = "converted", _("Converted")
        INVALID = "invalid", _("Invalid")
        DUPLICATE = "duplicate", _("Duplicate")

    OPEN_STATUSES = (Status.NEW, Status.ASSIGNED, Status.CONTACTED, Status.QUALIFIED)

    name = models.CharField(_("name"), max_length=100)
    #: the name's one- and two-character and pinyin search keys (crm.name_keys), kept on save
    name_keys = NameKeysField(_("name search keys"))
    mobile = models.CharField(_("mobile"), max_length=11, blank=True, db_index=True)
    source = models.CharField(_("source channel"), max_length=20, default=Customer.Source.OTHER)
    region = models.CharField(_("region"), max_length=100, blank=True)
    # The region's 6-digit adcode (customers.regions), matched from the text on save.
    region_code = models.CharField(_("region code"), max_length=6, blank=True, db_index=True, editable=False)
    need = models.TextField(_("stated need"), blank=True)
    note = models.TextField(_("note"), blank=True)
    email = models.EmailField(_("email"), blank=True)
    visits = models.PositiveIntegerField(_("visits"), default=0)
    events_attended = models.PositiveIntegerField(_("events attended"), default=0)
    tags = models.ManyToManyField("customers.Tag", blank=True, related_name="leads", verbose_name=_("tags"))
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    client = models.ForeignKey("crm.ApiClient", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NEW, db_index=True)
    score = models.IntegerField(_("score"), default=0)
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, default=Grade.D, db_index=True)
    owner = models.ForeignKey(
        USER, verbose_name=_("owner"), null=True, blank=True, on_delete=models.PROTECT, related_name="leads"
    )
    department = models.ForeignKey(
        "crm.Department", verbose_name=_("department"), null=True, blank=True, on_delete=models.PROTECT
    )
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("duplicate of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
    )
    existing_customer = models.ForeignKey(
        Customer,
        verbose_name=_("existing customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicate_leads",
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("converted to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="converted_leads",
    )
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    last_followup_at = models.DateTimeField(_("last follow-up"), null=True, blank=True, db_index=True)
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    anonymized_at = models.DateTimeField(_("anonymized"), null=True, blank=True, editable=False)

    #: erased on anonymization and by the retention rule for leads that never converted (crm.privacy)
    personal_fields = ("name", "name_keys", "mobile", "email", "need", "note")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            models.Index(fields=["owner", "status", "-created_at"], name="lead_owner_status"),
            models.Index(fields=["department", "owner", "-created_at"], name="lead_pool"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "external_id"],
                condition=~models.Q(external_id=""),
                name="lead_external_id_per_client",
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.region_code = regions.match(self.region)
        self.name_keys = keys_for(self.name)
        if kwargs.get("update_fields") is not None and "region" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "region_code"}
        if kwargs.get("update_fields") is not None and "name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "name_keys"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("sales:lead", args=[self.pk])

    def get_source_display(self):
        return source_name(self.source)

    @property
    def is_open(self):
        return self.status in self.OPEN_STATUSES


def scoring_criteria():
    """The built-in criteria and those other apps register (``customers.registry``)."""
    return [*ScoringRule.Criterion.choices, *((code, c["label"]) for code, c in registry.lead_criteria().items())]


class ScoringRule(models.Model):
    """One line of the lead score: points when a criterion holds."""

    class Criterion(models.TextChoices):
        SOURCE = "source", _("Source is")
        HAS_MOBILE = "has_mobile", _("Has a mobile number")
        HAS_EMAIL = "has_email", _("Has an email")
        HAS_REGION = "has_region", _("Has a region")
        HAS_NEED = "has_need", _("States a need")
        VISITS_AT_LEAST = "visits", _("Visits at least")
        EVENTS_AT_LEAST = "events", _("Events attended at least")
        HAS_TAG = "tag", _("Has tag")

    criterion = models.CharField(_("criterion"), max_length=20, choices=scoring_criteria)
    value = models.CharField(
        _("value"),
        max_length=100,
        blank=True,
        help_text=_("The source code, the number of visits/events, or the tag name."),
    )
    points = models.IntegerField(_("points"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["criterion", "id"]
        verbose_name = _("scoring rule")
        verbose_name_plural = _("scoring rules")

    def __str__(self):
        return f"{self.get_criterion_display()} {self.value_display()} → {self.points:+d}"

    def value_display(self):
        """The value as people read it: a source by its name ("来源为 活动/会议", not "event")."""
        return source_name(self.value) if self.criterion == self.Criterion.SOURCE and self.value else self.value


class SalesSettings(SettingsRow):
    """One row: grade thresholds and the contact-protection policy."""

    grade_a = models.IntegerField(_("grade A from (points)"), default=70)
    grade_b = models.IntegerField(_("grade B from (points)"), default=45)
    grade_c = models.IntegerField(_("grade C from (points)"), default=20)
    touch_cap = models.PositiveIntegerField(_("outbound touches without a reply, at most"), default=3)
    touch_window_days = models.PositiveIntegerField(_("within (days)"), default=14)
    rest_after_touches = models.PositiveIntegerField(
        _("a customer rests after this many unanswered touches"), default=5
    )
    reminder_offsets = models.CharField(
        _("default reminder offsets (minutes before)"),
        max_length=100,
        default="1440,60",
        help_text=_("Comma-separated; 1440 = one day before."),
    )
    escalate_after_minutes = models.PositiveIntegerField(_("escalate an overdue reminder after (minutes)"), default=240)
    #: what the amount metric of targets counts: a code of ``sales.metrics`` (won, signed, collected)
    target_amount_source = models.CharField(
        _("targets' amount counts"),
        max_length=20,
        default="won",
        help_text=_("Won opportunities, signed contract amounts, or collected payments."),
    )

    class Meta:
        verbose_name = _("sales settings")


class AssignmentRule(models.Model):
    """Who gets a new lead: the first active rule that matches (by position) wins."""

    position = models.PositiveIntegerField(_("position"), default=0)
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, blank=True)
    source = models.CharField(_("source channel"), max_length=20, blank=True)
    region = models.CharField(
        _("region"), max_length=6, blank=True, help_text=_("Leads in this province, city or district.")
    )
    region_text = models.CharField(
        _("region as written"),
        max_length=50,
        blank=True,
        editable=False,
        help_text=_('An old "region contains" text no code was found for.'),
    )
    team = models.ForeignKey(
        "crm.Department", verbose_name=_("team (round-robin)"), null=True, blank=True, on_delete=models.CASCADE
    )
    user = models.ForeignKey(USER, verbose_name=_("or this user"), null=True, blank=True, on_delete=models.CASCADE)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")

    def __str__(self):
        return _("Assignment rule %(position)s") % {"position": self.position}

    def get_source_display(self):
        return source_name(self.source) if self.source else ""

    @property
    def region_name(self):
        return regions.full_name(self.region)


class RoundRobinCursor(models.Model):
    """The last member of a team who received a lead (locked while choosing the next)."""

    team = models.OneToOneField("crm.Department", on_delete=models.CASCADE, related_name="+")
    last_user = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")


class PoolRule(models.Model):
    """公海规则 of a department (used by the departments below it unless they have their own)."""

    department = models.OneToOneField(
        "crm.Department", verbose_name=_("department"), on_delete=models.CASCADE, related_name="pool_rule"
    )
    days_without_followup = models.PositiveIntegerField(_("return after days without a follow-up"), default=15)
    days_without_deal = models.PositiveIntegerField(_("return after days without a deal"), default=90)
    exempt_stage = models.ForeignKey(
        "sales.OpportunityStage",
        verbose_name=_("exempt from stage on"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text=_("Records with an open opportunity at or past this stage stay."),
    )
    warn_days = models.PositiveIntegerField(_("warn the owner days before"), default=3)
    cap = models.PositiveIntegerField(_("private records per rep, at most"), default=200)
    reclaim_cooldown_days = models.PositiveIntegerField(_("a rep may not re-claim a record for (days)"), default=7)
    recycle_paying_customers = models.BooleanField(
        _("paying customers return to the pool too"),
        default=False,
        help_text=_(
            "Off: a customer who ever bought (an order, a won opportunity) stays with the owner. On: such a "
            "customer returns after the days without a deal, never for lack of follow-ups within them."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("public pool rule")
        verbose_name_plural = _("public pool rules")

    def __str__(self):
        return _("Pool rule of %(department)s") % {"department": self.department}


class PoolMove(models.Model):
    """Every move of a lead or customer between owners and the pool, and why."""

    class Reason(models.TextChoices):
        ASSIGNED = "assigned", _("Assigned")
        CLAIMED = "claimed", _("Claimed from the pool")
        RECYCLED_NO_FOLLOWUP = "no_followup", _("Returned: no follow-up")
        RECYCLED_NO_DEAL = "no_deal", _("Returned: no deal")
        RELEASED = "released", _("Released to the pool")
        REASSIGNED = "reassigned", _("Re-assigned by a manager")

    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="moves")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="pool_moves")
    from_owner = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_owner = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("pool move")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["from_owner", "reason", "at"], name="poolmove_cooldown"),
            models.Index(fields=["lead", "at"], name="poolmove_lead"),
            models.Index(fields=["customer", "at"], name="poolmove_customer"),
        ]


class PoolWarning(models.Model):
    """A sent "returns to the pool soon" warning (one per record and deadline)."""

    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE)
    owner = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    deadline = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("pool warning")
        constraints = [
            models.UniqueConstraint(fields=["lead", "owner", "deadline"], name="pool_warning_lead_once"),
            models.UniqueConstraint(fields=["customer", "owner", "deadline"], name="pool_warning_customer_once"),
        ]


class OpportunityStage(models.Model):
    """商机阶段 with a default win probability; a stage may require an approval (key control point)."""

    name = models.CharField(_("name"), max_length=50)
    position = models.PositiveIntegerField(_("position"), default=0)
    probability = models.PositiveSmallIntegerField(_("win probability (%)"), default=10)
    is_won = models.BooleanField(_("won"), default=False)
    is_lost = models.BooleanField(_("lost"), default=False)
    approval_role = models.CharField(
        _("approval needed from"),
        max_length=20,
        blank=True,
        choices=[("", _("No approval"))] + list(STAFF_ROLE_CHOICES),
        help_text=_(
            "Key control point: the opportunity may not move past this stage until someone with this role approves."
        ),
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("opportunity stage")
        verbose_name_plural = _("opportunity stages")

    def __str__(self):
        return self.name

    @property
    def is_closed(self):
        return self.is_won or self.is_lost


class Opportunity(models.Model):
    """商机"""

    scope_owner_field = "owner"
    scope_department_field = "department"

    name = models.CharField(_("name"), max_length=200)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="opportunities"
    )
    owner = models.ForeignKey(USER, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="opportunities")
    department = models.ForeignKey(
        "crm.Department", verbose_name=_("department"), null=True, blank=True, on_delete=models.PROTECT
    )
    stage = models.ForeignKey(
        OpportunityStage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="opportunities"
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, default=0)
    probability = models.PositiveSmallIntegerField(
        _("win probability (%)"), null=True, blank=True, help_text=_("Empty: the stage's default.")
    )
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    products = models.CharField(_("products"), max_length=300, blank=True)
    lost_reason = models.CharField(_("lost reason"), max_length=200, blank=True)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities")
    stage_entered_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    #: key control points asked through the approval engine (``sales.approvals``)
    approvals = GenericRelation("crm.ApprovalRequest")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        indexes = [
            models.Index(fields=["owner", "stage"], name="opportunity_owner_stage"),
            models.Index(fields=["stage_entered_at", "id"], name="opportunity_stuck"),
            # per stage in a team (the board), and a team's opportunities stuck in an open
            # stage counted from the index alone (the home page)
            models.Index(fields=["department", "stage", "stage_entered_at"], name="opportunity_dept_stuck"),
            # the list's default order (by expected close): a page reads the first rows of the
            # index instead of sorting every opportunity in scope joined with its customer
            models.Index(fields=["expected_close", "id"], name="opportunity_close"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("sales:opportunity", args=[self.pk])

    @property
    def win_probability(self):
        return self.probability if self.probability is not None else self.stage.probability


class StageHistory(models.Model):
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="stage_history")
    stage = models.ForeignKey(OpportunityStage, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)
    by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["entered_at", "id"]


class FollowUp(models.Model):
    """跟进记录: one touch with a customer or a lead."""

    scope_owner_field = "created_by"
    scope_department_field = "department"

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        WECHAT = "wechat", _("WeChat")
        SMS = "sms", _("SMS")
        EMAIL = "email", _("Email")
        VISIT = "visit", _("Visit")
        MEETING = "meeting", _("Meeting")

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", _("We reached out")
        INBOUND = "inbound", _("They replied / came to us")

    class Outcome(models.TextChoices):
        NO_ANSWER = "no_answer", _("No answer")
        TALKED = "talked", _("Talked")
        INTERESTED = "interested", _("Interested")
        NOT_INTERESTED = "not_interested", _("Not interested")
        APPOINTMENT = "appointment", _("Appointment made")
        DEAL = "deal", _("Deal")

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="followups",
    )
    lead = models.ForeignKey(
        Lead, verbose_name=_("lead"), null=True, blank=True, on_delete=models.CASCADE, related_name="followups"
    )
    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="followups",
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.PHONE)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, default=Direction.OUTBOUND)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, default=Outcome.TALKED)
    content = models.TextField(_("content"))
    next_followup_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    created_by = models.ForeignKey(USER, verbose_name=_("by"), on_delete=models.PROTECT, related_name="followups")
    department = models.ForeignKey(
        "crm.Department", verbose_name=_("department"), null=True, blank=True, on_delete=models.PROTECT
    )
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    personal_fields = ("content",)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        indexes = [
            models.Index(fields=["customer", "at"], name="followup_customer_time"),
            models.Index(fields=["lead", "at"], name="followup_lead_time"),
            models.Index(fields=["created_by", "at"], name="followup_user_time"),
            # a team's follow-ups in a period, counted from the index alone (the home page)
            models.Index(fields=["department", "at"], include=["created_by"], name="followup_dept_time_by"),
            # the follow-ups due in a calendar's range
            models.Index(
                fields=["next_followup_at"],
                condition=models.Q(next_followup_at__isnull=False),
                name="followup_next_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(customer__isnull=False) | models.Q(lead__isnull=False), name="followup_has_subject"
            )
        ]


class Reminder(models.Model):
    """跟进提醒 (or a task's reminder): notifies its owner before it is due, when overdue, and
    escalates to the manager. Each (reminder, offset) notice is sent exactly once."""

    scope_owner_field = "owner"
    scope_department_field = "owner__department"

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    owner = models.ForeignKey(USER, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="reminders")
    title = models.CharField(_("title"), max_length=200)
    due_at = models.DateTimeField(_("due"), db_index=True)
    offsets = models.CharField(
        _("notify before (minutes)"),
        max_length=100,
        blank=True,
        help_text=_("Comma-separated; empty: the owner's default."),
    )
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders")
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders")
    followup = models.ForeignKey(FollowUp, null=True, blank=True, on_delete=models.SET_NULL, related_name="reminders")
    task = models.OneToOneField("sales.Task", null=True, blank=True, on_delete=models.CASCADE, related_name="reminder")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    next_notice_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the next notice is due (the dispatcher's index)."
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    scheduled_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the due time was last set (created or rescheduled): a notice "
        "whose time was already past then is never sent.",
    )

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        indexes = [
            models.Index(fields=["status", "next_notice_at"], name="reminder_next_notice"),
            models.Index(fields=["owner", "status", "due_at"], name="reminder_owner_due"),
        ]


class ReminderNotice(models.Model):
    """The proof that one notice of a reminder was sent: the unique row is claimed in the same
    transaction that writes the notification, so no beat tick, second beat process or retried
    worker can send it again."""

    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="notices")
    offset = models.IntegerField(help_text="Minutes before due; 0 = due; negative = escalation.")
    due_at = models.DateTimeField(help_text="The due time the notice was for (a reschedule starts over).")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["reminder", "offset", "due_at"], name="reminder_notice_once")]


class Task(models.Model):
    """任务"""

    scope_owner_field = "assignee"
    scope_department_field = "assignee__department"

    class Priority(models.TextChoices):
        HIGH = "high", _("High")
        NORMAL = "normal", _("Normal")
        LOW = "low", _("Low")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    personal_fields = ("description",)
    assignee = models.ForeignKey(USER, verbose_name=_("assignee"), on_delete=models.CASCADE, related_name="tasks")
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    opportunity = models.ForeignKey(Opportunity, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    by_rule = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [models.Index(fields=["assignee", "status", "due_at"], name="task_assignee_due")]

    def __str__(self):
        return self.title


class Target(models.Model):
    """A monthly or quarterly target for a rep or a team."""

    class Metric(models.TextChoices):
        AMOUNT_WON = "amount_won", _("Amount won")
        DEALS_WON = "deals_won", _("Deals won")
        NEW_CUSTOMERS = "new_customers", _("New customers")
        FOLLOWUPS = "followups", _("Follow-ups")

    class Period(models.TextChoices):
        MONTH = "month", _("Month")
        QUARTER = "quarter", _("Quarter")

    user = models.ForeignKey(USER, null=True, blank=True, on_delete=models.CASCADE, related_name="targets")
    department = models.ForeignKey(
        "crm.Department", null=True, blank=True, on_delete=models.CASCADE, related_name="targets"
    )
    metric = models.CharField(_("metric"), max_length=20, choices=Metric.choices)
    period = models.CharField(_("period"), max_length=10, choices=Period.choices, default=Period.MONTH)
    start = models.DateField(_("period start"))
    value = models.DecimalField(_("target"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | models.Q(department__isnull=False), name="target_has_holder"
            ),
            models.UniqueConstraint(fields=["user", "metric", "period", "start"], name="target_user_once"),
            models.UniqueConstraint(fields=["department", "metric", "period", "start"], name="target_dept_once"),
        ]


class Report(models.Model):
    """A rep's daily, weekly or monthly (月报) report, or a team's monthly report, generated from the
    data; the rep (for a team, its manager) annotates, the manager above reads and comments."""

    class Kind(models.TextChoices):
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")
        MONTHLY = "monthly", _("Monthly")

    user = models.ForeignKey(USER, null=True, blank=True, on_delete=models.CASCADE, related_name="reports")
    #: a team's report (月报 of a team) has a department and no user
    department = models.ForeignKey(
        "crm.Department", null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    start = models.DateField()
    figures = models.JSONField(default=dict)
    note = models.TextField(_("note"), blank=True)
    read_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    read_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(_("manager's comment"), blank=True)
    commented_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    commented_at = models.DateTimeField(null=True, blank=True)
    generated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-start"]
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "start"], name="report_once"),
            models.UniqueConstraint(
                fields=["department", "kind", "start"],
                condition=models.Q(department__isnull=False),
                name="team_report_once",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, department__isnull=True)
                | models.Q(user__isnull=True, department__isnull=False),
                name="report_has_one_holder",
            ),
        ]

    def __str__(self):
        return f"{self.user or self.department} {self.get_kind_display()} {self.start:%Y-%m-%d}"

    def get_absolute_url(self):
        return reverse("sales:report", args=[self.pk])


class ServiceTicket(models.Model):
    """售后: a complaint, suggestion or request, tracked to resolution."""

    scope_owner_field = "owner"
    scope_department_field = "customer__department"

    class Kind(models.TextChoices):
        COMPLAINT = "complaint", _("Complaint")
        SUGGESTION = "suggestion", _("Suggestion")
        REQUEST = "request", _("Service request")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="tickets")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.REQUEST)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    personal_fields = ("description", "resolution")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    owner = models.ForeignKey(
        USER, verbose_name=_("owner"), null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("service ticket")
        verbose_name_plural = _("service tickets")


class LeadImportJob(ImportJobBase):
    """A lead file import (线索导入): checked in full first (preview), then written all or nothing in
    Celery through ``capture_lead``. The same job and life cycle as ``customers.ImportJob``
    (``crm.imports``)."""

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead import")
        verbose_name_plural = _("lead imports")
        indexes = [models.Index(fields=["created_by", "-created_at"], name="leadimport_user")]

    def __str__(self):
        return self.file_name
