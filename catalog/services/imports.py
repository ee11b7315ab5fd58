"""Catalogue import (产品导入): a CSV or XLSX file, one row per SKU, all or nothing.

The file is read through the shared pieces (``customers.imports.read_table``, which goes through
the upload guard ``crm.uploads``), every row is checked and the row report kept on a
``ProductImport``; only a file without errors can be committed, and the commit writes every row in
ONE transaction through the catalogue's services — a row that fails there rolls everything back
and names its row and column. A SKU or product code that exists is updated; a category path
("教育培训/一对一") is created where missing. Catalogue files are small: at most ``MAX_ROWS`` rows.
"""

import re
from decimal import Decimal, InvalidOperation

from auditlog.context import set_actor
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.imports import ImportFileError, read_table

from ..models import Category, Product, ProductImport, Sku
from . import catalogue

MAX_ROWS = 5_000
MAX_FILE_SIZE = 5 * 1024 * 1024
#: column -> accepted header names (compared without case, spaces, underscores and brackets)
COLUMNS = {
    "product_code": ("product_code", "产品编码", "产品代码"),
    "product_name": ("product_name", "产品名称", "产品"),
    "category": ("category", "品类", "类目", "分类"),
    "sku_code": ("sku_code", "sku", "sku编码", "商品编码"),
    "sku_name": ("sku_name", "sku名称", "商品名称"),
    "spec": ("spec", "规格"),
    "unit": ("unit", "单位"),
    "list_price": ("list_price", "标价", "价格", "售价"),
    "cost": ("cost", "成本"),
    "tax_rate": ("tax_rate", "税率"),
    "grants_name": ("grants_name", "权益", "权益名称"),
    "grants_quantity": ("grants_quantity", "权益数量"),
    "grants_valid_days": ("grants_valid_days", "权益有效天数", "有效天数"),
}
REQUIRED = ("product_code", "product_name", "category", "sku_code", "list_price")
EXPORT_HEADER = list(COLUMNS)


def _key(text):
    text = re.sub(r"[(（\[【].*?[)）\]】]", "", str(text))
    return re.sub(r"[\s_\-*]", "", text).lower()


def _error(row, column, message):
    return {"row": row, "column": column, "message": str(message)}


def _money(raw, *, required=False, limit=Decimal(10000000000)):
    text = re.sub(r"[¥￥,\s%]", "", raw)
    if not text:
        if required:
            raise ValueError(_("Enter an amount such as 128.00."))
        return None
    try:
        value = Decimal(text).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise ValueError(_("Enter an amount such as 128.00.")) from exc
    if value < 0:
        raise ValueError(_("The amount cannot be negative."))
    if value >= limit:
        raise ValueError(_("The amount is too large."))
    return value


def _whole(raw):
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal(-1)
    if value < 0 or value != int(value) or value > 1_000_000:
        raise ValueError(_("Enter a whole number (0 or more)."))
    return int(value)


def check_rows(header, records):
    """(rows, errors, ignored header names): each row a dict of cleaned cells, as strings."""
    aliases = {_key(name): column for column, names in COLUMNS.items() for name in names}
    index, errors, ignored = {}, [], []
    for position, name in enumerate(header):
        column = aliases.get(_key(name))
        if column is None:
            if name:
                ignored.append(name)
        elif column in index:
            errors.append(_error(1, name, _("This column appears twice.")))
        else:
            index[column] = position
    for column in REQUIRED:
        if column not in index:
            errors.append(
                _error(
                    1,
                    column,
                    _("The file has no %(column)s column.") % {"column": column},
                )
            )
    if errors:
        return [], errors, ignored
    rows, seen = [], {}
    for number, cells in records:
        cell = {
            column: (cells[position] if position < len(cells) else "").strip() for column, position in index.items()
        }
        row = {"row": number}
        for column in REQUIRED:
            if not cell.get(column):
                errors.append(_error(number, column, _("This cell is required.")))
        for column, limit in (
            ("product_code", 40),
            ("product_name", 100),
            ("sku_code", 64),
            ("sku_name", 100),
            ("spec", 100),
            ("unit", 20),
            ("grants_name", 50),
            ("category", 200),
        ):
            value = cell.get(column, "")
            if len(value) > limit:
                errors.append(
                    _error(
                        number,
                        column,
                        _("At most %(max)d characters.") % {"max": limit},
                    )
                )
            row[column] = value
        for column in ("list_price", "cost", "tax_rate"):
            try:
                value = _money(cell.get(column, ""), required=column == "list_price")
            except ValueError as exc:
                errors.append(_error(number, column, exc))
                continue
            if column == "tax_rate" and value is not None and value > 100:
                errors.append(_error(number, column, _("A tax rate is between 0 and 100.")))
            row[column] = None if value is None else str(value)
        for column in ("grants_quantity", "grants_valid_days"):
            try:
                value = _whole(cell.get(column, ""))
            except ValueError as exc:
                errors.append(_error(number, column, exc))
                continue
            row[column] = value
        code = row["sku_code"]
        if code and code in seen:
            errors.append(
                _error(
                    number,
                    "sku_code",
                    _("This SKU code is also on row %(row)s.") % {"row": seen[code]},
                )
            )
        seen.setdefault(code, number)
        rows.append(row)
    return rows, errors, ignored


def start_import(*, user, file_name: str, data: bytes) -> ProductImport:
    """Read and check the file; returns the job with its row report (nothing written yet).
    Raises ``ImportFileError`` when the file cannot be read at all."""
    if len(data) > MAX_FILE_SIZE:
        raise ImportFileError(
            _("The file is larger than %(size)s MB; split it into smaller files.")
            % {"size": MAX_FILE_SIZE // 1024 // 1024}
        )
    header, records = read_table(file_name, data, max_rows=MAX_ROWS)
    rows, errors, ignored = check_rows(header, records)
    job = ProductImport(
        file_name=file_name[:255],
        created_by=user,
        total=len(records),
        rows=rows,
        errors=errors,
        status=ProductImport.Status.INVALID if errors else ProductImport.Status.VALIDATED,
        message=(_("Columns ignored (unknown): %(names)s") % {"names": ", ".join(ignored)}) if ignored else "",
    )
    job.save()
    return job


class RowFailure(Exception):
    def __init__(self, row, column, message):
        super().__init__(message)
        self.row, self.column, self.message = row, column, str(message)


def _category(path, cache, actor):
    parts = [part.strip() for part in re.split(r"[/>＞／]", path) if part.strip()]
    parent = None
    for depth in range(len(parts)):
        key = tuple(parts[: depth + 1])
        if key not in cache:
            found = Category.objects.filter(parent=parent, name=parts[depth]).first()
            cache[key] = found or catalogue.save_category(
                category=Category(name=parts[depth], parent=parent), actor=actor
            )
        parent = cache[key]
    return parent


def commit_import(*, job: ProductImport, user) -> ProductImport:
    """Write every row of a checked job in one transaction (all or nothing). A job that is not
    waiting for a commit (e.g. a double click) is returned unchanged."""
    claimed = ProductImport.objects.filter(pk=job.pk, status=ProductImport.Status.VALIDATED).update(
        status=ProductImport.Status.FAILED, message=_("Importing…")
    )
    if not claimed:
        job.refresh_from_db()
        return job
    created = updated = 0
    try:
        with transaction.atomic(), set_actor(user):
            categories, products = {}, {}
            for row in job.rows:
                column = "category"
                try:
                    category = _category(row["category"], categories, user)
                    column = "product_code"
                    product = products.get(row["product_code"])
                    if product is None:
                        product = Product.objects.filter(code=row["product_code"]).first() or Product()
                        product.code, product.name, product.category = (
                            row["product_code"],
                            row["product_name"],
                            category,
                        )
                        products[product.code] = catalogue.save_product(product=product, actor=user)
                        product = products[product.code]
                    column = "sku_code"
                    sku = Sku.objects.filter(code=row["sku_code"]).first()
                    is_new = sku is None
                    sku = sku or Sku(code=row["sku_code"])
                    sku.product, sku.name = (
                        product,
                        row.get("sku_name") or row["product_name"],
                    )
                    sku.list_price = Decimal(row["list_price"])
                    for name in ("spec", "unit", "grants_name"):
                        if row.get(name):
                            setattr(sku, name, row[name])
                    for name in ("cost", "tax_rate"):
                        if row.get(name) is not None:
                            setattr(sku, name, Decimal(row[name]))
                    for name in ("grants_quantity", "grants_valid_days"):
                        if row.get(name) is not None:
                            setattr(sku, name, row[name])
                    catalogue.save_sku(sku=sku, actor=user)
                    created, updated = created + is_new, updated + (not is_new)
                except ValidationError as exc:
                    field, messages = (
                        next(iter(exc.message_dict.items())) if hasattr(exc, "error_dict") else (column, exc.messages)
                    )
                    raise RowFailure(
                        row["row"],
                        {"code": column, "__all__": column}.get(field, field),
                        messages[0],
                    ) from exc
    except RowFailure as failure:
        job.status, job.errors = (
            ProductImport.Status.FAILED,
            [_error(failure.row, failure.column, failure.message)],
        )
        job.message = _("Nothing was imported: row %(row)s failed (%(column)s: %(reason)s).") % {
            "row": failure.row,
            "column": failure.column,
            "reason": failure.message,
        }
    else:
        job.status = ProductImport.Status.DONE
        job.message = _("%(created)s SKUs created, %(updated)s updated.") % {
            "created": created,
            "updated": updated,
        }
    job.finished_at = timezone.now()
    job.save()
    return job


def export_rows(skus):
    """The rows of a catalogue export, header first — the import's columns, so an exported file
    imports back unchanged."""
    yield EXPORT_HEADER
    names = dict(Category.objects.values_list("pk", "name"))  # a catalogue has tens of categories
    for sku in skus:
        category = sku.product.category
        yield [
            sku.product.code,
            sku.product.name,
            category_path(category, names),
            sku.code,
            sku.name,
            sku.spec,
            sku.unit,
            sku.list_price,
            sku.cost,
            sku.tax_rate,
            sku.grants_name,
            sku.grants_quantity,
            sku.grants_valid_days,
        ]


def category_path(category, names=None) -> str:
    """ "教育培训/一对一" — ``names`` ({id: name}) avoids a query per level."""
    ids = [int(part) for part in category.path.strip("/").split("/") if part]
    if names is None:
        names = dict(Category.objects.filter(pk__in=ids).values_list("pk", "name"))
    return "/".join(names.get(pk, "") for pk in ids)
