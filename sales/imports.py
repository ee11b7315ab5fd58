"""线索导入: leads from a CSV or XLSX file, on the import framework (``crm.imports``: preview,
commit, all-or-nothing run, progress, recovery) with the customer import's readers
(``customers.imports``: reading files, header aliases, cell parsers).

The same two steps, so that a file is stored entirely or not at all:

1. ``start_import`` reads the file and checks every row: required fields (a name; a mobile or an
   email), the mobile normalized, the source, tags and owner resolved. The errors name the row and
   the column. The preview says what each row will become: a new lead with its score and grade, a
   duplicate of an open lead (or of an earlier row of the file), or a lead of an existing
   customer. Nothing is written yet.
2. ``commit_import`` queues ``run_lead_import``, which captures every row through
   ``services.leads.capture_lead`` — the very code behind the lead form and ``POST /api/v1/leads``,
   so normalization, duplicate linking, scoring, grading and assignment are the same — in ONE
   transaction. A row that fails there rolls everything back and the job names it.
"""

import logging

from celery import shared_task
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm import imports as framework
from crm import permissions
from crm.db import advisory_lock, among, one_runner
from crm.models import User
from customers import imports as base
from customers.imports import (  # noqa: F401  (re-exported for the views)
    MAX_FILE_SIZE,
    PREVIEW_ROWS,
    CellError,
    ImportFileError,
    RowFailure,
    TagIndex,
    read_table,
)
from customers.models import Customer

from .models import Lead, LeadImportJob, SalesSettings, ScoringRule
from .services.leads import capture_lead, grade_of, score_of

logger = logging.getLogger(__name__)

#: a lead file is captured row by row in one transaction holding one lock per mobile (as the API
#: does): 5,000 rows is a large event list, and keeps those locks well inside PostgreSQL's lock table
MAX_ROWS = 5_000
Status = LeadImportJob.Status

#: column -> accepted header names (English key first; compared like the customer import's)
COLUMNS = {
    "name": ("name", "姓名", "名称", "客户姓名", "线索名称", "联系人"),
    "mobile": ("mobile", "phone", "手机", "手机号", "手机号码", "电话"),
    "email": ("email", "邮箱", "电子邮箱", "电子邮件"),
    "source": ("source", "来源", "来源渠道", "渠道"),
    "region": ("region", "地区", "区域", "城市"),
    "need": ("need", "需求", "意向", "咨询内容", "意向需求"),
    "note": ("note", "notes", "备注"),
    "tags": ("tags", "标签"),
    "owner": ("owner", "负责人", "销售", "归属人"),
}
REQUIRED_COLUMNS = ("name",)
TEXT_LIMITS = {"name": 100, "region": 100, "need": 10_000, "note": 10_000}


def may_import(user):
    """Importing leads is capturing them: whoever may create a lead in the UI."""
    return permissions.can(user, "sales.change")


def map_header(header):
    """(column -> index, errors, ignored header names)."""
    aliases = {base._header_key(name): column for column, names in COLUMNS.items() for name in names}
    index, errors, ignored = {}, [], []
    for position, name in enumerate(header):
        column = aliases.get(base._header_key(name))
        if column is None:
            if name:
                ignored.append(name)
            continue
        if column in index:
            errors.append(base._error(1, name, _("This column appears twice.")))
            continue
        index[column] = position
    for column in REQUIRED_COLUMNS:
        if column not in index:
            errors.append(base._error(1, column, _("The file has no %(column)s column.") % {"column": column}))
    if "mobile" not in index and "email" not in index:
        errors.append(base._error(1, "mobile", _("The file needs a mobile or an email column.")))
    return index, errors, ignored


# --- checking ----------------------------------------------------------------------------------


class Check(base.Check):
    """One pass over a lead file (the customer import's ``Check``: cells, clean, errors)."""

    def run(self):
        items = self.read_rows()
        return self.match(items)

    def _owners(self):
        """(user for each username in the owner column, ids the importer may assign to)."""
        if "owner" not in self.index:
            return {}, set()
        position = self.index["owner"]
        names = {
            cells[position].strip() for _n, cells in self.records if position < len(cells) and cells[position].strip()
        }
        if not names:
            return {}, set()
        owners = {u.username: u for u in User.objects.filter(username__in=names)}
        assignable = set(
            permissions.assignable_users(self.user).filter(username__in=names).values_list("pk", flat=True)
        )
        return owners, assignable

    def read_rows(self):
        may_assign = permissions.can(self.user, "sales.assign")
        owners, assignable = self._owners()
        tag_index = TagIndex() if "tags" in self.index else None
        items = []
        for row, cells in self.cells():
            errors_before = len(self.errors)
            values = {}
            if not cells.get("name"):
                self.error(row, "name", _("Enter a name."))
            for column, length in TEXT_LIMITS.items():
                if cells.get(column):
                    values[column] = self.clean(row, column, base._text, cells[column], length)
            if cells.get("mobile"):
                values["mobile"] = self.clean(row, "mobile", base._mobile, cells["mobile"])
            if cells.get("email"):
                try:
                    validate_email(cells["email"])
                    values["email"] = base._text(cells["email"], 254)
                except (ValidationError, CellError):
                    self.error(row, "email", _("Enter a valid email address."))
            if not cells.get("mobile") and not cells.get("email"):
                self.error(row, "mobile", _("Enter a mobile number or an email, so that someone can reach the lead."))
            values["source"] = (
                self.clean(row, "source", base._choice, cells["source"], "source")
                if cells.get("source")
                else Customer.Source.OTHER
            )
            if tag_index and cells.get("tags"):
                tags = self.clean(row, "tags", tag_index.parse, cells["tags"])
                if tags is not None:
                    values["tags"] = [f"{tag.group.name}:{tag.name}" for tag in tags]
                    values["tag_names"] = sorted({tag.name for tag in tags})
            owner_name = cells.get("owner", "")
            if not may_assign:  # as in the lead form: a rep's leads stay with the rep
                if owner_name and owner_name != self.user.username:
                    self.error(row, "owner", _("You cannot assign leads to %(user)s.") % {"user": owner_name})
                values["owner_id"], values["owner"] = self.user.pk, self.user.username
            elif owner_name:
                owner = owners.get(owner_name)
                if owner is None:
                    self.error(row, "owner", _("Unknown user %(name)s.") % {"name": owner_name})
                elif owner.pk not in assignable:
                    self.error(row, "owner", _("You cannot assign leads to %(user)s.") % {"user": owner})
                else:
                    values["owner_id"], values["owner"] = owner.pk, owner.username
            if len(self.errors) == errors_before:
                items.append({"row": row, "values": values})
        return items

    def match(self, items):
        """What capture will do with each row: a duplicate of an open lead or of an earlier row
        (recorded and linked, never assigned), a lead of an existing customer, or a new lead
        (with the score and grade it gets now)."""
        mobiles = sorted({item["values"]["mobile"] for item in items if item["values"].get("mobile")})
        open_leads, customers = {}, {}
        for chunk in base._chunks(mobiles):
            for lead in (
                Lead.objects.filter(mobile__in=chunk, status__in=Lead.OPEN_STATUSES)
                .order_by("-created_at")
                .select_related("owner")
                .only("pk", "name", "mobile", "owner")
            ):
                open_leads[lead.mobile] = lead  # the oldest wins, as in ``find_duplicate``
            for customer in (
                Customer.objects.filter(mobile__in=among(chunk))
                .order_by("-id")
                .select_related("owner")
                .only("pk", "name", "mobile", "owner")
            ):
                customers[customer.mobile] = customer
        rules = list(ScoringRule.objects.filter(is_active=True))
        settings = SalesSettings.current()
        first_row = {}
        rows = []
        for item in items:
            row, values = item["row"], item["values"]
            mobile = values.get("mobile", "")
            lead = Lead(
                name=values.get("name", ""),
                mobile=mobile,
                email=values.get("email", ""),
                source=values["source"],
                region=values.get("region", ""),
                need=values.get("need", ""),
            )
            score = score_of(lead, rules, tag_names=set(values.get("tag_names", ())))
            entry = {
                "row": row,
                "values": values,
                "action": "create",
                "score": score,
                "grade": grade_of(score, settings),
                "lead_id": None,
            }
            if mobile and mobile in open_leads:
                found = open_leads[mobile]
                entry.update(
                    action="duplicate",
                    duplicate_lead_id=found.pk,
                    duplicate_name=found.name,
                    duplicate_owner=str(found.owner or ""),
                )
            elif mobile and mobile in first_row:
                entry.update(action="duplicate", duplicate_row=first_row[mobile])
            elif mobile and mobile in customers:
                found = customers[mobile]
                entry.update(
                    action="customer",
                    customer_id=found.pk,
                    customer_name=found.name,
                    customer_owner=str(found.owner or ""),
                )
            if mobile:
                first_row.setdefault(mobile, row)
            rows.append(entry)
        return rows


def check_records(*, user, header, records):
    """(cleaned rows, errors sorted by row, ignored header names)."""
    index, errors, ignored = map_header(header)
    if errors:
        return [], errors, ignored
    check = Check(kind="leads", user=user, index=index, records=records)
    rows = check.run()
    return rows, sorted(check.errors, key=lambda e: (e["row"], e["column"])), ignored


def start_import(*, user, file_name, data):
    """Read and check the file; returns the job (checked: VALIDATED or INVALID). Raises
    ``ImportFileError`` when the file cannot be read at all."""
    if not may_import(user):
        raise PermissionDenied("sales.change")
    if len(data) > MAX_FILE_SIZE:
        raise ImportFileError(_("The file is larger than 20 MB; split it into smaller files."))
    header, records = read_table(file_name, data, max_rows=MAX_ROWS)
    if len(records) > MAX_ROWS:
        raise ImportFileError(
            _("The file has more than %(max)s rows; split it into smaller files.") % {"max": f"{MAX_ROWS:,}"}
        )
    job = LeadImportJob(file_name=file_name[:255], created_by=user, total=len(records))
    job.rows, job.errors, ignored = check_records(user=user, header=header, records=records)
    framework.finish_check(job, ignored)
    job.save()
    return job


# --- the job -----------------------------------------------------------------------------------


def progress_key(job_id):
    return f"lead-import-progress:{job_id}"


class Progress(framework.Progress):
    """The lead import's progress (in the cache while the transaction is open), under its own key."""

    key_of = staticmethod(progress_key)


def read_progress(job):
    """(phase, processed) of a queued or running job."""
    return framework.read_progress(job, key_of=progress_key)


def commit_import(*, job, user):
    """Queue the import of a checked job without errors. False when it is not (or no longer)
    waiting for a commit, e.g. after a double click."""
    if not may_import(user):
        raise PermissionDenied("sales.change")
    return framework.commit(job, task=run_lead_import, progress=Progress)


def requeue_waiting(older_than):
    """Queue again the imports still waiting ``older_than`` after the job was created (their task
    was lost, e.g. the broker was down) or left running by a killed worker. Returns how many."""
    waiting = framework.waiting(LeadImportJob, older_than)
    return framework.requeue(waiting.values_list("pk", flat=True), run_lead_import)


#: ``capture_lead`` without its own savepoint: the import is one transaction (see customers.imports)
capture = base._in_our_transaction(capture_lead)


@shared_task(name="sales.imports.run_lead_import", ignore_result=True)
@one_runner("lead-import")
def run_lead_import(job_id, language=None):
    """Capture every row of a checked job in one transaction (all or nothing), through the import
    framework: safe to run twice, progress in the cache, a failing row named."""

    def write(job, progress):
        touched = {}
        _write(job, progress, touched)
        return touched

    def done(job, touched):
        for entry in job.rows:
            entry["lead_id"] = touched.get(entry["row"])

    framework.run(
        LeadImportJob, job_id, write=write, done=done, progress=Progress, language=language, name="lead import"
    )


def _write(job, progress, touched):
    user = job.created_by
    rows = job.rows
    advisory_lock("lead-import", "all")  # two lead imports run one after the other
    # the lock ``capture_lead`` takes per mobile, all taken first in one order: a concurrent
    # capture of one of these mobiles waits for the import (and sees its lead), and two imports
    # sharing mobiles cannot deadlock
    for mobile in sorted({entry["values"].get("mobile") for entry in rows} - {None, ""}):
        advisory_lock("lead-mobile", mobile)
    owner_ids = {entry["values"]["owner_id"] for entry in rows if entry["values"].get("owner_id")}
    owners = User.objects.in_bulk(owner_ids)
    allowed = set(permissions.assignable_users(user).filter(pk__in=owner_ids).values_list("pk", flat=True))
    for entry in rows:
        values, row = entry["values"], entry["row"]
        owner = None
        if values.get("owner_id"):
            owner = owners.get(values["owner_id"])
            if owner is None or owner.pk not in allowed:
                raise RowFailure(
                    row, "owner", _("%(user)s can no longer be given leads.") % {"user": values.get("owner", "")}
                )
        try:
            lead = capture(
                name=values.get("name", ""),
                mobile=values.get("mobile", ""),
                email=values.get("email", ""),
                source=values["source"],
                region=values.get("region", ""),
                need=values.get("need", ""),
                note=values.get("note", ""),
                tags=values.get("tags", ()),
                actor=user,
                owner=owner,
            )
        except ValidationError as exc:
            raise base._failure(row, exc, "mobile") from exc
        touched[row] = lead.pk
        progress.advance()


# --- the preview -------------------------------------------------------------------------------


def summary(job):
    """[(label, number, css)] for the preview and the result."""
    rows = job.rows if isinstance(job.rows, list) else []
    errors = len(job.errors)
    return [
        (gettext_lazy("New leads"), sum(r["action"] == "create" for r in rows), "success"),
        (gettext_lazy("Leads of existing customers"), sum(r["action"] == "customer" for r in rows), "info"),
        (gettext_lazy("Duplicates (linked, not assigned)"), sum(r["action"] == "duplicate" for r in rows), "warning"),
        (gettext_lazy("Errors"), errors, "danger" if errors else "secondary"),
    ]
