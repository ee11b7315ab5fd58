"""Partners and agents (代理商及合作伙伴): the companies that sell for us, developed through a pipeline
(合作伙伴开发过程), graded (合作级别), with their contacts and follow-ups.

A partner is scoped like a customer: its channel manager (``owner``) and department."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Department
from customers import regions

USER = settings.AUTH_USER_MODEL


class PartnerKind(models.TextChoices):
    AGENT = "agent", _("Agent")
    RESELLER = "reseller", _("Reseller")
    REFERRAL = "referral", _("Referral partner")
    DEALER = "dealer", _("Dealer")


class PartnerStatus(models.TextChoices):
    """The development pipeline: prospect → negotiating → signed → active → suspended / terminated."""

    PROSPECT = "prospect", _("Prospect")
    NEGOTIATING = "negotiating", _("Negotiating")
    SIGNED = "signed", _("Signed")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    TERMINATED = "terminated", _("Terminated")


#: status -> the statuses it may move to (terminated is final)
TRANSITIONS = {
    PartnerStatus.PROSPECT: (PartnerStatus.NEGOTIATING, PartnerStatus.TERMINATED),
    PartnerStatus.NEGOTIATING: (PartnerStatus.PROSPECT, PartnerStatus.SIGNED, PartnerStatus.TERMINATED),
    PartnerStatus.SIGNED: (PartnerStatus.ACTIVE, PartnerStatus.TERMINATED),
    PartnerStatus.ACTIVE: (PartnerStatus.SUSPENDED, PartnerStatus.TERMINATED),
    PartnerStatus.SUSPENDED: (PartnerStatus.ACTIVE, PartnerStatus.TERMINATED),
    PartnerStatus.TERMINATED: (),
}


class PartnerGrade(models.TextChoices):
    """合作级别: A is the highest."""

    A = "A", _("Grade A")
    B = "B", _("Grade B")
    C = "C", _("Grade C")
    D = "D", _("Grade D")


class Partner(models.Model):
    """合作伙伴: a company that brings us orders (agent, reseller, referral partner or dealer)."""

    scope_owner_field = "owner"
    scope_department_field = "department"
    scope_partner_field = "pk"

    name = models.CharField(_("company"), max_length=100, db_index=True)
    kind = models.CharField(_("partner type"), max_length=20, choices=PartnerKind.choices, default=PartnerKind.AGENT)
    code = models.CharField(
        _("referral code"),
        max_length=20,
        unique=True,
        help_text=_("Orders that carry this code are attributed to the partner."),
    )
    region = models.CharField(_("region"), max_length=6, blank=True, db_index=True, choices=regions.choices)
    address = models.CharField(_("street address"), max_length=200, blank=True)
    owner = models.ForeignKey(
        USER, verbose_name=_("channel manager"), on_delete=models.PROTECT, related_name="managed_partners"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="partners"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=PartnerStatus.choices, default=PartnerStatus.PROSPECT, db_index=True
    )
    grade = models.CharField(_("grade"), max_length=1, choices=PartnerGrade.choices, default=PartnerGrade.D)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("dealer above"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sub_dealers",
        help_text=_("For a sub-dealer: the dealer it buys through (its orders and stores roll up there)."),
    )
    contract_start = models.DateField(_("contract start"), null=True, blank=True)
    contract_end = models.DateField(_("contract end"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    next_follow_up_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        constraints = [
            models.CheckConstraint(
                condition=Q(contract_start__isnull=True)
                | Q(contract_end__isnull=True)
                | Q(contract_end__gte=models.F("contract_start")),
                name="partner_contract_period_ordered",
            ),
            models.CheckConstraint(condition=Q(status__in=PartnerStatus.values), name="partner_status_known"),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], include=["owner", "department"], name="partner_recent_scope")
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("partners:detail", args=[self.pk])

    @property
    def next_statuses(self):
        """The stages this partner may move to next, as (value, label)."""
        return [(s, PartnerStatus(s).label) for s in TRANSITIONS.get(self.status, ())]

    @property
    def region_name(self):
        return regions.full_name(self.region) if self.region else ""


class PartnerContact(models.Model):
    """A person at the partner we deal with."""

    scope_owner_field = "partner__owner"
    scope_department_field = "partner__department"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=50)
    title = models.CharField(_("job title"), max_length=50, blank=True)
    mobile = models.CharField(_("mobile"), max_length=11, blank=True)
    email = models.EmailField(_("email"), blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        verbose_name = _("partner contact")
        verbose_name_plural = _("partner contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["partner"], condition=Q(is_primary=True), name="partner_one_primary_contact"
            )
        ]

    def __str__(self):
        return self.name


class PartnerFollowUp(models.Model):
    """跟进: a call, visit or meeting with a partner, optionally with the next follow-up's time
    (which becomes a reminder of the channel manager)."""

    scope_owner_field = "partner__owner"
    scope_department_field = "partner__department"

    class Kind(models.TextChoices):
        CALL = "call", _("Phone call")
        VISIT = "visit", _("Visit")
        WECHAT = "wechat", _("WeChat")
        MEETING = "meeting", _("Meeting")

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="follow_ups")
    author = models.ForeignKey(USER, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CALL)
    content = models.TextField(_("content"))
    next_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("partner follow-up")
        verbose_name_plural = _("partner follow-ups")


class PartnerStatusChange(models.Model):
    """One move of a partner through the pipeline (the history the kanban's moves leave)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=PartnerStatus.choices)
    to_status = models.CharField(max_length=20, choices=PartnerStatus.choices)
    actor = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("note"), max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]


class CommissionRule(models.Model):
    """返佣规则: what a partner earns on an order it brought — a percentage of the paid amount (of the
    lines the rule covers) or a fixed sum per order, capped per order. A rule narrows by SKU or product
    category (catalog), partner type, grade and new or repeat customer; the most specific active rule
    wins (SKU over category, a deeper category over a shallower one, then the number of conditions,
    then the higher priority)."""

    class Mode(models.TextChoices):
        PERCENT = "percent", _("Percentage of the paid amount")
        FIXED = "fixed", _("Fixed sum per order")

    class CustomerKind(models.TextChoices):
        ANY = "", _("Any customer")
        NEW = "new", _("New customer")
        REPEAT = "repeat", _("Repeat customer")

    name = models.CharField(_("name"), max_length=100)
    sku = models.ForeignKey(
        "catalog.Sku", verbose_name=_("SKU"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    category = models.ForeignKey(
        "catalog.Category",
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    partner_kind = models.CharField(_("partner type"), max_length=20, choices=PartnerKind.choices, blank=True)
    grade = models.CharField(_("grade"), max_length=1, choices=PartnerGrade.choices, blank=True)
    customer_kind = models.CharField(_("customer"), max_length=10, choices=CustomerKind.choices, blank=True)
    mode = models.CharField(_("commission"), max_length=10, choices=Mode.choices, default=Mode.PERCENT)
    rate = models.DecimalField(_("rate %"), max_digits=5, decimal_places=2, null=True, blank=True)
    amount = models.DecimalField(_("sum per order"), max_digits=12, decimal_places=2, null=True, blank=True)
    cap = models.DecimalField(_("cap per order"), max_digits=12, decimal_places=2, null=True, blank=True)
    priority = models.PositiveSmallIntegerField(_("priority"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-is_active", "-priority", "id"]
        verbose_name = _("commission rule")
        verbose_name_plural = _("commission rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(sku__isnull=True) | Q(category__isnull=True), name="commission_rule_sku_or_category"
            ),
            models.CheckConstraint(
                condition=(
                    Q(mode="percent", rate__isnull=False, rate__gt=0, rate__lte=100)
                    | Q(mode="fixed", amount__isnull=False, amount__gt=0)
                ),
                name="commission_rule_figure",
            ),
            models.CheckConstraint(condition=Q(cap__isnull=True) | Q(cap__gt=0), name="commission_rule_cap_positive"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("partners:rule_edit", args=[self.pk])


class Attribution(models.Model):
    """订单归属: the one partner an order is attributed to, and why. The order is the primary key of
    the row, so a second attribution of the same order fails in the database."""

    scope_owner_field = "partner__owner"
    scope_department_field = "partner__department"
    scope_partner_field = "partner"

    class Reason(models.TextChoices):
        CODE = "code", _("Referral code")
        LEAD = "lead", _("Registered lead")
        MANUAL = "manual", _("By hand")

    order = models.OneToOneField(
        "customers.Order",
        verbose_name=_("order"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="partner_attribution",
    )
    partner = models.ForeignKey(
        Partner, verbose_name=_("partner"), on_delete=models.PROTECT, related_name="attributions"
    )
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    by = models.ForeignKey(
        USER, verbose_name=_("by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("attributed at"), default=timezone.now)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("order attribution")
        verbose_name_plural = _("order attributions")
        indexes = [models.Index(fields=["partner", "at"], name="attribution_partner_time")]


class Statement(models.Model):
    """结算单: what a partner earned in a month. Its ``total`` is the sum of its lines, recomputed in
    the transaction that adds any line; lines are never edited (a correction is a new line), and an
    approved statement takes no new line."""

    scope_owner_field = "partner__owner"
    scope_department_field = "partner__department"
    scope_partner_field = "partner"

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        PAID = "paid", _("Paid")

    partner = models.ForeignKey(Partner, verbose_name=_("partner"), on_delete=models.PROTECT, related_name="statements")
    period = models.DateField(_("month"), help_text=_("The first day of the month."))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=0)
    prepared_by = models.ForeignKey(
        USER, verbose_name=_("prepared by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed by the partner"), null=True, blank=True)
    confirmed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-period", "partner_id"]
        verbose_name = _("settlement statement")
        verbose_name_plural = _("settlement statements")
        constraints = [
            models.UniqueConstraint(fields=["partner", "period"], name="statement_one_per_partner_month"),
            models.CheckConstraint(condition=Q(period__day=1), name="statement_period_first_of_month"),
        ]

    def __str__(self):
        return f"{self.partner} {self.period:%Y-%m}"

    def get_absolute_url(self):
        return reverse("partners:statement", args=[self.pk])


class StatementLine(models.Model):
    """One signed line of a statement: an order's commission (accrual), its reversal when the order
    is cancelled (clawback, in the next statement), or an adjustment. An order accrues once and is
    clawed back once, whatever the number of generators (unique per order and kind)."""

    class Kind(models.TextChoices):
        ACCRUAL = "accrual", _("Commission")
        CLAWBACK = "clawback", _("Clawback")
        ADJUSTMENT = "adjustment", _("Adjustment")
        REBATE = "rebate", _("Rebate")

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    order = models.ForeignKey(
        "customers.Order", verbose_name=_("order"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rule = models.ForeignKey(
        CommissionRule, verbose_name=_("rule"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    base = models.DecimalField(_("base"), max_digits=14, decimal_places=2, default=0)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    rebate_plan = models.ForeignKey(
        "partners.RebatePlan", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind"],
                condition=Q(order__isnull=False) & Q(kind__in=["accrual", "clawback"]),
                name="statement_line_once_per_order",
            ),
            models.UniqueConstraint(
                fields=["statement", "rebate_plan"],
                condition=Q(rebate_plan__isnull=False),
                name="statement_line_one_rebate_per_plan",
            ),
        ]


class RebatePlan(models.Model):
    """返点: a rebate on a partner's volume (paid GMV of its attributed orders) over a period, by tiers.
    Retroactive: the rate of the highest tier reached applies to the whole volume from the first
    yuan. Marginal: each tier's rate applies to the part of the volume inside that tier."""

    class Period(models.TextChoices):
        MONTH = "month", _("Monthly")
        QUARTER = "quarter", _("Quarterly")
        YEAR = "year", _("Yearly")

    class Mode(models.TextChoices):
        RETROACTIVE = "retroactive", _("Retroactive from the first yuan")
        MARGINAL = "marginal", _("Marginal per tier")

    name = models.CharField(_("name"), max_length=100)
    period = models.CharField(_("period"), max_length=10, choices=Period.choices, default=Period.QUARTER)
    mode = models.CharField(_("calculation"), max_length=12, choices=Mode.choices, default=Mode.RETROACTIVE)
    partner_kind = models.CharField(_("partner type"), max_length=20, choices=PartnerKind.choices, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("rebate plan")
        verbose_name_plural = _("rebate plans")

    def __str__(self):
        return self.name


class RebateTier(models.Model):
    """A tier of a rebate plan: from ``threshold`` (¥, inclusive) of period volume, ``rate`` %."""

    plan = models.ForeignKey(RebatePlan, on_delete=models.CASCADE, related_name="tiers")
    threshold = models.DecimalField(_("volume from"), max_digits=14, decimal_places=2)
    rate = models.DecimalField(_("rate %"), max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = _("rebate tier")
        verbose_name_plural = _("rebate tiers")
        ordering = ["plan", "threshold"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "threshold"], name="rebate_tier_threshold_once"),
            models.CheckConstraint(condition=Q(threshold__gte=0), name="rebate_tier_threshold_not_negative"),
            models.CheckConstraint(condition=Q(rate__gt=0, rate__lte=100), name="rebate_tier_rate_range"),
        ]


class LeadRegistration(models.Model):
    """报备: a partner registers a prospective customer (by mobile) and is protected on it for a
    number of days. At most one registration per mobile is protected at a time (a partial unique
    index); a registration of a mobile another partner holds, or of a customer we already have, is
    stored as a conflict for the channel manager, never protected twice."""

    scope_owner_field = "partner__owner"
    scope_department_field = "partner__department"
    scope_partner_field = "partner"

    class Status(models.TextChoices):
        PROTECTED = "protected", _("Protected")
        CONFLICT = "conflict", _("Conflict")
        EXPIRED = "expired", _("Expired")

    partner = models.ForeignKey(
        Partner, verbose_name=_("partner"), on_delete=models.CASCADE, related_name="registrations"
    )
    name = models.CharField(_("name"), max_length=100)
    mobile = models.CharField(_("mobile"), max_length=11, db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    conflict_reason = models.CharField(_("conflict"), max_length=20, blank=True)
    protected_until = models.DateTimeField(_("protected until"), null=True, blank=True)
    created_at = models.DateTimeField(_("registered at"), default=timezone.now)
    #: the one extension a registration may get (on the partner's request)
    extended_at = models.DateTimeField(_("extended at"), null=True, blank=True)
    #: the expiry warning was sent (once)
    warned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead registration")
        verbose_name_plural = _("lead registrations")
        constraints = [
            models.UniqueConstraint(
                fields=["mobile"], condition=Q(status="protected"), name="registration_one_protected_per_mobile"
            ),
        ]
        indexes = [models.Index(fields=["partner", "-created_at"], name="registration_partner_recent")]

    @property
    def may_extend(self) -> bool:
        return self.status == self.Status.PROTECTED and self.extended_at is None


class PartnerUser(models.Model):
    """代理商账号: a user of a partner company, who signs in to the portal and sees that partner's
    registrations, orders, statements and grade only. A user belongs to one partner."""

    scope_owner_field = "partner__owner"
    scope_department_field = "partner__department"
    scope_partner_field = "partner"

    user = models.OneToOneField(USER, on_delete=models.CASCADE, related_name="partner_link")
    partner = models.ForeignKey(Partner, verbose_name=_("partner"), on_delete=models.CASCADE, related_name="users")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("partner user")
        verbose_name_plural = _("partner users")


class GradeChange(models.Model):
    """One monthly grade computation of a partner (合作级别历史): the figures it used and the grade
    that applies from ``effective_from`` (the first day of the period after the one measured). One
    row per partner and month, so running the computation twice keeps one."""

    scope_owner_field = "partner__owner"
    scope_department_field = "partner__department"
    scope_partner_field = "partner"

    partner = models.ForeignKey(Partner, verbose_name=_("partner"), on_delete=models.CASCADE, related_name="grades")
    effective_from = models.DateField(_("applies from"))
    from_grade = models.CharField(_("previous grade"), max_length=1, choices=PartnerGrade.choices)
    to_grade = models.CharField(_("grade"), max_length=1, choices=PartnerGrade.choices)
    gmv = models.DecimalField(_("12-month GMV"), max_digits=16, decimal_places=2, default=0)
    conversion_rate = models.DecimalField(_("lead conversion %"), max_digits=5, decimal_places=2, default=0)
    satisfaction = models.DecimalField(_("satisfaction"), max_digits=3, decimal_places=2, null=True, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-effective_from", "-id"]
        verbose_name = _("grade change")
        verbose_name_plural = _("grade history")
        constraints = [
            models.UniqueConstraint(fields=["partner", "effective_from"], name="grade_once_per_partner_month"),
        ]


class DealerStore(models.Model):
    """门店: an organization customer that buys through a dealer (FMCG). A store belongs to one dealer;
    dealers nest through ``Partner.parent``, so a dealer's network is its stores and those of the
    dealers below it, at any depth."""

    scope_owner_field = "dealer__owner"
    scope_department_field = "dealer__department"
    scope_partner_field = "dealer"

    customer = models.OneToOneField(
        "customers.Customer",
        verbose_name=_("store"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="dealer_link",
    )
    dealer = models.ForeignKey(Partner, verbose_name=_("dealer"), on_delete=models.PROTECT, related_name="stores")
    since = models.DateField(_("since"), default=timezone.localdate)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        indexes = [models.Index(fields=["dealer"], include=["customer"], name="store_by_dealer")]


class LeadDistributionRule(models.Model):
    """线索分配规则 (one row, set by an admin): which new leads nobody owns are handed to partners,
    and each grade's weight in the weighted round-robin (0: partners of that grade get none). Only
    active partners take part; ``daily_cap`` bounds what one partner gets per day (Asia/Shanghai)."""

    is_active = models.BooleanField(_("distribute leads to partners"), default=False)
    source = models.CharField(
        _("source channel"), max_length=20, blank=True, help_text=_("Empty: leads from every source.")
    )
    region = models.CharField(_("region"), max_length=6, blank=True, help_text=_("Empty: leads from every region."))
    weight_a = models.PositiveSmallIntegerField(_("weight of grade A"), default=3)
    weight_b = models.PositiveSmallIntegerField(_("weight of grade B"), default=2)
    weight_c = models.PositiveSmallIntegerField(_("weight of grade C"), default=1)
    weight_d = models.PositiveSmallIntegerField(_("weight of grade D"), default=0)
    daily_cap = models.PositiveIntegerField(
        _("leads per partner per day, at most"), null=True, blank=True, help_text=_("Empty: no cap.")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("lead distribution rule")
        verbose_name_plural = _("lead distribution rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(daily_cap__isnull=True) | Q(daily_cap__gt=0), name="distribution_cap_positive"
            )
        ]

    @classmethod
    def current(cls) -> "LeadDistributionRule":
        rule, _created = cls.objects.get_or_create(pk=1)
        return rule

    def weight_of(self, grade: str) -> int:
        return getattr(self, f"weight_{grade.lower()}", 0)

    @property
    def weights(self) -> dict[str, int]:
        return {grade: self.weight_of(grade) for grade in PartnerGrade.values}


class PartnerLeadCursor(models.Model):
    """A partner's running credit in the smooth weighted round-robin (locked while choosing)."""

    partner = models.OneToOneField(Partner, primary_key=True, on_delete=models.CASCADE, related_name="+")
    credit = models.IntegerField(default=0)


class PartnerLeadDay(models.Model):
    """How many leads a partner was handed on one day, with the cap of that day: the database
    refuses a count above the cap (the last line of defence behind the locked counter)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    handed = models.PositiveIntegerField(default=0)
    cap = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "day"], name="partner_lead_day_once"),
            models.CheckConstraint(
                condition=Q(cap__isnull=True) | Q(handed__lte=models.F("cap")), name="partner_lead_day_within_cap"
            ),
        ]


class LeadHandover(models.Model):
    """交给合作伙伴的线索: a lead handed to a partner by the distribution rule, why, and the outcome
    the partner reports. One hand-over per lead (the lead is the primary key)."""

    scope_owner_field = "partner__owner"
    scope_department_field = "partner__department"
    scope_partner_field = "partner"

    class Reason(models.TextChoices):
        NEW_LEAD = "new", _("Distribution rule, new lead")
        BACKLOG = "backlog", _("Distribution rule, backlog")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Not followed up yet")
        CONTACTED = "contacted", _("Contacted")
        CONVERTED = "converted", _("Converted")
        INVALID = "invalid", _("Invalid")

    lead = models.OneToOneField(
        "sales.Lead", verbose_name=_("lead"), primary_key=True, on_delete=models.CASCADE, related_name="handover"
    )
    partner = models.ForeignKey(Partner, verbose_name=_("partner"), on_delete=models.CASCADE, related_name="handovers")
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    grade = models.CharField(_("grade"), max_length=1, choices=PartnerGrade.choices)
    weight = models.PositiveSmallIntegerField(_("weight"))
    at = models.DateTimeField(_("handed over at"), default=timezone.now)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    outcome_at = models.DateTimeField(_("outcome recorded at"), null=True, blank=True)
    outcome_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-at", "-lead_id"]
        verbose_name = _("lead handed to a partner")
        verbose_name_plural = _("leads handed to partners")
        indexes = [models.Index(fields=["partner", "-at"], name="handover_partner_recent")]
