"""导入: customers, relations, tags and orders from CSV or XLSX files.

Two steps, so that a file is stored entirely or not at all:

1. ``start_import`` reads the file and checks every row — in Celery (``check_import``) when the
   file has more than ``ASYNC_CHECK_ROWS`` rows. The cleaned rows and the errors (row, column,
   reason) are kept on an ``ImportJob`` for the preview. Nothing is written yet.
2. ``commit_import`` queues ``run_import``, which writes every row through the services in ONE
   transaction. A row that fails there (e.g. something changed since the check) rolls everything
   back and the job names that row, column and reason.

A customer row whose normalized mobile (or exact name and birthday) matches an existing customer
links to it (fills its empty fields, adds the tags) instead of creating a duplicate. Every existing
customer an import touches must be inside the importer's data scope.

Cells are stored as typed, formulas included: they only become dangerous in an export, and the
export neutralizes them (``crm.ui.neutralize``).
"""

import csv
import datetime
import logging
import re
from collections import OrderedDict
from decimal import Decimal, InvalidOperation

from celery import shared_task
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm import imports as framework
from crm import permissions
from crm.db import advisory_lock, among, one_runner
from crm.imports import (  # noqa: F401  (the framework's names, as the views and sales.imports read them)
    MAX_FILE_SIZE,
    ImportFileError,
    Progress,
    RowFailure,
    finish_check,
    progress_key,
    read_progress,
)
from crm.models import User
from crm.phone import normalize_mobile
from crm.tasks import enqueue_or_log
from crm.uploads import UploadRefused, csv_rows, xlsx_rows

from . import registry, services
from .models import (
    FAMILY_KINDS,
    SYMMETRIC_KINDS,
    CustomAttribute,
    Customer,
    CustomerRelation,
    CustomerTag,
    ImportJob,
    Order,
    RelationKind,
    Tag,
)
from .selectors import customers_for
from .services.orders import rebuild_value_figures, save_orders
from .services.sources import source_choices

logger = logging.getLogger(__name__)

MAX_ROWS = 100_000
ASYNC_CHECK_ROWS = 2_000
PREVIEW_ROWS = 20
CHUNK = 2_000
PRICING_CHUNK = 1_000  # orders priced from the catalogue per read of SKUs and policies
KINDS = ImportJob.Kind

#: what a user needs to import each kind (besides "customers.import" for the pages)
REQUIRED_ACTION = {
    KINDS.CUSTOMERS: "customers.add",
    KINDS.RELATIONS: "customers.add",
    KINDS.TAGS: "customers.add",
    KINDS.ORDERS: "customers.change",
}

#: kind -> column -> accepted header names (English key first; compared without case, spaces,
#: underscores and anything in brackets, so "手机号(必填)" reads as 手机号)
COLUMNS = {
    KINDS.CUSTOMERS: {
        "name": ("name", "姓名", "名称", "客户名称", "客户姓名"),
        "mobile": ("mobile", "phone", "手机", "手机号", "手机号码"),
        "wechat_id": ("wechat_id", "wechat", "微信", "微信号"),
        "email": ("email", "邮箱", "电子邮箱", "电子邮件"),
        "gender": ("gender", "性别"),
        "birthday": ("birthday", "生日", "出生日期"),
        "region": ("region", "地区", "区域"),
        "source": ("source", "来源", "来源渠道"),
        "owner": ("owner", "负责人"),
        "tags": ("tags", "标签"),
        "notes": ("notes", "备注"),
        "kind": ("kind", "类型", "客户类型"),
    },
    KINDS.RELATIONS: {
        "from_mobile": ("from_mobile", "客户手机", "本人手机"),
        "to_mobile": ("to_mobile", "关联客户手机", "关联人手机", "关联手机"),
        "kind": ("kind", "relation", "关系", "类型"),
        "note": ("note", "notes", "备注"),
    },
    KINDS.TAGS: {
        "mobile": ("mobile", "phone", "手机", "手机号", "手机号码"),
        "tags": ("tags", "标签"),
    },
    KINDS.ORDERS: {
        "external_id": ("external_id", "订单号", "外部订单号", "订单编号"),
        "mobile": ("mobile", "phone", "手机", "手机号", "手机号码"),
        "name": ("name", "姓名", "客户姓名", "客户名称"),
        "amount": ("amount", "金额", "订单金额"),
        "cost": ("cost", "成本"),
        "channel": ("channel", "渠道", "销售渠道"),
        "placed_at": ("placed_at", "下单时间", "时间", "日期"),
        "sku": ("sku", "商品编码", "商品"),
        "category": ("category", "品类", "类目"),
        "quantity": ("quantity", "数量"),
        "price": ("price", "单价", "价格"),
    },
}
REQUIRED_COLUMNS = {
    KINDS.CUSTOMERS: ("name",),
    KINDS.RELATIONS: ("from_mobile", "to_mobile", "kind"),
    KINDS.TAGS: ("mobile", "tags"),
    KINDS.ORDERS: ("external_id", "mobile", "amount", "placed_at"),
}

#: Chinese (and other) words accepted for choice columns, besides the values and their labels
SYNONYMS = {
    "gender": {
        "男": "male",
        "女": "female",
        "m": "male",
        "f": "female",
        "先生": "male",
        "女士": "female",
        "未知": "",
        "unknown": "",
    },
    "kind": {
        "个人": "individual",
        "机构": "organization",
        "组织": "organization",
        "企业": "organization",
        "公司": "organization",
        "门店": "organization",
        "学校": "organization",
    },
    "source": {
        "官网": "website",
        "网站": "website",
        "公众号": "wechat_oa",
        "微信公众号": "wechat_oa",
        "直播": "live",
        "活动": "event",
        "会议": "event",
        "转介绍": "referral",
        "推荐": "referral",
        "陌拜": "visit",
        "地推": "visit",
        "门店": "store",
        "到店": "store",
        "接口": "api",
        "其他": "other",
    },
    "channel": {
        "门店": "store",
        "线下": "store",
        "网店": "online",
        "线上": "online",
        "商城": "online",
        "小程序": "mini_program",
        "销售": "sales",
        "其他": "other",
    },
    "relation": {
        "父母": "parent",
        "父亲": "parent",
        "母亲": "parent",
        "爸爸": "parent",
        "妈妈": "parent",
        "配偶": "spouse",
        "夫妻": "spouse",
        "丈夫": "spouse",
        "妻子": "spouse",
        "监护人": "guardian",
        "兄弟姐妹": "sibling",
        "兄弟": "sibling",
        "姐妹": "sibling",
        "推荐人": "referrer",
        "转介绍": "referrer",
        "推荐": "referrer",
    },
}
CHOICES = {
    "gender": Customer.Gender.choices,
    "kind": Customer.Kind.choices,
    "channel": Order.Channel.choices,
    "relation": RelationKind.choices,
}
TAG_SEPARATORS = re.compile(r"[;；,，\n]+")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _out_of_scope():
    return _("A customer with this mobile exists but belongs to another owner.")


# --- reading files -----------------------------------------------------------------------------


def read_table(file_name, data, *, max_rows=MAX_ROWS):
    """(header, records) of a CSV or XLSX file: ``records`` are (spreadsheet row number, cells),
    the header being row 1; empty rows are skipped but keep their numbers. Files go through the
    upload guard (``crm.uploads``): an .xlsx archive is checked before it is opened and rows are
    streamed, so a file with more than ``max_rows`` rows is refused without reading the rest."""
    try:
        return _read_table(file_name, data, max_rows)
    except UploadRefused as exc:
        raise ImportFileError(str(exc)) from exc


def _read_table(file_name, data, max_rows):
    if data[:4] == b"PK\x03\x04" or file_name.lower().endswith((".xlsx", ".xlsm")):
        rows = _xlsx_rows(data, max_rows)
    elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ImportFileError(_("This is an old Excel file (.xls). Save it as .xlsx or CSV and upload it again."))
    else:
        rows = _csv_rows(data, max_rows)
    header, records = None, []
    for number, cells in enumerate(rows, start=1):
        cells = [_cell_text(cell) for cell in cells]
        if not any(cells):
            continue
        if header is None:
            if number != 1:
                raise ImportFileError(_("The first row must be the header (the column names)."))
            header = cells
            continue
        records.append((number, cells))
        if len(records) > max_rows:
            raise ImportFileError(
                _("The file has more than %(max)s rows; split it into smaller files.") % {"max": f"{max_rows:,}"}
            )
    if header is None:
        raise ImportFileError(_("The file is empty."))
    if not records:
        raise ImportFileError(_("The file has a header but no data rows."))
    return header, records


def _decode(data):
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not CONTROL_CHARS.search(text):
            return text
        break
    raise ImportFileError(_("This file is neither a CSV text file (UTF-8 or GBK) nor an XLSX workbook."))


def _csv_rows(data, max_rows=MAX_ROWS):
    """Rows streamed from the text (stopping past ``max_rows``), errors of the csv module named."""
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = ","
    if "," not in first_line:
        delimiter = "\t" if "\t" in first_line else (";" if ";" in first_line else ",")
    try:
        yield from csv_rows(text, max_rows=max_rows, delimiter=delimiter)
    except csv.Error as exc:
        raise ImportFileError(_("The CSV file cannot be read: %(error)s") % {"error": exc}) from exc


def _xlsx_rows(data, max_rows=MAX_ROWS):
    """Rows of the first sheet, streamed after the archive is checked (``crm.uploads``)."""
    return xlsx_rows(data, max_rows=max_rows)


def _cell_text(value):
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time(0) else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _header_key(text):
    text = re.sub(r"[(（\[【].*?[)）\]】]", "", str(text))
    return re.sub(r"[\s_\-*]", "", text).lower()


def map_header(kind, header, *, attributes=()):
    """(column -> index, errors, ignored header names). Custom attributes are columns of customer
    files, by key (or label)."""
    aliases = {}
    for column, names in COLUMNS[kind].items():
        for name in names:
            aliases[_header_key(name)] = column
    if kind == KINDS.CUSTOMERS:
        for attribute in attributes:
            aliases.setdefault(_header_key(attribute.label), f"custom:{attribute.key}")
            aliases[_header_key(attribute.key)] = f"custom:{attribute.key}"
    index, errors, ignored = {}, [], []
    for position, name in enumerate(header):
        column = aliases.get(_header_key(name))
        if column is None:
            if name:
                ignored.append(name)
            continue
        if column in index:
            errors.append(_error(1, name, _("This column appears twice.")))
            continue
        index[column] = position
    for column in REQUIRED_COLUMNS[kind]:
        if column not in index:
            errors.append(_error(1, column, _("The file has no %(column)s column.") % {"column": column}))
    if kind == KINDS.CUSTOMERS:
        for attribute in attributes:
            if attribute.required and f"custom:{attribute.key}" not in index:
                errors.append(
                    _error(
                        1,
                        attribute.key,
                        _("The required attribute %(label)s has no column.") % {"label": attribute.label},
                    )
                )
    return index, errors, ignored


def _error(row, column, message):
    return {"row": row, "column": column, "message": str(message)}


# --- cells -------------------------------------------------------------------------------------


class CellError(Exception):
    pass


def _mobile(raw):
    try:
        return normalize_mobile(raw)
    except ValidationError as exc:
        raise CellError(exc.messages[0]) from exc


def _date(raw):
    text = (raw.split() or [""])[0].replace("/", "-").replace(".", "-")
    try:
        return datetime.date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))
    except ValueError as exc:
        raise CellError(_("Enter a date as YYYY-MM-DD.")) from exc


def _datetime(raw):
    text = re.sub(r"\s+", " ", raw.strip().replace("/", "-").replace("T", " "))
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            value = datetime.datetime.strptime(text, fmt)  # noqa: DTZ007 (made aware just below)
        except ValueError:
            continue
        value = timezone.make_aware(value)
        if value > timezone.now() + datetime.timedelta(days=1):
            raise CellError(_("The order time is in the future."))
        return value
    raise CellError(_("Enter a time as YYYY-MM-DD or YYYY-MM-DD HH:MM."))


def _money(raw):
    text = re.sub(r"[¥￥,\s]", "", raw)
    try:
        amount = Decimal(text).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise CellError(_("Enter an amount such as 128.00.")) from exc
    if amount < 0:
        raise CellError(_("The amount cannot be negative."))
    if amount >= Decimal("10000000000"):
        raise CellError(_("The amount is too large."))
    return amount


def _quantity(raw):
    try:
        value = int(Decimal(raw))
    except (InvalidOperation, ValueError):
        value = 0
    if value < 1 or Decimal(raw) != value:
        raise CellError(_("Quantity must be a whole number of at least 1."))
    return value


_choice_maps = {}


def _choices_of(field):
    if field == "source":  # admins define the sources: read when a check starts (see Check)
        return source_choices()
    return CHOICES[field]


def _choice(raw, field):
    language = translation.get_language()
    key = (field, language)
    if key not in _choice_maps:
        accepted = {}
        for value, label in _choices_of(field):
            accepted[str(value).lower()] = value
            accepted[str(label).lower()] = value
            with translation.override("zh-hans"):
                accepted[str(label).lower()] = value
        for word, value in SYNONYMS.get(field, {}).items():
            accepted[word.lower()] = value
        _choice_maps[key] = accepted
    value = _choice_maps[key].get(raw.strip().lower())
    if value is None:
        raise CellError(
            _("Choose one of: %(choices)s")
            % {"choices": ", ".join(str(label) for value, label in _choices_of(field) if value)}
        )
    return value


def _text(raw, max_length):
    if len(raw) > max_length:
        raise CellError(_("At most %(max)d characters.") % {"max": max_length})
    return raw


class TagIndex:
    """Every tag, resolved by "group:tag" or by a bare name unique across groups (as
    ``services.tags_by_name`` does, without a query per tag)."""

    def __init__(self):
        self.by_full, self.by_name = {}, {}
        for tag in Tag.objects.select_related("group"):
            self.by_full[f"{tag.group.name}:{tag.name}"] = tag
            self.by_name.setdefault(tag.name, []).append(tag)

    def parse(self, raw):
        tags, seen_single = [], {}
        for name in TAG_SEPARATORS.split(raw.replace("：", ":")):
            name = name.strip()
            if not name:
                continue
            if ":" in name:
                group, tag_name = (part.strip() for part in name.split(":", 1))
                tag = self.by_full.get(f"{group}:{tag_name}")
            else:
                matches = self.by_name.get(name, [])
                if len(matches) > 1:
                    raise CellError(_("Tag %(name)s exists in several groups; write group:tag.") % {"name": name})
                tag = matches[0] if matches else None
            if tag is None:
                raise CellError(_("Unknown tag %(name)s.") % {"name": name})
            if not tag.group.multiple:
                if seen_single.get(tag.group_id, tag.pk) != tag.pk:
                    raise CellError(_("Choose at most one tag from a single-choice group."))
                seen_single[tag.group_id] = tag.pk
            if tag not in tags:
                tags.append(tag)
        return tags


def _chunks(values, size=CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _customers_by_mobile(mobiles):
    """The oldest customer for each mobile (all customers: scope is checked separately)."""
    found = {}
    for chunk in _chunks(sorted(mobiles)):
        for customer in (
            Customer.objects.filter(mobile__in=among(chunk))
            .order_by("id")
            .only("id", "name", "mobile", "birthday", "owner_id", "department_id")
        ):
            found.setdefault(customer.mobile, customer)
    return found


def _visible_ids(user, ids):
    visible = set()
    for chunk in _chunks(sorted(ids)):
        visible.update(customers_for(user).filter(pk__in=chunk).values_list("pk", flat=True))
    return visible


# --- checking ----------------------------------------------------------------------------------


class Check:
    """One pass over a file's records: collects the cleaned rows and the errors."""

    def __init__(self, *, kind, user, index, records, progress=None):
        for key in [key for key in _choice_maps if key[0] == "source"]:
            _choice_maps.pop(key, None)  # the sources as they are now (admins may have changed them)
        self.kind, self.user, self.index, self.records = kind, user, index, records
        self.errors, self.progress = [], progress

    def error(self, row, column, message):
        self.errors.append(_error(row, column, message))

    def cells(self):
        """(row number, {column: text}) for every record."""
        for number, cells in self.records:
            yield number, {column: (cells[i].strip() if i < len(cells) else "") for column, i in self.index.items()}
            if self.progress:
                self.progress.advance()

    def clean(self, row, column, function, raw, *args):
        """``function(raw)``, or None with an error recorded for the cell."""
        try:
            return function(raw, *args)
        except CellError as exc:
            self.error(row, column, exc)
            return None

    def run(self):
        return getattr(self, f"check_{self.kind}")()

    # customers ---------------------------------------------------------------------------------
    def check_customers(self):
        attributes = {a.key: a for a in CustomAttribute.objects.all()}
        need_custom_check = any(column.startswith("custom:") for column in self.index) or any(
            a.required for a in attributes.values()
        )
        tag_index = TagIndex() if "tags" in self.index else None
        usernames = set()
        if "owner" in self.index:
            usernames = {
                cells[self.index["owner"]].strip()
                for _n, cells in self.records
                if self.index["owner"] < len(cells) and cells[self.index["owner"]].strip()
            }
        owners = {u.username: u for u in User.objects.filter(username__in=usernames)}
        assignable = (
            set(permissions.assignable_users(self.user).filter(username__in=usernames).values_list("pk", flat=True))
            if usernames
            else set()
        )
        items = []
        for row, cells in self.cells():
            errors_before = len(self.errors)
            values = {}
            name = cells.get("name", "")
            if not name:
                self.error(row, "name", _("Enter the name."))
            else:
                values["name"] = self.clean(row, "name", _text, name, 100)
            if cells.get("mobile"):
                values["mobile"] = self.clean(row, "mobile", _mobile, cells["mobile"])
            for column, length in (("wechat_id", 64), ("region", 100), ("notes", 10_000)):
                if cells.get(column):
                    values[column] = self.clean(row, column, _text, cells[column], length)
            if cells.get("email"):
                try:
                    validate_email(cells["email"])
                    values["email"] = _text(cells["email"], 254)
                except (ValidationError, CellError):
                    self.error(row, "email", _("Enter a valid email address."))
            if cells.get("birthday"):
                values["birthday"] = self.clean(row, "birthday", _date, cells["birthday"])
                if values["birthday"] and values["birthday"] > timezone.localdate():
                    self.error(row, "birthday", _("The birthday is in the future."))
            for column, field in (("gender", "gender"), ("source", "source"), ("kind", "kind")):
                if cells.get(column):
                    values[column] = self.clean(row, column, _choice, cells[column], field)
            if cells.get("owner"):
                owner = owners.get(cells["owner"])
                if owner is None:
                    self.error(row, "owner", _("Unknown user %(name)s.") % {"name": cells["owner"]})
                elif owner.pk not in assignable:
                    self.error(row, "owner", _("You cannot assign customers to %(user)s.") % {"user": owner})
                else:
                    values["owner_id"], values["owner"] = owner.pk, owner.username
            if tag_index and cells.get("tags"):
                tags = self.clean(row, "tags", tag_index.parse, cells["tags"])
                if tags is not None:
                    values["tags"] = [str(t) for t in tags]
                    values["tag_ids"] = [t.pk for t in tags]
            custom = {column[7:]: text for column, text in cells.items() if column.startswith("custom:") and text}
            if custom:
                values["custom"] = custom
            items.append(
                {
                    "row": row,
                    "values": values,
                    "ok": len(self.errors) == errors_before,
                    "need_custom_check": need_custom_check,
                }
            )
        return self._match_customers(items)

    def _match_customers(self, items):
        """Duplicates inside the file are errors; a match in the database is a link (in scope) or
        an error (outside it)."""
        by_mobile = _customers_by_mobile({i["values"]["mobile"] for i in items if i["values"].get("mobile")})
        pairs = {
            (i["values"]["name"], i["values"]["birthday"])
            for i in items
            if i["values"].get("name") and i["values"].get("birthday")
        }
        by_pair = {}
        for chunk in _chunks(sorted({name for name, _b in pairs})):
            for customer in (
                Customer.objects.filter(name__in=chunk, birthday__isnull=False)
                .order_by("id")
                .only("id", "name", "mobile", "birthday", "owner_id", "department_id", "custom")
            ):
                if (customer.name, customer.birthday) in pairs:
                    by_pair.setdefault((customer.name, customer.birthday), customer)
        matches = {c.pk for c in by_mobile.values()} | {c.pk for c in by_pair.values()}
        visible = _visible_ids(self.user, matches)
        customs = {}
        if any(i["need_custom_check"] for i in items) and matches:
            for chunk in _chunks(sorted(matches & visible)):
                customs.update(Customer.objects.filter(pk__in=chunk).values_list("pk", "custom"))
        seen_mobile, seen_pair, seen_target, rows = {}, {}, {}, []
        for item in items:
            row, values = item["row"], item["values"]
            mobile, pair = values.get("mobile"), (values.get("name"), values.get("birthday"))
            if mobile and mobile in seen_mobile:
                self.error(row, "mobile", _("Same mobile as row %(row)s.") % {"row": seen_mobile[mobile]})
                continue
            if pair[0] and pair[1] and pair in seen_pair:
                self.error(row, "name", _("Same name and birthday as row %(row)s.") % {"row": seen_pair[pair]})
                continue
            if mobile:
                seen_mobile[mobile] = row
            if pair[0] and pair[1]:
                seen_pair[pair] = row
            match, column = (
                (by_mobile.get(mobile), "mobile") if mobile and mobile in by_mobile else (by_pair.get(pair), "name")
            )
            if match is not None and match.pk not in visible:
                self.error(
                    row,
                    column,
                    _("A customer with this %(what)s exists but belongs to another owner.")
                    % {"what": _("mobile") if column == "mobile" else _("name and birthday")},
                )
                continue
            if match is not None and match.pk in seen_target:
                self.error(row, column, _("Same existing customer as row %(row)s.") % {"row": seen_target[match.pk]})
                continue
            if item["need_custom_check"]:
                existing = customs.get(match.pk, {}) if match is not None else {}
                try:
                    cleaned = services.validate_custom({**existing, **values.get("custom", {})})
                except ValidationError as exc:
                    for key, messages in exc.message_dict.items():
                        self.error(row, key, messages[0])
                    continue
                values["custom"] = {k: v for k, v in cleaned.items() if k in values.get("custom", {})}
                if not values["custom"]:
                    values.pop("custom")
            if not item["ok"]:
                continue
            if values.get("birthday"):
                values["birthday"] = values["birthday"].isoformat()
            entry = {"row": row, "values": values, "action": "create", "customer_id": None}
            if match is not None:
                seen_target[match.pk] = row
                entry.update(action="link", customer_id=match.pk, customer_name=match.name, match=column)
            rows.append(entry)
        return rows

    # relations ---------------------------------------------------------------------------------
    def _resolve(self, items, columns):
        """Look the mobiles of ``columns`` up: an error for unknown ones and ones outside the scope."""
        by_mobile = _customers_by_mobile({item[c] for item in items for c in columns if item.get(c)})
        visible = _visible_ids(self.user, {c.pk for c in by_mobile.values()})
        for item in items:
            for column in columns:
                mobile = item.get(column)
                if not mobile:
                    continue
                customer = by_mobile.get(mobile)
                if customer is None:
                    self.error(item["row"], column, _("No customer with this mobile."))
                    item["ok"] = False
                elif customer.pk not in visible:
                    self.error(item["row"], column, _out_of_scope())
                    item["ok"] = False
                else:
                    item[f"{column}_customer"] = customer
        return by_mobile

    def check_relations(self):
        items = []
        for row, cells in self.cells():
            errors_before = len(self.errors)
            item = {"row": row}
            for column in ("from_mobile", "to_mobile"):
                if not cells.get(column):
                    self.error(row, column, _("Enter a mobile number."))
                else:
                    item[column] = self.clean(row, column, _mobile, cells[column])
            if not cells.get("kind"):
                self.error(row, "kind", _("Enter the relation."))
            else:
                item["kind"] = self.clean(row, "kind", _choice, cells["kind"], "relation")
            item["note"] = self.clean(row, "note", _text, cells.get("note", ""), 200) or ""
            item["ok"] = len(self.errors) == errors_before
            items.append(item)
        self._resolve(items, ("from_mobile", "to_mobile"))
        ids = {
            item[f"{c}_customer"].pk for item in items for c in ("from_mobile", "to_mobile") if f"{c}_customer" in item
        }
        existing = {}
        for chunk in _chunks(sorted(ids)):
            for relation in CustomerRelation.objects.filter(from_customer_id__in=chunk):
                if relation.to_customer_id in ids:
                    key = (
                        min(relation.from_customer_id, relation.to_customer_id),
                        max(relation.from_customer_id, relation.to_customer_id),
                        relation.is_family,
                    )
                    existing[key] = relation
        seen, rows = {}, []
        for item in items:
            if not item["ok"]:
                continue
            row, kind = item["row"], item["kind"]
            source, target = item["from_mobile_customer"], item["to_mobile_customer"]
            if source.pk == target.pk:
                self.error(row, "to_mobile", _("A customer cannot be linked to themself."))
                continue
            if kind in SYMMETRIC_KINDS and source.pk > target.pk:
                source, target = target, source
            key = (min(source.pk, target.pk), max(source.pk, target.pk), kind in FAMILY_KINDS)
            if key in seen:
                self.error(row, "kind", _("Row %(row)s already links these two customers.") % {"row": seen[key]})
                continue
            seen[key] = row
            action = "create"
            relation = existing.get(key)
            if relation is not None:
                if relation.kind == kind and relation.from_customer_id == source.pk:
                    action = "skip"
                else:
                    self.error(
                        row,
                        "kind",
                        _("%(a)s and %(b)s are already linked as %(kind)s; remove that link first.")
                        % {"a": source.name, "b": target.name, "kind": relation.get_kind_display()},
                    )
                    continue
            rows.append(
                {
                    "row": row,
                    "action": action,
                    "customer_id": source.pk,
                    "values": {
                        "from_mobile": source.mobile,
                        "to_mobile": target.mobile,
                        "kind": kind,
                        "note": item["note"],
                        "from_id": source.pk,
                        "to_id": target.pk,
                        "from_name": source.name,
                        "to_name": target.name,
                    },
                }
            )
        return rows

    # tags --------------------------------------------------------------------------------------
    def check_tags(self):
        tag_index = TagIndex()
        items = []
        for row, cells in self.cells():
            errors_before = len(self.errors)
            item = {"row": row}
            if not cells.get("mobile"):
                self.error(row, "mobile", _("Enter a mobile number."))
            else:
                item["mobile"] = self.clean(row, "mobile", _mobile, cells["mobile"])
            if not cells.get("tags"):
                self.error(row, "tags", _("Enter at least one tag."))
            else:
                item["tags"] = self.clean(row, "tags", tag_index.parse, cells["tags"])
            item["ok"] = len(self.errors) == errors_before
            items.append(item)
        self._resolve(items, ("mobile",))
        return [
            {
                "row": item["row"],
                "action": "tag",
                "customer_id": item["mobile_customer"].pk,
                "values": {
                    "mobile": item["mobile"],
                    "customer_name": item["mobile_customer"].name,
                    "tags": [str(t) for t in item["tags"]],
                    "tag_ids": [t.pk for t in item["tags"]],
                },
            }
            for item in items
            if item["ok"]
        ]

    # orders ------------------------------------------------------------------------------------
    def check_orders(self):
        items = []
        for row, cells in self.cells():
            errors_before = len(self.errors)
            item = {"row": row}
            if not cells.get("external_id"):
                self.error(
                    row, "external_id", _("Enter the order number; it keeps an order from being imported twice.")
                )
            else:
                item["external_id"] = self.clean(row, "external_id", _text, cells["external_id"], 100)
            if not cells.get("mobile"):
                self.error(row, "mobile", _("Enter a mobile number."))
            else:
                item["mobile"] = self.clean(row, "mobile", _mobile, cells["mobile"])
            item["name"] = self.clean(row, "name", _text, cells.get("name", ""), 100) or ""
            if not cells.get("amount"):
                self.error(row, "amount", _("Enter the amount."))
            else:
                item["amount"] = self.clean(row, "amount", _money, cells["amount"])
            item["cost"] = self.clean(row, "cost", _money, cells["cost"]) if cells.get("cost") else None
            item["channel"] = (
                self.clean(row, "channel", _choice, cells["channel"], "channel")
                if cells.get("channel")
                else Order.Channel.STORE
            )
            if not cells.get("placed_at"):
                self.error(row, "placed_at", _("Enter the order time."))
            else:
                item["placed_at"] = self.clean(row, "placed_at", _datetime, cells["placed_at"])
            item["sku"] = self.clean(row, "sku", _text, cells.get("sku", ""), 64) or ""
            item["category"] = self.clean(row, "category", _text, cells.get("category", ""), 64) or ""
            item["quantity"] = self.clean(row, "quantity", _quantity, cells["quantity"]) if cells.get("quantity") else 1
            item["price"] = self.clean(row, "price", _money, cells["price"]) if cells.get("price") else None
            item["ok"] = len(self.errors) == errors_before
            items.append(item)
        # one order per external id: its rows must agree on the amount and the customer
        orders = OrderedDict()
        for item in items:
            if item.get("external_id") is None:
                continue
            first = orders.setdefault(item["external_id"], item)
            if first is item:
                item["lines"] = 1
                continue
            first["lines"] += 1
            item["first_row"] = first["row"]
            if None not in (item.get("amount"), first.get("amount")) and item["amount"] != first["amount"]:
                self.error(
                    item["row"],
                    "amount",
                    _("Row %(row)s has the same order number with another amount (%(amount)s).")
                    % {"row": first["row"], "amount": first["amount"]},
                )
                item["ok"] = False
            if None not in (item.get("mobile"), first.get("mobile")) and item["mobile"] != first["mobile"]:
                self.error(
                    item["row"],
                    "mobile",
                    _("Row %(row)s has the same order number with another mobile.") % {"row": first["row"]},
                )
                item["ok"] = False
        for item in items:
            first = orders.get(item.get("external_id"), item)
            if item["ok"] and first.get("lines", 1) > 1 and not item["sku"]:
                self.error(item["row"], "sku", _("Enter the SKU of each line of an order with several lines."))
                item["ok"] = False
            elif item["ok"] and item["sku"] and item["price"] is None and first.get("lines", 1) > 1:
                self.error(item["row"], "price", _("Enter the price of each line of an order with several lines."))
                item["ok"] = False
        taken = set()
        for chunk in _chunks(sorted(orders)):
            taken.update(
                Order.objects.filter(client__isnull=True, external_id__in=chunk).values_list("external_id", flat=True)
            )
        for external_id in taken:
            self.error(
                orders[external_id]["row"], "external_id", _("Order %(id)s was imported before.") % {"id": external_id}
            )
            orders[external_id]["ok"] = False
        by_mobile = _customers_by_mobile({item["mobile"] for item in items if item.get("mobile")})
        visible = _visible_ids(self.user, {c.pk for c in by_mobile.values()})
        new_names = {}  # a new customer is named after the first row of the mobile that has a name
        for item in items:
            if item.get("mobile") and item["name"]:
                new_names.setdefault(item["mobile"], item["name"])
        rows = []
        for item in items:
            customer = by_mobile.get(item.get("mobile"))
            if customer is not None and customer.pk not in visible:
                self.error(item["row"], "mobile", _out_of_scope())
                continue
            if not item["ok"]:
                continue
            price = item["price"]
            if item["sku"] and price is None:  # a one-line order: the line costs the amount
                price = (item["amount"] / item["quantity"]).quantize(Decimal("0.01"))
            rows.append(
                {
                    "row": item["row"],
                    "action": "line" if "first_row" in item else "create",
                    "customer_id": customer.pk if customer else None,
                    "customer_name": customer.name if customer else "",
                    "new_customer": customer is None,
                    "values": {
                        "external_id": item["external_id"],
                        "mobile": item["mobile"],
                        "name": customer.name if customer else new_names.get(item["mobile"], item["mobile"]),
                        "amount": str(item["amount"]),
                        "cost": None if item["cost"] is None else str(item["cost"]),
                        "channel": item["channel"],
                        "placed_at": item["placed_at"].isoformat(),
                        "sku": item["sku"],
                        "category": item["category"],
                        "quantity": item["quantity"],
                        "price": None if price is None else str(price),
                    },
                }
            )
        if self.errors:  # an order is only imported whole; keep the rows' order numbers consistent
            bad = {e["row"] for e in self.errors}
            bad_orders = {item["external_id"] for item in items if item["row"] in bad and item.get("external_id")}
            rows = [r for r in rows if r["values"]["external_id"] not in bad_orders]
        return rows


def check_records(*, kind, user, header, records, progress=None):
    """Check every record: (cleaned rows, errors sorted by row, ignored header names)."""
    attributes = list(CustomAttribute.objects.all()) if kind == KINDS.CUSTOMERS else []
    index, errors, ignored = map_header(kind, header, attributes=attributes)
    if errors:
        return [], errors, ignored
    check = Check(kind=kind, user=user, index=index, records=records, progress=progress)
    rows = check.run()
    return rows, sorted(check.errors, key=lambda e: (e["row"], e["column"])), ignored


# --- the job -----------------------------------------------------------------------------------


def may_import(user, kind):
    return permissions.can(user, "customers.import") and permissions.can(user, REQUIRED_ACTION[kind])


def start_import(*, user, kind, file_name, data):
    """Read the file and check it (now, or in Celery for large files); returns the job.
    Raises ``ImportFileError`` when the file cannot be read at all."""
    if not may_import(user, kind):
        raise PermissionDenied(REQUIRED_ACTION[kind])
    if len(data) > MAX_FILE_SIZE:
        raise ImportFileError(_("The file is larger than 20 MB; split it into smaller files."))
    header, records = read_table(file_name, data)
    job = ImportJob(kind=kind, file_name=file_name[:255], created_by=user, total=len(records))
    if len(records) > ASYNC_CHECK_ROWS:
        job.status = ImportJob.Status.QUEUED
        job.rows = {"header": header, "records": records}
        job.save()
        Progress(job, "check")
        language = translation.get_language()
        transaction.on_commit(lambda: enqueue_or_log(check_import, job.pk, language=language))
        return job
    job.rows, job.errors, ignored = check_records(kind=kind, user=user, header=header, records=records)
    finish_check(job, ignored)
    job.save()
    return job


@shared_task(name="customers.imports.check_import", ignore_result=True)
@one_runner("customer-import")
def check_import(job_id, language=None):
    """Check a large file in the background (safe to run twice: only a queued check is taken, or
    one whose worker died)."""
    claimed = (
        framework.takeable_jobs(ImportJob)
        .filter(pk=job_id, rows__has_key="records")
        .update(status=ImportJob.Status.RUNNING)
    )
    if not claimed:
        return
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    with translation.override(language or translation.get_language()):
        try:
            raw = job.rows
            job.rows, job.errors, ignored = check_records(
                kind=job.kind,
                user=job.created_by,
                header=raw["header"],
                records=[(number, cells) for number, cells in raw["records"]],
                progress=Progress(job, "check"),
            )
            finish_check(job, ignored)
        except Exception:
            logger.exception("import %s: the check failed", job_id)
            job.rows, job.status = [], ImportJob.Status.FAILED
            job.message = _("The file could not be checked because of an unexpected error. Nothing was imported.")
        job.finished_at = None if job.status != ImportJob.Status.FAILED else timezone.now()
        job.save()
    cache.delete(progress_key(job_id))


def commit_import(*, job, user):
    """Queue the import of a checked job without errors. Returns False when it is not (or no
    longer) waiting for a commit, e.g. after a double click."""
    if not may_import(user, job.kind):
        raise PermissionDenied(REQUIRED_ACTION[job.kind])
    return framework.commit(job, task=run_import)


def requeue_waiting(older_than):
    """Queue again the checks and imports still waiting ``older_than`` after the job was created
    (their task was lost, e.g. the broker was down), and those left running by a killed worker (the
    task sees whether anyone still works on it). Returns how many were queued."""
    waiting = framework.waiting(ImportJob, older_than)
    checks = list(waiting.filter(rows__has_key="records").values_list("pk", flat=True))
    imports = list(waiting.exclude(pk__in=checks).values_list("pk", flat=True))
    return framework.requeue(checks, check_import) + framework.requeue(imports, run_import)


@shared_task(name="customers.imports.run_import", ignore_result=True)
@one_runner("customer-import")
def run_import(job_id, language=None):
    """Write every row of a checked job in one transaction (all or nothing), through the import
    framework: safe to run twice, progress in the cache, a failing row named."""

    def write(job, progress):
        writer = Writer(job=job, user=job.created_by, progress=progress)
        writer.run()
        return writer.touched

    def done(job, touched):
        for entry in job.rows:  # the result links each row to the customer it touched
            entry["customer_id"] = touched.get(entry["row"], entry.get("customer_id"))

    framework.run(
        ImportJob,
        job_id,
        write=write,
        done=done,
        language=language,
        name="import",
        claim=lambda jobs: jobs.exclude(rows__has_key="records"),
    )


# --- writing -----------------------------------------------------------------------------------

SERVICE_FIELDS = {
    "to_customer": "to_mobile",
    "from_customer": "from_mobile",
    "customer": "mobile",
    "__all__": "",
    "items": "sku",
}


def _failure(row, exc, default_column=""):
    """A ``RowFailure`` from a service's ``ValidationError`` (which names the field)."""
    if hasattr(exc, "error_dict"):
        field, messages = next(iter(exc.message_dict.items()))
        line = re.match(r"items\[(\d+)\]\.(\w+)", field)
        column = line.group(2) if line else SERVICE_FIELDS.get(field, field)
        return RowFailure(row, column, messages[0])
    return RowFailure(row, default_column, exc.messages[0])


def _in_our_transaction(service):
    """The service without its own ``transaction.atomic`` savepoint. The import runs in ONE
    transaction and any failing row rolls all of it back, so per-row savepoints buy nothing, and
    10,000 of them cost two round trips each plus PostgreSQL subtransactions (which slow every
    other session's snapshots once a transaction holds more than 64)."""
    return getattr(service, "__wrapped__", service)


create_customer = _in_our_transaction(services.create_customer)
update_customer = _in_our_transaction(services.update_customer)
link_customers = _in_our_transaction(services.link_customers)
add_tags = _in_our_transaction(services.add_tags)
from .services.orders import build_order  # noqa: E402 (orders are checked per row, stored set-based)


def _empty(customer, name):
    current = getattr(customer, name)
    return current in ("", None) or (name == "source" and current == Customer.Source.OTHER)


class Writer:
    """Writes a checked job's rows through the services (the caller holds the transaction)."""

    def __init__(self, *, job, user, progress):
        self.job, self.user, self.progress = job, user, progress
        self.rows = job.rows
        self.touched = {}  # row -> customer id, kept on the job only once everything is stored

    def run(self):
        getattr(self, f"write_{self.job.kind}")()

    def _existing(self, ids, row_of):
        """The linked customers, each still there and still in the importer's scope."""
        customers = {}
        for chunk in _chunks(sorted(ids)):
            customers.update({c.pk: c for c in customers_for(self.user).filter(pk__in=chunk)})
        for customer_id in ids:
            if customer_id not in customers:
                raise RowFailure(
                    row_of[customer_id],
                    "mobile",
                    _("The customer was deleted or moved out of your scope since the check."),
                )
        return customers

    def _tag(self, groups):
        """``groups``: (tag ids, [(row, customer id)]) — one ``add_tags`` per distinct tag set."""
        tags = {t.pk: t for t in Tag.objects.select_related("group")}
        for tag_ids, members in groups.items():
            try:
                add_tags(
                    customer_ids=[cid for _row, cid in members],
                    tags=[tags[t] for t in tag_ids],
                    source=CustomerTag.Source.IMPORT,
                    actor=self.user,
                )
            except KeyError as exc:
                raise RowFailure(members[0][0], "tags", _("A tag was deleted since the check.")) from exc
            except ValidationError as exc:
                raise _failure(members[0][0], exc, "tags") from exc

    def write_customers(self):
        links = {r["customer_id"]: r["row"] for r in self.rows if r["action"] == "link"}
        linked = self._existing(links, links)
        new = [r["values"] for r in self.rows if r["action"] == "create"]
        now_taken = _customers_by_mobile({v["mobile"] for v in new if v.get("mobile")})
        owners = User.objects.in_bulk({v["owner_id"] for v in new if v.get("owner_id")})
        groups = {}
        for entry in self.rows:
            values, row = entry["values"], entry["row"]
            fields = {k: v for k, v in values.items() if k not in ("tags", "tag_ids", "owner", "owner_id")}
            if fields.get("birthday"):
                fields["birthday"] = datetime.date.fromisoformat(fields["birthday"])
            try:
                if entry["action"] == "create":
                    if fields.get("mobile") in now_taken:
                        raise RowFailure(row, "mobile", _("A customer with this mobile was added since the check."))
                    if values.get("owner_id"):
                        fields["owner"] = owners[values["owner_id"]]
                    customer = create_customer(actor=self.user, **fields)
                else:  # link: fill the existing customer's empty fields, never overwrite (nor change owner)
                    customer = linked[entry["customer_id"]]
                    fill = {
                        name: value
                        for name, value in fields.items()
                        if name not in ("custom", "kind") and value not in ("", None) and _empty(customer, name)
                    }
                    missing = {k: v for k, v in fields.get("custom", {}).items() if k not in customer.custom}
                    if missing:
                        fill["custom"] = {**customer.custom, **missing}
                    if fill:
                        customer = update_customer(customer=customer, actor=self.user, **fill)
            except ValidationError as exc:
                raise _failure(row, exc) from exc
            self.touched[row] = customer.pk
            if values.get("tag_ids"):
                groups.setdefault(tuple(values["tag_ids"]), []).append((row, customer.pk))
            self.progress.advance()
        self._tag(groups)

    def write_relations(self):
        ids = {r["values"]["from_id"] for r in self.rows} | {r["values"]["to_id"] for r in self.rows}
        row_of = {}
        for entry in self.rows:
            row_of.setdefault(entry["values"]["from_id"], entry["row"])
            row_of.setdefault(entry["values"]["to_id"], entry["row"])
        customers = self._existing(ids, row_of)
        for entry in self.rows:
            values = entry["values"]
            if entry["action"] == "create":
                try:
                    link_customers(
                        actor=self.user,
                        from_customer=customers[values["from_id"]],
                        to_customer=customers[values["to_id"]],
                        kind=values["kind"],
                        note=values["note"],
                    )
                except ValidationError as exc:
                    raise _failure(entry["row"], exc, "kind") from exc
            self.progress.advance()

    def write_tags(self):
        row_of = {}
        for entry in self.rows:
            row_of.setdefault(entry["customer_id"], entry["row"])
        self._existing(row_of, row_of)
        groups = {}
        for entry in self.rows:
            groups.setdefault(tuple(entry["values"]["tag_ids"]), []).append((entry["row"], entry["customer_id"]))
        self._tag(groups)
        self.progress.advance(len(self.rows))

    def write_orders(self):
        advisory_lock("order-import", "all")  # two imports of the same file wait for each other
        orders = OrderedDict()
        for entry in self.rows:
            orders.setdefault(entry["values"]["external_id"], []).append(entry)
        taken = set()
        for chunk in _chunks(sorted(orders)):
            taken.update(
                Order.objects.filter(client__isnull=True, external_id__in=chunk).values_list("external_id", flat=True)
            )
        row_of = {}
        for entry in self.rows:
            if entry["customer_id"]:
                row_of.setdefault(entry["customer_id"], entry["row"])
        customers = self._existing(row_of, row_of)
        now_taken = _customers_by_mobile({e["values"]["mobile"] for e in self.rows if not e["customer_id"]})
        created, affected, built, pending = {}, set(), [], []
        for external_id, entries in orders.items():
            first, values = entries[0], entries[0]["values"]
            row = first["row"]
            line_entries = [e for e in entries if e["values"]["sku"]]
            if external_id in taken:
                raise RowFailure(row, "external_id", _("Order %(id)s was added since the check.") % {"id": external_id})
            try:
                if first["customer_id"]:
                    customer = customers[first["customer_id"]]
                elif values["mobile"] in created:
                    customer = created[values["mobile"]]
                elif values["mobile"] in now_taken:
                    raise RowFailure(row, "mobile", _("A customer with this mobile was added since the check."))
                else:
                    customer = created[values["mobile"]] = create_customer(
                        actor=self.user, name=values["name"] or values["mobile"], mobile=values["mobile"]
                    )
            except ValidationError as exc:
                raise _failure(row, exc) from exc
            placed_at = datetime.datetime.fromisoformat(values["placed_at"])
            lines = [
                {
                    "sku": e["values"]["sku"],
                    "category": e["values"]["category"],
                    "quantity": e["values"]["quantity"],
                    "price": e["values"]["price"],
                }
                for e in line_entries
            ]
            pending.append((external_id, entries, line_entries, customer, values, placed_at, lines))
        for start in range(0, len(pending), PRICING_CHUNK):
            # lines naming a catalogue SKU are priced as place_order prices them (the policy that
            # applied beside the price charged): one read of SKUs and policies per chunk of orders
            chunk = pending[start : start + PRICING_CHUNK]
            priced = registry.price_orders(
                [
                    {
                        "lines": lines,
                        "customer": customer,
                        "channel": values["channel"],
                        "on": timezone.localdate(placed_at),
                    }
                    for _id, _entries, _line_entries, customer, values, placed_at, lines in chunk
                ],
                unknown="keep",
            )
            for (external_id, entries, line_entries, customer, values, placed_at, _lines), lines in zip(
                chunk, priced, strict=True
            ):
                try:
                    built.append(
                        build_order(
                            customer=customer,
                            actor=self.user,
                            amount=Decimal(values["amount"]),
                            cost=None if values["cost"] is None else Decimal(values["cost"]),
                            channel=values["channel"],
                            placed_at=placed_at,
                            lines=lines,
                            external_id=external_id,
                        )
                    )
                except ValidationError as exc:
                    failure = _failure(entries[0]["row"], exc)
                    line = re.match(r"items\[(\d+)\]", next(iter(getattr(exc, "error_dict", {})), ""))
                    if line and int(line.group(1)) < len(line_entries):
                        failure.row = line_entries[int(line.group(1))]["row"]
                    raise failure from exc
                for entry in entries:
                    self.touched[entry["row"]] = customer.pk
                affected.add(customer.pk)
                self.progress.advance(len(entries))
        # checked row by row above; stored set-based (bulk_create of orders, lines and audit entries)

        save_orders(built, actor=self.user)
        # as for orders placed one by one (entitlements, attribution, points), each hook in one pass
        registry.orders_placed([order for order, _lines in built])
        self.progress.phase = "refresh"  # every row is written; the customers' figures follow
        self.progress.write()
        # set-based: one grouped read and one bulk update per 5,000 customers

        rebuild_value_figures(customer_ids=sorted(affected))


# --- the preview -------------------------------------------------------------------------------


def summary(job):
    """[(label, number, css)] for the preview and the result."""
    rows = job.rows if isinstance(job.rows, list) else []
    errors = len(job.errors)
    if job.kind == KINDS.CUSTOMERS:
        figures = [
            (gettext_lazy("New customers"), sum(r["action"] == "create" for r in rows), "success"),
            (gettext_lazy("Link to / update existing"), sum(r["action"] == "link" for r in rows), "info"),
        ]
    elif job.kind == KINDS.RELATIONS:
        figures = [
            (gettext_lazy("New links"), sum(r["action"] == "create" for r in rows), "success"),
            (gettext_lazy("Already linked"), sum(r["action"] == "skip" for r in rows), "secondary"),
        ]
    elif job.kind == KINDS.TAGS:
        figures = [(gettext_lazy("Customers to tag"), len({r["customer_id"] for r in rows}), "success")]
    else:
        new_customers = {r["values"]["mobile"] for r in rows if r.get("new_customer")}
        figures = [
            (gettext_lazy("Orders"), sum(r["action"] == "create" for r in rows), "success"),
            (gettext_lazy("Order lines"), sum(bool(r["values"]["sku"]) for r in rows), "secondary"),
            (gettext_lazy("New customers"), len(new_customers), "info"),
        ]
    return figures + [(gettext_lazy("Errors"), errors, "danger" if errors else "secondary")]
