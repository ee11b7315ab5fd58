"""合同、回款、竞品: contracts signed from won opportunities, their payment plans, payments received
and matched to instalments, invoices, the dunning notices of overdue instalments, and competitors."""

from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

USER = settings.AUTH_USER_MODEL
ZERO = Decimal("0")


class Contract(models.Model):
    """合同: signed with a customer, usually from a won opportunity."""

    scope_owner_field = "owner"
    scope_department_field = "department"

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        ACTIVE = "active", _("Active")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    number = models.CharField(_("contract number"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=200)
    opportunity = models.OneToOneField(
        "sales.Opportunity",
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contract",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    owner = models.ForeignKey(USER, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="contracts")
    department = models.ForeignKey(
        "crm.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    amount = models.DecimalField(_("contract amount"), max_digits=14, decimal_places=2)
    signed_on = models.DateField(_("signed on"))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE)
    #: what has been received against the contract (the sum of its payments), kept by the services
    received = models.DecimalField(_("received"), max_digits=14, decimal_places=2, default=ZERO)
    #: the time it became a deal (active): the public pool reads it
    signed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    approvals = GenericRelation("crm.ApprovalRequest")

    class Meta:
        ordering = ["-signed_on", "-id"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="contract_amount_positive"),
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="contract_period_order"),
        ]
        indexes = [
            models.Index(fields=["customer", "status", "signed_at"], name="contract_deal"),
            # the list's order (newest signed first): its first page is read off the index
            models.Index(fields=["-signed_on", "-id"], name="contract_list_order"),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    def get_absolute_url(self):
        return reverse("contracts:contract", args=[self.pk])

    @property
    def outstanding(self):
        return self.amount - self.received


class ContractLine(models.Model):
    """A product on a contract: a catalogue SKU, quantity and price."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey("catalog.Sku", verbose_name=_("SKU"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]
        verbose_name = _("contract line")
        verbose_name_plural = _("contract lines")

    @property
    def total(self):
        return self.unit_price * self.quantity


def _attachment_path(instance, filename):
    return f"contracts/{instance.contract_id}/{filename}"


class ContractAttachment(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=_attachment_path)
    name = models.CharField(_("name"), max_length=200)
    size = models.PositiveIntegerField(_("size"))
    content_type = models.CharField(max_length=100)
    uploaded_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")


class Instalment(models.Model):
    """回款计划: one instalment of a contract's payment plan. ``received`` is what payments have
    matched to it; it is never above ``amount`` (the services lock the row, the constraint holds)."""

    scope_owner_field = "contract__owner"
    scope_department_field = "contract__department"

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="instalments")
    sequence = models.PositiveSmallIntegerField(_("instalment"))
    due_on = models.DateField(_("due on"), db_index=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    received = models.DecimalField(_("received"), max_digits=14, decimal_places=2, default=ZERO)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)

    class Meta:
        ordering = ["due_on", "sequence"]
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        constraints = [
            models.UniqueConstraint(fields=["contract", "sequence"], name="instalment_sequence_once"),
            models.CheckConstraint(
                condition=Q(received__gte=0) & Q(received__lte=F("amount")),
                name="instalment_never_over_settled",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="instalment_amount_positive"),
        ]
        indexes = [models.Index(fields=["settled_at", "due_on"], name="instalment_open_due")]

    def __str__(self):
        return f"{self.contract.number} #{self.sequence}"

    def get_absolute_url(self):
        return self.contract.get_absolute_url()

    @property
    def outstanding(self):
        return self.amount - self.received


class Payment(models.Model):
    """回款: money received against a contract, matched to one or more instalments."""

    scope_owner_field = "contract__owner"
    scope_department_field = "contract__department"

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    received_on = models.DateField(_("received on"))
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    #: the invoice the payment pays, if the payer named one: its instalment is offset first
    invoice = models.ForeignKey(
        "Invoice",
        verbose_name=_("invoice"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
    )
    #: the recorder confirmed a payment beyond the contract amount
    over_confirmed = models.BooleanField(default=False)
    unmatched = models.DecimalField(_("not matched"), max_digits=14, decimal_places=2, default=ZERO)
    recorded_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_on", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]

    def get_absolute_url(self):
        return self.contract.get_absolute_url()


class PaymentMatch(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="matches")
    instalment = models.ForeignKey(Instalment, on_delete=models.PROTECT, related_name="matches")
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["payment", "instalment"], name="payment_match_once")]


class Invoice(models.Model):
    scope_owner_field = "contract__owner"
    scope_department_field = "contract__department"

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="invoices")
    #: the instalment the invoice bills (payment plan → invoice → payment → offset)
    instalment = models.ForeignKey(
        "Instalment",
        verbose_name=_("instalment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    number = models.CharField(_("invoice number"), max_length=60, unique=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    issued_on = models.DateField(_("issued on"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-issued_on", "-id"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_amount_positive")]

    def get_absolute_url(self):
        return self.contract.get_absolute_url()


class DunningLevel(models.Model):
    """催款级别: when a notice about an instalment goes out (days before due, negative, or after
    due), on which channel and to whom. Levels with an instalment belong to that instalment alone;
    levels without one are the company's default plan (set by admins, seeded from
    ``CONTRACT_DUNNING_DAYS``) of every instalment that has none of its own. A plan has at most one
    level per offset and channel."""

    class Channel(models.TextChoices):
        PREFERENCE = "preference", _("As each person has set")
        IN_APP = "in_app", _("In the CRM only")
        EMAIL = "email", _("Email")
        WECOM = "wecom", _("WeCom")

    class Responsible(models.TextChoices):
        OWNER = "owner", _("The contract's owner")
        MANAGER = "manager", _("The owner and the owner's manager")
        USER = "user", _("The owner and a named person")
        DEPARTMENT_HEAD = "department_head", _("The owner and the head of the contract's department")

    instalment = models.ForeignKey(
        Instalment,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="dunning_levels",
    )
    offset_days = models.IntegerField(
        _("days after due"), help_text=_("Negative: days before the due date; 0: on the due date.")
    )
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices, default=Channel.PREFERENCE)
    responsible = models.CharField(
        _("responsible"), max_length=20, choices=Responsible.choices, default=Responsible.OWNER
    )
    user = models.ForeignKey(
        USER, verbose_name=_("person"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["offset_days"]
        verbose_name = _("dunning level")
        verbose_name_plural = _("dunning levels")
        constraints = [
            models.UniqueConstraint(fields=["instalment", "offset_days", "channel"], name="dunning_level_once"),
            models.UniqueConstraint(
                fields=["offset_days", "channel"],
                condition=Q(instalment__isnull=True),
                name="default_dunning_level_once",
            ),
            models.CheckConstraint(
                condition=~Q(responsible="user") | Q(user__isnull=False), name="dunning_level_user_named"
            ),
        ]

    def __str__(self):
        return f"{self.offset_days:+d}"

    @property
    def when(self) -> str:
        """The offset in words: 3 days before due, on the due date, 7 days after due."""
        if self.offset_days < 0:
            return _("%(days)s days before due") % {"days": -self.offset_days}
        if self.offset_days == 0:
            return str(_("On the due date"))
        return _("%(days)s days after due") % {"days": self.offset_days}


class DunningNotice(models.Model):
    """催款: the proof that one notice of an instalment was sent (days from due, negative before, and
    the level's channel; empty on notices older than channels per level); claimed in the
    transaction that writes the notification, so a notice goes out once per instalment and level
    whatever the beat does."""

    instalment = models.ForeignKey(Instalment, on_delete=models.CASCADE, related_name="notices")
    offset_days = models.IntegerField()
    channel = models.CharField(max_length=12, blank=True, default="")
    escalated = models.BooleanField(default=False)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instalment", "offset_days", "channel"], name="dunning_notice_once")
        ]


class Competitor(models.Model):
    """竞品: a competing company or product."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    website = models.CharField(_("website"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("competitor")
        verbose_name_plural = _("competitors")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("contracts:competitor", args=[self.pk])


class CompetitorQuote(models.Model):
    """A competitor involved in an opportunity, with its quoted price; ``lost_to`` marks the one a
    lost opportunity went to (at most one per opportunity)."""

    scope_owner_field = "opportunity__owner"
    scope_department_field = "opportunity__department"

    opportunity = models.ForeignKey("sales.Opportunity", on_delete=models.CASCADE, related_name="competitor_quotes")
    competitor = models.ForeignKey(
        Competitor,
        verbose_name=_("competitor"),
        on_delete=models.PROTECT,
        related_name="quotes",
    )
    price = models.DecimalField(_("quoted price"), max_digits=14, decimal_places=2, null=True, blank=True)
    lost_to = models.BooleanField(_("lost to this competitor"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("competitor quote")
        verbose_name_plural = _("competitor quotes")
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "competitor"], name="competitor_quote_once"),
            models.UniqueConstraint(
                fields=["opportunity"],
                condition=Q(lost_to=True),
                name="lost_to_one_competitor",
            ),
        ]

    def get_absolute_url(self):
        return self.opportunity.get_absolute_url()
