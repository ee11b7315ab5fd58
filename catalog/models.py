"""产品及销售政策: the catalogue (categories, products, SKUs and their launch), sales policies
(price lists and discounts) and customer entitlements (客户权益).

Money is ``Decimal`` to the cent; dates of sale and of policies are calendar days in
Asia/Shanghai. Limits that must hold under concurrency are database constraints here (an
entitlement's balance between zero and its quantity, one use per reference), besides the
conditional UPDATEs of ``catalog.services``.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, LifecycleStage, Order, ValueSegment

USER = settings.AUTH_USER_MODEL
ZERO = Decimal(0)
GRID_CLASSES = [(letter, letter) for letter in "ABCDEFGHI"]
#: a region is a GB/T 2260 adcode: 6 digits (province "310000", city "310100", district "310104")
region_code_validator = RegexValidator(r"^\d{6}$", _("Enter a 6-digit region code (GB/T 2260), e.g. 310000."))


def region_prefix(code: str) -> str:
    """The prefix a region's codes share: a province "310000" → "31", a city "310100" → "3101",
    a district "310104" → itself. A customer is "in" the region when their code starts with it."""
    if not code:
        return ""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


class Category(models.Model):
    """品类: a node of the category tree. ``path`` ("0001/0004/") keeps a subtree one prefix away."""

    name = models.CharField(_("name"), max_length=50)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["path"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [models.UniqueConstraint(fields=["parent", "name"], name="catalog_category_unique_name")]

    def __str__(self):
        return self.name

    @property
    def depth(self):
        return self.path.count("/")


class Product(models.Model):
    """产品: what is sold, with its SKUs, its category and its launch (产品上线).

    A product is on sale on a day when its launch was approved and the day lies in
    [``sale_from``, ``sale_until``) — ``sale_until`` empty: until withdrawn."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    code = models.CharField(_("product code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        related_name="products",
    )
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=Status.choices,
        default=Status.DRAFT,
        db_index=True,
    )
    sale_from = models.DateField(_("on sale from"), null=True, blank=True)
    sale_until = models.DateField(
        _("withdrawn on"),
        null=True,
        blank=True,
        help_text=_("The first day it is no longer sold; empty: until withdrawn."),
    )
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.CheckConstraint(
                condition=Q(sale_until__isnull=True)
                | Q(sale_from__isnull=True)
                | Q(sale_until__gt=models.F("sale_from")),
                name="catalog_product_sale_period",
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    def get_absolute_url(self):
        return reverse("catalog:product", args=[self.pk])

    def on_sale(self, day=None) -> bool:
        day = day or timezone.localdate()
        return (
            self.status == self.Status.APPROVED
            and self.sale_from is not None
            and self.sale_from <= day
            and (self.sale_until is None or day < self.sale_until)
        )


class Sku(models.Model):
    """SKU: one sellable variant of a product (spec, unit) with its list price, cost and tax rate.

    A SKU may grant an entitlement (客户权益) when bought: ``grants_quantity`` units of
    ``grants_name`` (e.g. 48 lesson hours), valid ``grants_valid_days`` days."""

    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        on_delete=models.CASCADE,
        related_name="skus",
    )
    code = models.CharField(_("SKU code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    spec = models.CharField(_("specification"), max_length=100, blank=True)
    unit = models.CharField(_("unit"), max_length=20, default="件")
    list_price = models.DecimalField(
        _("list price"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(ZERO)],
    )
    cost = models.DecimalField(
        _("cost"),
        max_digits=12,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
    )
    tax_rate = models.DecimalField(
        _("tax rate"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("6.00"),
        help_text=_("A percentage, e.g. 6."),
        validators=[MinValueValidator(ZERO), MaxValueValidator(Decimal(100))],
    )
    is_active = models.BooleanField(_("active"), default=True)
    grants_name = models.CharField(
        _("grants entitlement"),
        max_length=50,
        blank=True,
        help_text=_("e.g. lesson hours; empty: buying it grants nothing."),
    )
    grants_quantity = models.PositiveIntegerField(_("entitlement quantity"), default=0)
    grants_valid_days = models.PositiveIntegerField(_("entitlement valid (days)"), default=365)
    renewal_threshold = models.PositiveIntegerField(
        _("renewal at balance"),
        default=0,
        help_text=_("When the balance falls to this or below, the owner gets a renewal task (once)."),
    )
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("SKU")
        verbose_name_plural = _("SKUs")
        constraints = [
            models.CheckConstraint(
                condition=Q(list_price__gte=0) & Q(cost__gte=0),
                name="catalog_sku_money",
            ),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0) & Q(tax_rate__lte=100),
                name="catalog_sku_tax",
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    def get_absolute_url(self):
        return reverse("catalog:product", args=[self.product_id])


class SalesPolicy(models.Model):
    """销售政策: a price list or a discount, for whom (channel, region, customer class) and when.

    Every condition left empty matches everything. Which policy prices a SKU when several match
    is decided by ``catalog.services.pricing`` (most specific first, then priority)."""

    class Kind(models.TextChoices):
        PRICE_LIST = "price_list", _("Price list")
        PERCENT = "percent", _("Percentage off")
        AMOUNT = "amount", _("Amount off")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.PERCENT)
    percent_off = models.DecimalField(
        _("percent off"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO), MaxValueValidator(Decimal(100))],
    )
    amount_off = models.DecimalField(
        _("amount off"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO)],
    )
    # what it applies to (discounts): one SKU, a category and those below it, or everything
    sku = models.ForeignKey(
        Sku,
        verbose_name=_("SKU"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="policies",
    )
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="policies",
    )
    # for whom
    channel = models.CharField(_("channel"), max_length=20, choices=Order.Channel.choices, blank=True)
    region = models.CharField(
        _("region code"),
        max_length=6,
        blank=True,
        validators=[region_code_validator],
        help_text=_("A GB/T 2260 code: a province (310000), a city (310100) or a district."),
    )
    value_segment = models.CharField(_("value segment"), max_length=20, choices=ValueSegment.choices, blank=True)
    grid_class = models.CharField(_("3×3 class"), max_length=1, choices=GRID_CLASSES, blank=True)
    lifecycle_stage = models.CharField(_("lifecycle stage"), max_length=20, choices=LifecycleStage.choices, blank=True)
    # a membership tier's name (普通/银卡/金卡/钻石): the tier's price benefit; the membership app
    # supplies the names and each customer's tier (``pricing.register_member_tiers``)
    member_tier = models.CharField(_("member tier"), max_length=30, blank=True)
    # when
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True, help_text=_("The last day it applies."))
    priority = models.IntegerField(
        _("priority"),
        default=0,
        help_text=_("Breaks ties between equally specific policies: the higher wins."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-priority", "name"]
        verbose_name = _("sales policy")
        verbose_name_plural = _("sales policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_until__gte=models.F("valid_from")),
                name="catalog_policy_period",
            ),
            models.CheckConstraint(
                condition=~Q(sku__isnull=False, category__isnull=False),
                name="catalog_policy_one_target",
            ),
        ]
        indexes = [
            models.Index(
                fields=["is_active", "valid_from", "valid_until"],
                name="catalog_policy_live",
            )
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("catalog:policy", args=[self.pk])


class PolicyPrice(models.Model):
    """One SKU's price in a price-list policy."""

    policy = models.ForeignKey(SalesPolicy, on_delete=models.CASCADE, related_name="prices")
    sku = models.ForeignKey(
        Sku,
        verbose_name=_("SKU"),
        on_delete=models.CASCADE,
        related_name="policy_prices",
    )
    price = models.DecimalField(
        _("price"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(ZERO)],
    )

    class Meta:
        verbose_name = _("policy price")
        verbose_name_plural = _("policy prices")
        constraints = [
            models.UniqueConstraint(fields=["policy", "sku"], name="catalog_one_price_per_sku"),
            models.CheckConstraint(condition=Q(price__gte=0), name="catalog_policy_price_positive"),
        ]


class Entitlement(models.Model):
    """客户权益: units a customer holds (lesson hours, home services, a member benefit) with a
    balance that uses take down, never below zero (a conditional UPDATE and the CHECK below)."""

    scope_owner_field = "customer__owner"
    scope_department_field = "customer__department"

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="entitlements",
    )
    sku = models.ForeignKey(
        Sku,
        verbose_name=_("SKU"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entitlements",
    )
    order = models.ForeignKey(
        Order,
        verbose_name=_("order"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    name = models.CharField(_("entitlement"), max_length=50)
    quantity = models.PositiveIntegerField(_("quantity"))
    balance = models.IntegerField(_("balance"))
    expires_on = models.DateField(
        _("expires on"),
        null=True,
        blank=True,
        help_text=_("The last day it can be used; empty: never expires."),
    )
    renewal_threshold = models.PositiveIntegerField(_("renewal at balance"), default=0)
    renewal_flagged_at = models.DateTimeField(_("renewal task created"), null=True, blank=True, editable=False)
    granted_at = models.DateTimeField(_("granted"), default=timezone.now)
    granted_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-granted_at", "-id"]
        verbose_name = _("entitlement")
        verbose_name_plural = _("entitlements")
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0),
                name="catalog_entitlement_balance_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(balance__lte=models.F("quantity")),
                name="catalog_entitlement_balance_within_quantity",
            ),
            # an order grants each SKU's entitlement once, however often the grant runs
            models.UniqueConstraint(
                fields=["order", "sku"],
                condition=Q(order__isnull=False),
                name="catalog_one_grant_per_order_sku",
            ),
        ]
        indexes = [models.Index(fields=["customer", "expires_on"], name="catalog_entitlement_customer")]

    def __str__(self):
        return f"{self.name} {self.balance}/{self.quantity}"

    def get_absolute_url(self):
        return reverse("catalog:entitlement", args=[self.pk])

    def is_expired(self, day=None) -> bool:
        return self.expires_on is not None and (day or timezone.localdate()) > self.expires_on


class EntitlementUse(models.Model):
    """One consumption (核销) of an entitlement, or a refund (退费) of units not used — both take
    the balance down; ``reference`` makes a retry a no-op; a refund's ``note`` is its reason."""

    class Kind(models.TextChoices):
        USE = "use", _("Used")
        REFUND = "refund", _("Refunded")

    entitlement = models.ForeignKey(Entitlement, on_delete=models.CASCADE, related_name="uses")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.USE)
    quantity = models.PositiveIntegerField(_("quantity"))
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    balance_after = models.IntegerField(_("balance after"))
    used_at = models.DateTimeField(_("used at"), default=timezone.now)
    used_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-used_at", "-id"]
        verbose_name = _("entitlement use")
        verbose_name_plural = _("entitlement uses")
        constraints = [
            models.UniqueConstraint(
                fields=["entitlement", "reference"],
                condition=~Q(reference=""),
                name="catalog_one_use_per_reference",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="catalog_use_quantity_positive"),
        ]


class ProductImport(models.Model):
    """A catalogue file (CSV or XLSX, one row per SKU): checked in full first (the row report),
    then written all or nothing."""

    class Status(models.TextChoices):
        VALIDATED = "validated", _("Checked")
        INVALID = "invalid", _("Has errors")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    file_name = models.CharField(_("file"), max_length=255)
    rows = models.JSONField(default=list)
    errors = models.JSONField(default=list)
    total = models.PositiveIntegerField(_("rows"), default=0)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.VALIDATED)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("catalogue import")
        verbose_name_plural = _("catalogue imports")

    def __str__(self):
        return self.file_name

    def get_absolute_url(self):
        return reverse("catalog:import_job", args=[self.pk])


class SoldLine(models.Model):
    """An order line as the 经营分析 and the policy effect read it: the line's figures with its
    order's status, time and channel and its customer's scope (owner, department) and region, in
    one row, so a page reads one table instead of joining every line to its order and customer.
    ``id`` is the order line's; ``sku`` joins the catalogue's SKU by code (none for a line outside
    it). Kept in step by database triggers on PostgreSQL and SQLite (``catalog.sold_lines``);
    never written by the application."""

    scope_owner_field = "owner"
    scope_department_field = "department"

    id = models.BigIntegerField(primary_key=True)
    order_id = models.BigIntegerField(db_index=True)
    customer_id = models.BigIntegerField(db_index=True)
    owner = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    department = models.ForeignKey(
        "crm.Department", null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    status = models.CharField(max_length=10)
    placed_at = models.DateTimeField()
    channel = models.CharField(max_length=20)
    region_province = models.CharField(max_length=6)
    region_city = models.CharField(max_length=6)
    sku = models.ForeignKey(
        Sku,
        to_field="code",
        db_column="sku",
        null=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    category = models.CharField(max_length=64)
    quantity = models.IntegerField()
    price = models.DecimalField(max_digits=12, decimal_places=2)
    cost = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    policy_id = models.IntegerField(null=True)
    policy_name = models.CharField(max_length=100)
    policy_price = models.DecimalField(max_digits=12, decimal_places=2, null=True)

    class Meta:
        indexes = [
            models.Index(fields=["placed_at"], name="sold_line_time"),
            models.Index(fields=["owner", "placed_at"], name="sold_line_owner_time"),
        ]


class SoldMonth(models.Model):
    """A closed period of sold lines — a local calendar month (grain ``m``) or day (``d``) — and
    whether :class:`SoldRollup` holds it: ``version`` is bumped by the database whenever a sold line
    of the period changes (or the catalogue moves a SKU or product), ``rolled`` is the version the
    roll-up was counted at (``catalog.rollup``). Never written by the application except by the
    roll-up."""

    grain = models.CharField(max_length=1)
    start = models.DateField()
    version = models.IntegerField(default=0)
    rolled = models.IntegerField(default=-1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["grain", "start"], name="sold_month_period")]


class SoldRollup(models.Model):
    """The figures of one closed period (a month or a day), one department and one key of one
    dimension of the 经营分析 and the policy effect, counted from :class:`SoldLine`
    (``catalog.rollup``)."""

    dim = models.CharField(max_length=10)
    grain = models.CharField(max_length=1)
    start = models.DateField()
    department_id = models.BigIntegerField(null=True)
    key = models.CharField(max_length=64)
    name = models.CharField(max_length=100)
    orders = models.IntegerField()
    qty = models.BigIntegerField()
    gmv = models.DecimalField(max_digits=16, decimal_places=2)
    costed_gmv = models.DecimalField(max_digits=16, decimal_places=2)
    cost = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        indexes = [models.Index(fields=["dim", "grain", "start", "department_id"], name="sold_rollup_dim")]
