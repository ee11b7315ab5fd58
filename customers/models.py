"""客户档案: the people (and stores) the business serves."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import ImportJobBase, SettingsRow
from crm.name_keys import NameKeysField, keys_for

from . import regions


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

    POTENTIAL = "potential", pgettext_lazy("value segment", "Potential")
    LOW = "low", _("Low value")
    HIGH_AOV = "high_aov", _("High AOV, few orders")
    FREQUENT = "frequent", _("Frequent, low AOV")
    HIGH = "high", _("High value")


class SatisfactionLevel(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class VolumeLevel(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class LeadSource(models.Model):
    """来源渠道: where leads and customers come from (官网, 直播, 转介绍 …), defined by admins.
    Records keep the code; an inactive source stays readable on old records but is not offered
    for new ones. Scoring, assignment, segments, dashboards, imports and the API use this table."""

    code = models.SlugField(
        _("source code"),
        max_length=20,
        unique=True,
        help_text=_("Letters, digits, - and _; what other systems send as the source."),
    )
    name = models.CharField(_("name"), max_length=50)
    group = models.CharField(
        _("channel group"),
        max_length=50,
        blank=True,
        help_text=_("e.g. 线上, 线下, 口碑: dashboards can be read by group."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("lead source")
        verbose_name_plural = _("lead sources")

    def __str__(self):
        return self.name


def source_name(code):
    """The name of the source ``code`` (the code itself when it is not defined); read once per request."""
    return source_names().get(code) or code


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
        """The codes every installation starts with (seeded into ``LeadSource``); the sources
        themselves are rows of ``LeadSource``, which admins extend."""

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
    #: the name's one- and two-character and pinyin search keys (crm.name_keys), kept on save
    name_keys = NameKeysField(_("name search keys"))
    mobile = models.CharField(_("mobile"), max_length=11, blank=True, db_index=True)
    wechat_id = models.CharField(_("WeChat id"), max_length=64, blank=True)
    email = models.EmailField(_("email"), blank=True)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True, default="")
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    # 省/市/区 as a 6-digit adcode (customers.regions): the most precise level known. The province and
    # city columns are derived from it on save, so "in a region" is an equality on an indexed column.
    region = models.CharField(
        _("region"),
        max_length=6,
        blank=True,
        db_index=True,
        choices=regions.choices,
        help_text=_("Province, city or district."),
    )
    region_province = models.CharField(_("province"), max_length=6, blank=True, db_index=True, editable=False)
    region_city = models.CharField(_("city"), max_length=6, blank=True, db_index=True, editable=False)
    region_text = models.CharField(
        _("region as written"),
        max_length=100,
        blank=True,
        help_text=_(
            "Text no region code was found for (entered before codes, or "
            "imported); listed under Settings → Unmatched regions."
        ),
    )
    address = models.CharField(_("street address"), max_length=200, blank=True, default="", db_default="")
    # where the customer is (WGS-84, as browsers report), for visit check-ins and navigation
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    source = models.CharField(
        _("source channel"),
        max_length=20,
        default=Source.OTHER,
        db_index=True,
        help_text=_("A lead source code (LeadSource)."),
    )
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
    previous_order_at = models.DateTimeField(null=True, blank=True, editable=False)
    median_interval_days = models.DecimalField(
        _("median purchase interval (days)"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    satisfaction_level = models.CharField(
        _("satisfaction"), max_length=10, choices=SatisfactionLevel.choices, blank=True, db_index=True
    )
    volume_level = models.CharField(
        _("purchase volume"), max_length=10, choices=VolumeLevel.choices, default=VolumeLevel.LOW, db_index=True
    )
    grid_class = models.CharField(_("3×3 class"), max_length=1, blank=True, db_index=True)
    custom = models.JSONField(_("custom attributes"), default=dict, blank=True)
    tags = models.ManyToManyField(
        "customers.Tag", through="customers.CustomerTag", related_name="customers", blank=True
    )
    lifecycle_stage = models.CharField(
        _("lifecycle stage"),
        max_length=20,
        choices=LifecycleStage.choices,
        default=LifecycleStage.POTENTIAL,
        db_index=True,
    )
    value_segment = models.CharField(
        _("value segment"), max_length=20, choices=ValueSegment.choices, default=ValueSegment.POTENTIAL, db_index=True
    )
    # Contact protection and the public pool (kept by the sales services)
    owned_since = models.DateTimeField(_("owned since"), null=True, blank=True)
    last_followup_at = models.DateTimeField(_("last follow-up"), null=True, blank=True, db_index=True)
    last_inbound_at = models.DateTimeField(_("last reply or visit"), null=True, blank=True)
    resting_since = models.DateTimeField(
        _("resting since"), null=True, blank=True, help_text=_("Left alone after repeated unanswered touches.")
    )
    anonymized_at = models.DateTimeField(_("anonymized"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    #: erased on anonymization (crm.privacy); orders, totals and figures stay
    personal_fields = (
        "name",
        "name_keys",
        "mobile",
        "wechat_id",
        "email",
        "gender",
        "birthday",
        "active_hours",
        "notes",
        "custom",
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="customer_owner_recent"),
            models.Index(fields=["department", "-created_at"], name="customer_dept_recent"),
            models.Index(fields=["name", "birthday"], name="customer_name_birthday"),
            # the list's default order, with the scope columns (owner = me OR department in my
            # subtree): deep pages skip rows in this index alone (SubqueryPaginator, an index-only
            # scan even for a department's scope) and the list's total count reads it instead of the table
            models.Index(fields=["-created_at", "-id"], include=["owner", "department"], name="customer_recent_scope"),
            # search by name (``name__icontains``, any length): the count of matches reads this small
            # index alone (the filter evaluates UPPER(name) and the scope on the index tuples) instead
            # of the wide table; on PostgreSQL a trigram GIN index on UPPER(name) (migration 0010)
            # serves queries of three or more characters
            models.Index(fields=["name"], include=["owner", "department"], name="customer_name_scope"),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.normalize_region()
        self.name_keys = keys_for(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "region" in update_fields:
            update_fields = {*update_fields, "region_province", "region_city", "region_text"}
        if update_fields is not None and "name" in update_fields:
            update_fields = {*update_fields, "name_keys"}
        if update_fields is not None:
            kwargs["update_fields"] = update_fields
        super().save(*args, **kwargs)

    def normalize_region(self):
        """Keep the region columns consistent: text given where a code belongs (an import, a lead's
        region, an older caller) becomes its code, or stays in ``region_text`` when none is found."""
        if self.region and not regions.is_code(self.region):
            text, self.region = self.region, regions.match(self.region)
            self.region_text = "" if self.region else text[:100]
        elif self.region:
            self.region_text = ""
        self.region_province = regions.province_of(self.region)
        self.region_city = regions.city_of(self.region)

    @property
    def region_name(self):
        """ "浙江省 杭州市 西湖区", or the text as written when it has no code."""
        return regions.full_name(self.region) or self.region_text

    def get_region_display(self):
        """What Django's own would say (the choice's label, else the value), without flattening the
        3,000-odd region choices on every call (a list page renders it once per row)."""
        return regions.full_name(self.region) or self.region

    def get_absolute_url(self):  # noqa: DJ012
        return reverse("customers:detail", args=[self.pk])

    def get_source_display(self):
        return source_name(self.source)


class CustomAttribute(models.Model):
    """An extra customer field an admin defines without a code change (stored in ``Customer.custom``)."""

    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        CHOICE = "choice", _("Choice")

    key = models.SlugField(
        _("key"),
        max_length=50,
        unique=True,
        help_text=_("Letters, digits and underscores; used in imports and exports."),
    )
    label = models.CharField(_("label"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.TEXT)
    choices = models.TextField(_("choices"), blank=True, help_text=_("One choice per line (for the choice kind)."))
    required = models.BooleanField(_("required"), default=False)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("custom attribute")
        verbose_name_plural = _("custom attributes")

    def __str__(self):
        return self.label

    @property
    def choice_list(self):
        return [line.strip() for line in self.choices.splitlines() if line.strip()]


class RelationKind(models.TextChoices):
    """多人级联关系. Directed kinds read "from is <kind> of to"; spouse and sibling read both ways."""

    PARENT = "parent", _("Parent / child")
    SPOUSE = "spouse", _("Spouse")
    GUARDIAN = "guardian", _("Guardian / ward")
    SIBLING = "sibling", _("Sibling")
    REFERRER = "referrer", _("Referrer / referred")


FAMILY_KINDS = (RelationKind.PARENT, RelationKind.SPOUSE, RelationKind.GUARDIAN, RelationKind.SIBLING)
SYMMETRIC_KINDS = (RelationKind.SPOUSE, RelationKind.SIBLING)

#: kind -> (what the "to" side is to "from", what the "from" side is to "to")
READINGS = {
    RelationKind.PARENT: (_("Child"), _("Parent")),
    RelationKind.SPOUSE: (_("Spouse"), _("Spouse")),
    RelationKind.GUARDIAN: (_("Ward"), _("Guardian")),
    RelationKind.SIBLING: (_("Sibling"), _("Sibling")),
    RelationKind.REFERRER: (_("Referred"), _("Referrer")),
}


class CustomerRelation(models.Model):
    """One typed link, two readings: A parent of B is also B child of A. At most one family link and
    one referral link per pair, whatever the direction, so contradictions cannot be stored."""

    from_customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="relations_out")
    to_customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="relations_in")
    kind = models.CharField(_("relation"), max_length=20, choices=RelationKind.choices)
    is_family = models.BooleanField(default=True, editable=False)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(from_customer=models.F("to_customer")), name="relation_not_self"
            ),
            models.UniqueConstraint(
                models.functions.Least("from_customer", "to_customer"),
                models.functions.Greatest("from_customer", "to_customer"),
                "is_family",
                name="one_link_per_pair_and_family",
            ),
        ]
        indexes = [models.Index(fields=["to_customer", "kind"], name="relation_to_kind")]
        verbose_name = _("relation")
        verbose_name_plural = _("relations")

    def save(self, *args, **kwargs):
        self.is_family = self.kind in FAMILY_KINDS
        super().save(*args, **kwargs)

    def reading_for(self, customer_id):
        """(the other customer, what they are to ``customer_id``)"""
        to_reading, from_reading = READINGS[self.kind]
        if self.from_customer_id == customer_id:
            return self.to_customer, to_reading
        return self.from_customer, from_reading


class TagGroup(models.Model):
    """标签组: e.g. intent (single choice: high/medium/low), interests (multiple)."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    multiple = models.BooleanField(
        _("multiple choice"), default=True, help_text=_("Off: a customer holds at most one tag of this group.")
    )
    color = models.CharField(
        _("colour"),
        max_length=20,
        default="primary",
        choices=[(c, c) for c in ("primary", "success", "warning", "danger", "info", "secondary")],
    )
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("tag group")
        verbose_name_plural = _("tag groups")

    def __str__(self):
        return self.name


class Tag(models.Model):
    group = models.ForeignKey(TagGroup, verbose_name=_("tag group"), on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        ordering = ["group__position", "group__name", "name"]
        constraints = [models.UniqueConstraint(fields=["group", "name"], name="tag_unique_in_group")]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self):
        return f"{self.group.name}:{self.name}"


class CustomerTag(models.Model):
    class Source(models.TextChoices):
        MANUAL = "manual", _("By hand")
        BULK = "bulk", _("Bulk")
        IMPORT = "import", _("Import")
        RULE = "rule", _("Rule")
        API = "api", _("API")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="customer_links")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    rule = models.ForeignKey("customers.TagRule", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "tag"], name="customer_tag_once")]
        indexes = [models.Index(fields=["tag", "customer"], name="tag_customer")]


class TagRule(models.Model):
    """A saved customer filter that tags every match; re-applied nightly by Celery beat."""

    name = models.CharField(_("name"), max_length=100)
    tag = models.ForeignKey(Tag, verbose_name=_("tag"), on_delete=models.CASCADE, related_name="rules")
    query = models.CharField(
        _("filter"),
        max_length=1000,
        blank=True,
        help_text=_("The customer list's filter, as in its address after the question mark."),
    )
    segment = models.ForeignKey(
        "marketing.Segment",
        verbose_name=_("or a segment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tag_rules",
        help_text=_("Tag everyone in a saved customer segment instead of a list filter."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    last_count = models.PositiveIntegerField(_("matching customers"), default=0)
    last_error = models.CharField(_("problem at the last run"), max_length=500, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag rule")
        verbose_name_plural = _("tag rules")

    def __str__(self):
        return self.name


class Order(models.Model):
    """A purchase. Writing one refreshes the customer's value figures in the same transaction."""

    scope_owner_field = "customer__owner"
    scope_department_field = "customer__department"

    class Status(models.TextChoices):
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")

    class Channel(models.TextChoices):
        STORE = "store", _("Store")
        ONLINE = "online", _("Online shop")
        MINI_PROGRAM = "mini_program", _("Mini-program")
        SALES = "sales", _("Sales rep")
        OTHER = "other", _("Other")

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="orders")
    client = models.ForeignKey("crm.ApiClient", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.STORE)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    cost = models.DecimalField(_("cost"), max_digits=12, decimal_places=2, null=True, blank=True)
    discount = models.DecimalField(_("coupon discount"), max_digits=12, decimal_places=2, default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PAID)
    fingerprint = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="Hash of the API request body, to tell a replay from a conflict.",
    )
    placed_at = models.DateTimeField(_("placed at"), default=timezone.now)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-placed_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(
                fields=["client", "external_id"],
                condition=~models.Q(external_id=""),
                name="order_external_id_per_client",
            ),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="order_amount_not_negative"),
        ]
        indexes = [
            models.Index(fields=["customer", "status", "placed_at"], name="order_customer_time"),
            models.Index(fields=["placed_at"], name="order_time"),
        ]

    def __str__(self):
        return self.external_id or f"#{self.pk}"

    def get_absolute_url(self):
        return reverse("customers:order", args=[self.pk])


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(_("SKU"), max_length=64)
    category = models.CharField(_("category"), max_length=64, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    # What the catalogue said when the order was placed (empty for a SKU it does not know): the
    # sales policy that applied (its id and name, kept as they were: customers sits below the
    # catalogue and a policy may be renamed), the unit price it gives (the list price when no
    # policy applies) and the SKU's unit cost. ``price`` is what was charged.
    policy_id = models.PositiveIntegerField(_("sales policy"), null=True, blank=True, db_index=True)
    policy_name = models.CharField(_("sales policy"), max_length=100, blank=True)
    policy_price = models.DecimalField(_("catalogue price"), max_digits=12, decimal_places=2, null=True, blank=True)
    cost = models.DecimalField(_("unit cost"), max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("order line")
        ordering = ["id"]


class Satisfaction(models.Model):
    """满意度: CSAT 1–5 or NPS 0–10 from a survey, service or a follow-up."""

    scope_owner_field = "customer__owner"
    scope_department_field = "customer__department"

    class Kind(models.TextChoices):
        CSAT = "csat", _("CSAT (1–5)")
        NPS = "nps", _("NPS (0–10)")

    class Source(models.TextChoices):
        SURVEY = "survey", _("Survey")
        SERVICE = "service", _("Service")
        FOLLOW_UP = "follow_up", _("Follow-up")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="satisfaction_records")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CSAT)
    score = models.PositiveSmallIntegerField(_("score"))
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.SURVEY)
    comment = models.TextField(_("comment"), blank=True)
    personal_fields = ("comment",)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["customer", "recorded_at"], name="satisfaction_customer_time")]
        verbose_name = _("satisfaction record")
        verbose_name_plural = _("satisfaction records")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="csat", score__gte=1, score__lte=5) | models.Q(kind="nps", score__lte=10)),
                name="satisfaction_score_in_range",
            )
        ]


class LifecycleChange(models.Model):
    """Each change of a customer's lifecycle stage, so flows between stages can be counted."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="lifecycle_changes")
    from_stage = models.CharField(max_length=20, choices=LifecycleStage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=LifecycleStage.choices)
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("lifecycle change")
        ordering = ["-changed_at", "-id"]


class OwnershipChange(models.Model):
    """Who owned a customer when, and why it moved (hand-over, pool, merge)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="ownership_changes")
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Reason(models.TextChoices):
        CREATED = "created", _("Created")
        EDITED = "edited", _("Edited")
        HANDED_OVER = "handed_over", _("Handed over")
        POOL = "pool", _("Returned to the public pool")
        CLAIMED = "claimed", _("Claimed from the public pool")
        MERGED = "merged", _("Merged")
        IMPORTED = "imported", _("Imported")

    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, default=Reason.EDITED)
    note = models.CharField(_("note"), max_length=200, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["customer", "changed_at"], name="ownership_customer_time")]
        verbose_name = _("ownership change")
        verbose_name_plural = _("ownership changes")


class SegmentationSettings(SettingsRow):
    """Thresholds for the value quadrant, the 3×3 grid and the lifecycle (one row)."""

    aov_threshold = models.DecimalField(
        _("high average order value from (¥)"), max_digits=10, decimal_places=2, default=500
    )
    frequency_threshold = models.PositiveIntegerField(_("frequent from (orders)"), default=4)
    volume_high = models.DecimalField(
        _("high purchase volume from (¥ total)"), max_digits=12, decimal_places=2, default=10000
    )
    volume_medium = models.DecimalField(
        _("medium purchase volume from (¥ total)"), max_digits=12, decimal_places=2, default=2000
    )
    satisfaction_window_days = models.PositiveIntegerField(_("satisfaction looks back (days)"), default=365)
    stable_after_orders = models.PositiveIntegerField(_("stable after (orders)"), default=9)
    developing_after_orders = models.PositiveIntegerField(_("developing from (orders)"), default=2)
    at_risk_multiple = models.DecimalField(
        _("at risk after (× own median interval)"), max_digits=4, decimal_places=1, default=2
    )
    churn_multiple = models.DecimalField(
        _("churned after (× own median interval)"), max_digits=4, decimal_places=1, default=4
    )
    min_orders_for_interval = models.PositiveIntegerField(_("own interval needs at least (orders)"), default=3)
    at_risk_days = models.PositiveIntegerField(_("at risk after (days, few orders)"), default=90)
    churn_days = models.PositiveIntegerField(_("churned after (days, few orders)"), default=180)
    reactivated_days = models.PositiveIntegerField(_("counts as reactivated for (days)"), default=60)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("segmentation settings")


class ImportJob(ImportJobBase):
    """A file import: validated in full first (preview), then committed all or nothing in Celery."""

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        RELATIONS = "relations", _("Relations")
        TAGS = "tags", _("Tags")
        ORDERS = "orders", _("Orders")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)

    class Meta:
        ordering = ["-created_at"]


# --- rollups of the customer overview dashboard (客户大盘) -------------------------------------------
# Rebuilt by ``customers.services.dashboard.refresh_dashboard`` (Celery beat); the dashboard reads only
# these small tables, never the customers or orders, so its cost does not grow with the data. Each row
# holds the figures of the customers of one (owner, department, source channel) as they were at the
# refresh, so the viewer's data scope and the dashboard's filters are sums over rows.


class RollupKey(models.Model):
    scope_owner_field = "owner"
    scope_department_field = "department"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    department = models.ForeignKey(
        "crm.Department", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    source = models.CharField(max_length=20, blank=True)

    class Meta:
        abstract = True


class CustomerStateRollup(RollupKey):
    """Customers and revenue per (lifecycle stage, value segment, 3×3 class), as of the refresh."""

    lifecycle_stage = models.CharField(max_length=20)
    value_segment = models.CharField(max_length=20)
    grid_class = models.CharField(max_length=1, blank=True)
    customers = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    unrated = models.PositiveIntegerField(default=0)


class CustomerSpendRollup(RollupKey):
    """Customers with orders per band of total spent (the band's lower bound, two significant
    digits: 1,200 ≤ total < 1,300): the 80/20 curve is read from these bands."""

    floor = models.DecimalField(max_digits=16, decimal_places=2)
    customers = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0)


class CustomerMonthRollup(RollupKey):
    """One calendar month: customers created; the cohort whose first paid order fell in the month
    (size, how many ordered again, their orders and revenue to date); buyers, orders and revenue of
    the month; and at the month's end (today for the current month) how many customers with orders
    were active / at risk / churned by the days since their last order."""

    month = models.DateField()
    new_customers = models.PositiveIntegerField(default=0)
    first_buyers = models.PositiveIntegerField(default=0)
    repeaters = models.PositiveIntegerField(default=0)
    cohort_orders = models.PositiveIntegerField(default=0)
    cohort_revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    buyers = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    active = models.PositiveIntegerField(default=0)
    at_risk = models.PositiveIntegerField(default=0)
    churned = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["month"], name="month_rollup_month")]


class CohortRollup(RollupKey):
    """Of the customers whose first paid order fell in ``cohort``: how many ordered (and their
    orders and revenue) ``months_since`` calendar months later (0 … 11)."""

    cohort = models.DateField()
    months_since = models.PositiveSmallIntegerField()
    customers = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    class Meta:
        indexes = [models.Index(fields=["cohort"], name="cohort_rollup_cohort")]


class StageFlowRollup(RollupKey):
    """Lifecycle stage changes per day and (from, to)."""

    day = models.DateField()
    from_stage = models.CharField(max_length=20, blank=True)
    to_stage = models.CharField(max_length=20)
    changes = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="flow_rollup_day")]


class RollupRun(models.Model):
    """When a rollup was last rebuilt (the dashboard shows "figures as of")."""

    name = models.CharField(max_length=50, unique=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(default=0)
    rows = models.PositiveIntegerField(default=0)


# Below the models: the services read and write them (source names are read once per request there).
from .services.sources import source_names  # noqa: E402
