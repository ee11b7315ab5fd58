"""The organization (departments, users, roles, data scopes), notifications and API clients."""

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import department_tree
from .names import person_name


class DepartmentQuerySet(models.QuerySet):
    """Departments; a bulk write (which sends no signal) starts a new version of the cached tree
    (crm.department_tree), as a save or delete does through its signal."""

    def update(self, **kwargs):
        rows = super().update(**kwargs)
        department_tree.tree_changed()
        return rows

    def bulk_update(self, objs, fields, batch_size=None):
        rows = super().bulk_update(objs, fields, batch_size=batch_size)
        department_tree.tree_changed()
        return rows

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        department_tree.tree_changed()
        return created


#: the digits of each id in a department's path (``Department.path``)
PATH_DIGITS = 10


def path_part(pk: int) -> str:
    """One department's part of a path: its id zero-padded, and the slash after it."""
    return f"{pk:0{PATH_DIGITS}d}/"


class Department(models.Model):
    """部门: one node of the organization tree (company → region → department → team).

    ``path`` holds the ids from the root down, each of ``PATH_DIGITS`` digits
    ("/0000000001/0000000004/0000000009/"), so that "this department and everything below it" is
    one indexed prefix match and ordering by it lists the tree: each department after its parent,
    sisters in the order they were made (unpadded, "/10/" would sort before "/9/").
    """

    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        REGION = "region", _("Region")
        DEPARTMENT = "department", _("Department")
        TEAM = "team", _("Team")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.DEPARTMENT)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")
    manager = models.ForeignKey(
        "crm.User", verbose_name=_("manager"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    wecom_webhook = models.URLField(
        _("WeChat Work webhook"), blank=True, help_text=_("Group-bot webhook that receives this team's notifications.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DepartmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["path"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        """Keep ``path`` (and the paths below, when the department moves) consistent, in one
        transaction. The paths are rewritten after ``post_save``; each ``update`` starts a new
        version of the cached tree (crm.department_tree), and so does the commit."""
        with transaction.atomic():
            super().save(*args, **kwargs)
            old_path = self.path
            new_path = f"{self.parent.path if self.parent_id else '/'}{path_part(self.pk)}"
            if new_path != old_path:
                Department.objects.filter(pk=self.pk).update(path=new_path)
                self.path = new_path
                if old_path:
                    for child in Department.objects.filter(path__startswith=old_path).exclude(pk=self.pk):
                        child.path = new_path + child.path[len(old_path) :]
                        Department.objects.filter(pk=child.pk).update(path=child.path)

    @property
    def depth(self):
        return max(self.path.count("/") - 2, 0)

    def descendant_ids(self):
        return list(Department.objects.filter(path__startswith=self.path).values_list("id", flat=True))


class Role(models.TextChoices):
    REP = "rep", _("Sales rep")
    MANAGER = "manager", _("Sales manager")
    DIRECTOR = "director", _("Sales director")
    MARKETING = "marketing", _("Marketing admin")
    ADMIN = "admin", _("System admin")
    #: a user of a partner company (代理商账号): signs in to the partner portal only, scoped to
    #: their partner (``crm.permissions.partner_id_of``)
    PARTNER = "partner", _("Partner user")


#: the roles of the organization's own people (approvers, assignees): every role but partner users
STAFF_ROLE_CHOICES = [(value, label) for value, label in Role.choices if value != Role.PARTNER]


class DataScope(models.TextChoices):
    """数据权限: which records a user sees."""

    SELF = "self", _("Own records")
    DEPARTMENT = "department", _("Own department")
    DEPARTMENT_TREE = "tree", _("Own department and below")
    ALL = "all", _("Everything")


DEFAULT_SCOPE = {
    Role.REP: DataScope.SELF,
    Role.MANAGER: DataScope.DEPARTMENT_TREE,
    Role.DIRECTOR: DataScope.DEPARTMENT_TREE,
    Role.MARKETING: DataScope.ALL,
    Role.ADMIN: DataScope.ALL,
    Role.PARTNER: DataScope.SELF,
}


class User(AbstractUser):
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.REP)
    data_scope = models.CharField(_("data scope"), max_length=20, choices=DataScope.choices, default=DataScope.SELF)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True)
    wecom_webhook = models.URLField(_("WeChat Work webhook"), blank=True)
    notify_by_email = models.BooleanField(_("notify by email"), default=True)
    notify_by_wecom = models.BooleanField(_("notify by WeChat Work"), default=False)
    is_service = models.BooleanField(
        _("service account"),
        default=False,
        editable=False,
        help_text=_("Acts for an API client; cannot log in to the web UI."),
    )

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self):
        return person_name(self)

    def get_full_name(self):
        return person_name(self)

    @property
    def display_name(self):
        return person_name(self)


class Notification(models.Model):
    """An in-app message; the other channels are deliveries of it."""

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    kind = models.CharField(
        _("kind"), max_length=50, blank=True, help_text=_("What raised it, e.g. reminder, approval.")
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self):
        return self.title


class Delivery(models.Model):
    """One notification on one outside channel. The row is the outbox: a pending delivery is
    sent by a worker; the sweeper re-queues any that a lost task left behind."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        WECOM = "wecom", _("WeChat Work")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    target = models.CharField(_("target"), max_length=500, help_text=_("Email address or webhook URL."))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [models.UniqueConstraint(fields=["notification", "channel"], name="one_delivery_per_channel")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(default=timezone.now)
    ok = models.BooleanField()
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]


class ApiScope(models.TextChoices):
    LEADS = "leads", _("Leads")
    ORDERS = "orders", _("Orders")
    COUPONS = "coupons", _("Coupons")
    CUSTOMERS_READ = "customers:read", _("Read customers")
    MARKETING = "marketing", _("Event registrations")
    PRODUCTS_READ = "products:read", _("Read the catalogue")
    PRODUCTS_WRITE = "products:write", _("Add SKUs to the catalogue")
    ENTITLEMENTS = "entitlements", _("Use entitlements")
    PARTNER = "partner", _("Partner (register leads, read own statements)")
    EVENTS = "events", _("Send behaviour events")
    MEMBERS = "members", _("Members and points")


class ApiClient(models.Model):
    """An integration client (a mini-program, a shop, a POS). It acts through a service user,
    so the audit log names it."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text=_("Records created by this client land in this department."),
    )
    can_see_mobile = models.BooleanField(_("may see full mobile numbers"), default=False)
    service_user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="api_client", editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["name"]
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")

    def __str__(self):
        return self.name


def hash_token(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(revoked_at__isnull=True, client__is_active=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )


class ApiToken(models.Model):
    """A bearer token; only its hash is stored, the token itself is shown once."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(max_length=12, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.prefix}…"

    @staticmethod
    def generate():
        return "crm_" + secrets.token_urlsafe(32)

    @property
    def is_active(self):
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class IdempotencyRecord(models.Model):
    """The first response to a write sent with an ``Idempotency-Key``."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="one_response_per_idempotency_key")]


class SettingsRow(models.Model):
    """A settings table of one row (id 1), created with its defaults on first read."""

    class Meta:
        abstract = True

    @classmethod
    def current(cls):
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class PrivacySettings(SettingsRow):
    """One row: how long personal data of leads that never became customers is kept."""

    lead_retention_days = models.PositiveIntegerField(
        _("keep unconverted leads (days)"),
        null=True,
        blank=True,
        default=730,
        help_text=_(
            "A lead that never became a customer and has had no activity for this many days is "
            "anonymized each night: its name and contact details are erased, its figures kept. "
            "Empty: keep them."
        ),
    )

    class Meta:
        verbose_name = _("privacy settings")


class AccessLog(models.Model):
    """个人信息访问记录: who viewed, revealed, exported or erased which people's personal data."""

    class Action(models.TextChoices):
        VIEW = "view", _("Viewed")
        REVEAL = "reveal", _("Revealed contact details")
        EXPORT = "export", _("Exported a list")
        API_READ = "api_read", _("Read through the API")
        DATA_EXPORT = "data_export", _("Exported all personal data")
        ANONYMIZE = "anonymize", _("Anonymized")

    class Subject(models.TextChoices):
        CUSTOMER = "customer", _("Customers")
        LEAD = "lead", _("Leads")

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        "crm.User", verbose_name=_("user"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    client = models.ForeignKey(
        ApiClient, verbose_name=_("API client"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices, db_index=True)
    subject = models.CharField(_("whose data"), max_length=10, choices=Subject.choices)
    count = models.PositiveIntegerField(_("people"), default=0)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("personal data access")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["user", "-at"], name="accesslog_user_at")]


class AccessLogRecord(models.Model):
    """One person in an access log entry (a list export names every exported person)."""

    log = models.ForeignKey(AccessLog, on_delete=models.CASCADE, related_name="records")
    subject = models.CharField(max_length=10, choices=AccessLog.Subject.choices)
    object_id = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["subject", "object_id"], name="accessrecord_subject")]


class ApprovalRelation(models.TextChoices):
    """Who a step of an approval chain asks (see ``crm.approvals.routing``)."""

    REQUESTER_MANAGER = "requester_manager", _("The requester's manager")
    DEPARTMENT_HEAD = "department_head", _("The head of the record's department")
    ROLE = "role", _("The nearest holder of a role up the department tree")
    RECORD_ROLE = "record_role", _("The role the record names (e.g. the stage's)")


class ApprovalRule(models.Model):
    """审批流 step: one step of the chain an admin configures for a kind of request.

    A step applies when the request's amount is over ``min_amount`` (empty: always). ``role`` is the
    role asked by a ``role`` step, and the fallback of the other relations when nobody is found."""

    kind = models.CharField(_("kind of request"), max_length=50, db_index=True, editable=False)
    position = models.PositiveSmallIntegerField(_("order"), default=1)
    relation = models.CharField(_("approver"), max_length=20, choices=ApprovalRelation.choices)
    role = models.CharField(
        _("role"),
        max_length=20,
        choices=STAFF_ROLE_CHOICES,
        blank=True,
        help_text=_("For a role step: the role asked. Otherwise: who is asked when nobody is found up the tree."),
    )
    min_amount = models.DecimalField(
        _("only when the amount is over (¥)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: always."),
    )

    class Meta:
        ordering = ["kind", "position", "id"]
        verbose_name = _("approval step")
        verbose_name_plural = _("approval chain")


class ApprovalRequest(models.Model):
    """审批申请: a request to approve something (any object, by a generic relation).

    Its steps are copied from the kind's chain when it is made; ``position`` is the step waiting
    (0 once decided). At most one request per object and ``key`` waits at a time."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    kind = models.CharField(_("kind"), max_length=50, db_index=True, editable=False)
    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    key = models.CharField(max_length=50, blank=True, editable=False)  # e.g. the stage of a control point
    title = models.CharField(_("what"), max_length=300)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, null=True, blank=True)
    department = models.ForeignKey(
        Department, verbose_name=_("department"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by = models.ForeignKey(
        User, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="approval_requests"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now, db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    position = models.PositiveSmallIntegerField(default=1)
    decided_by = models.ForeignKey(
        User, verbose_name=_("decided by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        indexes = [models.Index(fields=["content_type", "object_id"], name="approval_request_object")]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "content_type", "object_id", "key"],
                condition=Q(status="pending"),
                name="one_pending_approval_per_object",
            ),
            models.CheckConstraint(
                condition=~Q(decided_by=models.F("requested_by")), name="approval_not_decided_by_requester"
            ),
        ]

    def __str__(self):
        return self.title


class ApprovalStep(models.Model):
    """One step of a request: who is asked (``ApprovalAssignee``) and what was decided."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Not reached yet")
        PENDING = "pending", _("Waiting for a decision")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        SKIPPED = "skipped", _("Not needed")

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    relation = models.CharField(max_length=20, choices=ApprovalRelation.choices)
    role = models.CharField(max_length=20, choices=STAFF_ROLE_CHOICES, blank=True)
    requester = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.WAITING)
    decided_by = models.ForeignKey(
        User, verbose_name=_("decided by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["request", "position"]
        verbose_name = _("approval step")
        constraints = [
            models.UniqueConstraint(fields=["request", "position"], name="approval_step_once"),
            # nobody decides their own request: the last line of defence under the service's check
            models.CheckConstraint(
                condition=~Q(decided_by=models.F("requester")), name="approval_step_not_by_requester"
            ),
        ]

    def __str__(self):
        return f"{self.request.title} · {self.position}"


class ApprovalAssignee(models.Model):
    """One person asked to decide a step (待我审批 reads these rows)."""

    step = models.ForeignKey(ApprovalStep, on_delete=models.CASCADE, related_name="assignees")
    approver = models.ForeignKey(User, on_delete=models.CASCADE, related_name="approval_assignments")
    requester = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    is_open = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["approver", "is_open"], name="approval_inbox")]
        constraints = [
            models.UniqueConstraint(fields=["step", "approver"], name="approval_assignee_once"),
            models.CheckConstraint(condition=~Q(approver=models.F("requester")), name="approval_not_own_request"),
        ]


class ImportJobBase(models.Model):
    """A file import's job (导入任务), the same for every import (``customers.ImportJob``,
    ``sales.LeadImportJob``, …): the checked rows and row errors (the preview), the progress
    counters and the life cycle that ``crm.imports`` runs — checked, queued, running, done or failed."""

    class Status(models.TextChoices):
        VALIDATED = "validated", _("Checked")
        INVALID = "invalid", _("Has errors")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    file_name = models.CharField(_("file"), max_length=255)
    rows = models.JSONField(default=list)
    errors = models.JSONField(default=list)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.VALIDATED)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey("crm.User", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def percent(self):
        return int(100 * self.processed / self.total) if self.total else 0
