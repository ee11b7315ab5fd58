"""Coupons: budgets, campaigns, batches, coupons, redemptions, compensation.

Counters that limits depend on (a batch's issued count, a budget's reserved and used amounts) are
changed only by conditional UPDATEs in the services, and CHECK constraints refuse any row that would
break them — the last line of defence under concurrency.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

USER = settings.AUTH_USER_MODEL
ZERO = Decimal("0")


#: the channels a coupon is claimed through, in words
CHANNELS = (
    ("app", _("App")),
    ("mini_program", _("Mini-program")),
    ("store", _("Store")),
    ("sales", _("Sales rep")),
    ("compensation", _("Compensation")),
)


class FiscalPeriod(models.Model):
    class Kind(models.TextChoices):
        YEAR = "year", _("Year")
        QUARTER = "quarter", _("Quarter")

    name = models.CharField(_("name"), max_length=50, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.QUARTER)
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))

    class Meta:
        ordering = ["-start"]
        verbose_name = _("fiscal period")
        verbose_name_plural = _("fiscal periods")
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="period_end_after_start")]

    def __str__(self):
        return self.name


class BudgetAccount(models.Model):
    """预算账户 of a department (or region) for a period. Balance = total − reserved − used."""

    scope_owner_field = "owner"
    scope_department_field = "department"

    period = models.ForeignKey(
        FiscalPeriod, verbose_name=_("fiscal period"), on_delete=models.PROTECT, related_name="accounts"
    )
    department = models.ForeignKey(
        "crm.Department", verbose_name=_("department"), on_delete=models.PROTECT, related_name="budget_accounts"
    )
    owner = models.ForeignKey(
        USER,
        verbose_name=_("budget owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="budget_accounts",
    )
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=ZERO)
    reserved = models.DecimalField(_("reserved"), max_digits=14, decimal_places=2, default=ZERO)
    used = models.DecimalField(_("used"), max_digits=14, decimal_places=2, default=ZERO)
    target_gmv = models.DecimalField(_("target GMV"), max_digits=16, decimal_places=2, default=ZERO)
    gmv = models.DecimalField(_("GMV produced"), max_digits=16, decimal_places=2, default=ZERO)
    low_balance_alert = models.DecimalField(
        _("alert when the balance falls below"), max_digits=14, decimal_places=2, default=ZERO
    )

    class Meta:
        ordering = ["period", "department__path"]
        verbose_name = _("budget account")
        verbose_name_plural = _("budget accounts")
        constraints = [
            models.UniqueConstraint(fields=["period", "department"], name="one_budget_per_department_period"),
            models.CheckConstraint(condition=Q(reserved__gte=0) & Q(used__gte=0), name="budget_counters_not_negative"),
            models.CheckConstraint(condition=Q(total__gte=F("reserved") + F("used")), name="budget_never_below_zero"),
        ]

    def __str__(self):
        return f"{self.department} · {self.period}"

    def get_absolute_url(self):
        return reverse("coupons:budget", args=[self.pk])

    @property
    def balance(self):
        return self.total - self.reserved - self.used

    @property
    def gmv_to_reach(self):
        return max(self.target_gmv - self.gmv, ZERO)


class BudgetAllocation(models.Model):
    """Every allocation and re-allocation of a budget (the history of ``total``)."""

    account = models.ForeignKey(BudgetAccount, on_delete=models.CASCADE, related_name="allocations")
    amount = models.DecimalField(_("change"), max_digits=14, decimal_places=2)
    total_after = models.DecimalField(max_digits=14, decimal_places=2)
    note = models.CharField(_("note"), max_length=200, blank=True)
    by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]


class Campaign(models.Model):
    scope_owner_field = "owner"
    scope_department_field = "department"

    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(USER, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="coupon_campaigns")
    department = models.ForeignKey(
        "crm.Department", verbose_name=_("department"), on_delete=models.PROTECT, related_name="coupon_campaigns"
    )
    budget_account = models.ForeignKey(
        BudgetAccount, verbose_name=_("budget account"), on_delete=models.PROTECT, related_name="campaigns"
    )
    goal = models.CharField(_("goal"), max_length=300, blank=True)
    target_gmv = models.DecimalField(_("target GMV"), max_digits=16, decimal_places=2, default=ZERO)
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-start", "-id"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("coupons:campaign", args=[self.pk])


class Batch(models.Model):
    """A batch of coupons of one type (券批次)."""

    scope_owner_field = "campaign__owner"
    scope_department_field = "campaign__department"

    class DiscountType(models.TextChoices):
        FIXED = "fixed", _("Fixed amount off")
        THRESHOLD = "threshold", _("Spend X, get Y off")
        PERCENT = "percent", _("Percentage off")

    class Scope(models.TextChoices):
        ALL = "all", _("All goods")
        CATEGORIES = "categories", _("Categories")
        SKUS = "skus", _("Products (SKUs)")
        OWN = "own", _("Own-operated goods")

    class Audience(models.TextChoices):
        EVERYONE = "everyone", _("Everyone")
        NEW = "new", _("New customers only")
        EXISTING = "existing", _("Existing customers only")
        TAG = "tag", _("Customers with a tag")
        SEGMENT = "segment", _("Customers in a segment")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        ENDED = "ended", _("Ended")

    class BudgetMode(models.TextChoices):
        AT_REDEMPTION = "redeem", _("Charge the budget at redemption")
        RESERVE_AT_CLAIM = "reserve", _("Reserve at claim, settle at redemption")

    class Production(models.TextChoices):
        ON_APPROVAL = "auto", _("Produce all codes on approval")
        MANUAL = "manual", _("Produce codes by hand")
        LAZY = "lazy", _("Issue codes at claim")

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="batches")
    code = models.SlugField(_("batch code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    discount_type = models.CharField(
        _("discount method"), max_length=10, choices=DiscountType.choices, default=DiscountType.FIXED
    )
    amount = models.DecimalField(_("face value (¥ off)"), max_digits=10, decimal_places=2, default=ZERO)
    percent = models.DecimalField(_("percent off"), max_digits=5, decimal_places=2, default=ZERO)
    cap = models.DecimalField(
        _("maximum discount (percentage)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    threshold = models.DecimalField(_("spend at least (¥)"), max_digits=10, decimal_places=2, default=ZERO)
    scope = models.CharField(_("scope"), max_length=12, choices=Scope.choices, default=Scope.ALL)
    scope_values = models.CharField(
        _("categories or SKUs"), max_length=500, blank=True, help_text=_("Comma-separated.")
    )
    channels = models.CharField(
        _("channels"), max_length=200, blank=True, help_text=_("Comma-separated channel codes; empty = every channel.")
    )
    audience = models.CharField(_("audience"), max_length=10, choices=Audience.choices, default=Audience.EVERYONE)
    audience_tag = models.ForeignKey(
        "customers.Tag", verbose_name=_("audience tag"), null=True, blank=True, on_delete=models.PROTECT
    )
    audience_segment = models.ForeignKey(
        "marketing.Segment",
        verbose_name=_("audience segment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="coupon_batches",
    )
    platform_share = models.PositiveSmallIntegerField(_("platform funds (%)"), default=100)
    merchant_share = models.PositiveSmallIntegerField(_("merchant funds (%)"), default=0)
    agent_share = models.PositiveSmallIntegerField(_("agent funds (%)"), default=0)
    quantity = models.PositiveIntegerField(_("quantity"))
    issued = models.PositiveIntegerField(_("issued"), default=0, editable=False)
    per_customer_limit = models.PositiveIntegerField(_("per customer, at most"), default=1)
    per_day_limit = models.PositiveIntegerField(_("per customer per day, at most"), default=1)
    claim_start = models.DateTimeField(_("claim from"))
    claim_end = models.DateTimeField(_("claim until"))
    use_days = models.PositiveIntegerField(_("usable for (days after claim)"), null=True, blank=True)
    use_start = models.DateTimeField(_("usable from"), null=True, blank=True)
    use_end = models.DateTimeField(_("usable until"), null=True, blank=True)
    fixed_promotion = models.BooleanField(
        _("fixed promotion period"),
        default=False,
        help_text=_("Allows windows longer than 90 / 7 days, e.g. Singles' Day."),
    )
    stacks_with_promotions = models.BooleanField(_("stacks with promotions"), default=True)
    budget_mode = models.CharField(
        _("budget"), max_length=10, choices=BudgetMode.choices, default=BudgetMode.AT_REDEMPTION
    )
    production = models.CharField(
        _("production"), max_length=10, choices=Production.choices, default=Production.ON_APPROVAL
    )
    decay_factor = models.DecimalField(
        _("decay per repeated claim"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("1.00"),
        help_text=_("1.00 = no decay; 0.80 = each further claim in the same channel is worth 80% of the previous."),
    )
    decay_floor = models.DecimalField(_("decay never below (¥)"), max_digits=10, decimal_places=2, default=ZERO)
    new_customer_bonus = models.DecimalField(
        _("extra for new customers (¥)"), max_digits=10, decimal_places=2, default=ZERO
    )
    expected_cost_ratio = models.DecimalField(
        _("product cost ratio for the margin check"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("0.60"),
        help_text=_("Cost / price of the goods in scope; no coupon may push an order below cost."),
    )
    low_stock_alert = models.PositiveIntegerField(_("alert when fewer than this many are left"), default=0)
    subsidy_version = models.ForeignKey(
        "SubsidyPlanVersion",
        verbose_name=_("subsidy plan version"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="batches",
        help_text=_("The subsidy plan the amounts were taken from."),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    reject_reason = models.TextField(_("rejection reason"), blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    produced = models.PositiveIntegerField(_("codes produced"), default=0, editable=False)
    production_state = models.CharField(
        _("code production"),
        max_length=10,
        blank=True,
        editable=False,
        choices=[("queued", _("Waiting for a worker")), ("running", _("Producing")), ("done", _("Done"))],
    )
    created_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("coupon batch")
        verbose_name_plural = _("coupon batches")
        constraints = [
            models.CheckConstraint(condition=Q(issued__lte=F("quantity")), name="batch_never_over_issued"),
            models.CheckConstraint(
                condition=Q(platform_share__lte=100) & Q(merchant_share__lte=100) & Q(agent_share__lte=100),
                name="batch_shares_percent",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    def get_absolute_url(self):
        return reverse("coupons:batch", args=[self.pk])

    @property
    def remaining(self):
        return self.quantity - self.issued

    def channel_list(self):
        return [c.strip() for c in self.channels.split(",") if c.strip()]

    def scope_list(self):
        return [c.strip() for c in self.scope_values.split(",") if c.strip()]

    @property
    def max_discount(self):
        """The most one coupon of this batch can take off an order."""
        if self.discount_type == self.DiscountType.PERCENT:
            return self.cap if self.cap is not None else None
        return self.amount + self.new_customer_bonus


class Coupon(models.Model):
    scope_owner_field = "customer__owner"
    scope_department_field = "customer__department"

    class Status(models.TextChoices):
        AVAILABLE = "available", _("Not issued")
        CLAIMED = "claimed", _("Claimed")
        REDEEMED = "redeemed", _("Redeemed")
        VOID = "void", _("Void")

    # no single-column indexes on batch and customer: the composite indexes below start with them
    # (fewer indexes to maintain when a million codes are produced)
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="coupons", db_index=False)
    code = models.CharField(_("code"), max_length=16)  # unique: see Meta (no extra LIKE index)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.AVAILABLE)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="coupons", db_index=False
    )
    channel = models.CharField(_("channel"), max_length=30, blank=True)
    amount = models.DecimalField(_("face value"), max_digits=10, decimal_places=2, default=ZERO)
    reserved = models.DecimalField(max_digits=10, decimal_places=2, default=ZERO)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    claim_day = models.DateField(null=True, blank=True)
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    is_compensation = models.BooleanField(default=False)

    class Meta:
        ordering = ["-claimed_at", "-id"]
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        constraints = [models.UniqueConstraint(fields=["code"], name="coupon_code_unique")]
        indexes = [
            # the claim's "first available code of the batch" and the per-batch counts
            models.Index(fields=["batch", "status", "id"], name="coupon_batch_status_id"),
            models.Index(fields=["customer", "batch", "claim_day"], name="coupon_customer_claims"),
            models.Index(
                fields=["claimed_at"],
                include=["batch"],
                name="coupon_claimed_at_batch",
                condition=Q(claimed_at__isnull=False),
            ),
        ]

    @property
    def channel_label(self):
        """The claim channel in words ("小程序"), the code itself for a channel without a name."""
        return dict(CHANNELS).get(self.channel, self.channel)


class Redemption(models.Model):
    """One use of a coupon on an order, with the discount, the subsidy and its split among funders."""

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    # the coupon's batch, copied so that figures per batch and per day need not join the coupons
    batch = models.ForeignKey(Batch, null=True, on_delete=models.PROTECT, related_name="redemptions")
    order = models.ForeignKey("customers.Order", on_delete=models.PROTECT, related_name="redemptions")
    account = models.ForeignKey(BudgetAccount, on_delete=models.PROTECT, related_name="redemptions")
    order_amount = models.DecimalField(max_digits=12, decimal_places=2)
    discount = models.DecimalField(max_digits=12, decimal_places=2)
    subsidy = models.DecimalField(max_digits=12, decimal_places=2)
    platform_amount = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    merchant_amount = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    agent_amount = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        constraints = [
            # a coupon is redeemed at most once at a time, and an order takes one coupon
            models.UniqueConstraint(
                fields=["coupon"], condition=Q(reversed_at__isnull=True), name="coupon_redeemed_once"
            ),
            models.UniqueConstraint(
                fields=["order"], condition=Q(reversed_at__isnull=True), name="one_coupon_per_order"
            ),
        ]
        indexes = [
            # figures per batch, and per day (monitoring), read from the index alone
            models.Index(
                fields=["batch"],
                include=["discount", "subsidy", "order_amount"],
                condition=Q(reversed_at__isnull=True),
                name="redemption_live_batch",
            ),
            models.Index(
                fields=["at"],
                include=["batch", "subsidy", "order_amount"],
                condition=Q(reversed_at__isnull=True),
                name="redemption_live_at",
            ),
        ]

    def save(self, *args, **kwargs):
        if self.batch_id is None and self.coupon_id is not None:
            self.batch_id = Coupon.objects.values_list("batch_id", flat=True).get(pk=self.coupon_id)
        super().save(*args, **kwargs)


class CompensationRule(models.Model):
    """Limits for compensation coupons (赔付) of one department (or the whole company)."""

    department = models.OneToOneField(
        "crm.Department", null=True, blank=True, on_delete=models.CASCADE, related_name="compensation_rule"
    )
    max_amount_per_coupon = models.DecimalField(
        _("one coupon at most (¥)"), max_digits=10, decimal_places=2, default=Decimal("50")
    )
    period_days = models.PositiveIntegerField(_("period (days)"), default=30)
    max_count_per_period = models.PositiveIntegerField(_("coupons per rep per period, at most"), default=20)
    max_amount_per_period = models.DecimalField(
        _("amount per rep per period, at most (¥)"), max_digits=12, decimal_places=2, default=Decimal("500")
    )
    batch = models.ForeignKey(Batch, verbose_name=_("compensation batch"), on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("compensation rule")
        verbose_name_plural = _("compensation rules")


class Compensation(models.Model):
    scope_owner_field = "requested_by"
    scope_department_field = "customer__department"

    class Status(models.TextChoices):
        APPROVED = "approved", _("Approved")
        REVIEW = "review", _("In review")
        REJECTED = "rejected", _("Rejected")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="compensations")
    order = models.ForeignKey("customers.Order", null=True, blank=True, on_delete=models.SET_NULL)
    complaint = models.CharField(_("complaint"), max_length=200, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    reason = models.TextField(_("reason"))
    status = models.CharField(max_length=10, choices=Status.choices)
    review_reasons = models.JSONField(default=list)
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    coupon = models.OneToOneField(Coupon, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = _("compensation")
        ordering = ["-requested_at"]


class Alert(models.Model):
    """预警: a coupon batch or budget that needs attention (shown as a banner, sent once a day)."""

    class Kind(models.TextChoices):
        LOW_STOCK = "low_stock", _("Coupon stock running out")
        LOW_BALANCE = "low_balance", _("Budget running out")
        LOW_EFFICIENCY = "low_efficiency", _("Low efficiency")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    batch = models.ForeignKey(Batch, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts")
    account = models.ForeignKey(BudgetAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts")
    message = models.CharField(max_length=300)
    day = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "batch", "day"], name="alert_batch_once_a_day"),
            models.UniqueConstraint(fields=["kind", "account", "day"], name="alert_account_once_a_day"),
        ]


class SubsidyPlan(models.Model):
    """补贴策略: a subsidy plan computed from an uploaded file of merchants or products; every save is
    a new numbered version (earlier versions are kept)."""

    scope_owner_field = "created_by"
    scope_department_field = "department"

    class Subject(models.TextChoices):
        PRODUCTS = "products", _("Products (SKUs)")
        MERCHANTS = "merchants", _("Merchants")

    name = models.CharField(_("name"), max_length=100)
    subject = models.CharField(_("rows are"), max_length=10, choices=Subject.choices, default=Subject.PRODUCTS)
    department = models.ForeignKey(
        "crm.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        USER, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("subsidy plan")
        verbose_name_plural = _("subsidy plans")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("coupons:subsidy_plan", args=[self.pk])


class SubsidyPlanVersion(models.Model):
    """One saved computation: the input rows, the parameters (a, b, t, weights, scoring) and the
    result per row (scores, Y, X), with who saved it."""

    scope_owner_field = "plan__created_by"
    scope_department_field = "plan__department"

    plan = models.ForeignKey(SubsidyPlan, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    source_name = models.CharField(_("file"), max_length=200, blank=True)
    a = models.DecimalField(_("lowest subsidy a (¥)"), max_digits=10, decimal_places=2)
    b = models.DecimalField(_("highest subsidy b (¥)"), max_digits=10, decimal_places=2)
    t = models.FloatField(_("shape factor t"))
    weights = models.JSONField(_("weights"))
    rank = models.BooleanField(_("score by rank"), default=False)
    budget = models.DecimalField(_("budget (¥)"), max_digits=14, decimal_places=2, null=True, blank=True)
    columns = models.JSONField(default=list)  # the input file's header
    input_rows = models.JSONField(default=list)  # the input rows (dicts by column)
    result = models.JSONField(default=list)  # [{"id", "scores": {col: M}, "y", "x"}]
    row_count = models.PositiveIntegerField(default=0)
    total = models.DecimalField(_("total subsidy (¥)"), max_digits=16, decimal_places=2, default=ZERO)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        USER, verbose_name=_("saved by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("saved at"), default=timezone.now)

    class Meta:
        ordering = ["plan", "-number"]
        verbose_name = _("subsidy plan version")
        verbose_name_plural = _("subsidy plan versions")
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="subsidy_plan_version_once")]

    def __str__(self):
        return f"{self.plan.name} v{self.number}"

    def get_absolute_url(self):
        return reverse("coupons:subsidy_version", args=[self.plan_id, self.number])

    def amounts(self):
        return [Decimal(row["x"]) for row in self.result]
