"""补贴策略: the subsidy formula.

Each metric column j is scored into [0, 1] — by min-max (M = (v − min) / (max − min); all equal → 1)
or, with ``rank=True``, by rank (M = (rank − 1) / (n − 1), ties sharing their average rank, the
highest value scoring 1). Y_i = Σ N_j M_j with weights N_j that sum to 1 (others are normalized, with
a warning), and the subsidy is X_i = a + Y_i^t (b − a): the larger the shape factor t, the fewer
head merchants or products get a high subsidy.
"""

import csv
import io
import itertools
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from crm.uploads import UploadRefused, xlsx_rows

CENT = Decimal("0.01")


class PlanError(ValueError):
    pass


@dataclass
class PlanResult:
    rows: list  # dicts: id, scores {col: float}, y, x (Decimal)
    errors: list = field(default_factory=list)  # (row number, column, reason)
    warnings: list = field(default_factory=list)

    @property
    def total(self):
        return sum((row["x"] for row in self.rows), Decimal(0))


def parse_weights(text):
    weights = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise PlanError(_("Weight '%(part)s' must look like column=weight.") % {"part": part})
        name, value = part.split("=", 1)
        try:
            weights[name.strip()] = float(value)
        except ValueError as exc:
            raise PlanError(_("Weight of '%(name)s' is not a number.") % {"name": name.strip()}) from exc
        if weights[name.strip()] < 0:
            raise PlanError(_("Weight of '%(name)s' is negative.") % {"name": name.strip()})
    if not weights:
        raise PlanError(_("Give at least one weight."))
    return weights


#: rows a plan may have (coupons.forms checks it); an upload is read one row past it at most
MAX_READ_ROWS = 20_000


def read_csv(text):
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames or "id" not in reader.fieldnames:
        raise PlanError(_("The file needs a header row with an 'id' column."))
    return reader.fieldnames, list(itertools.islice(reader, MAX_READ_ROWS + 1))


def read_xlsx(data):
    """The first sheet of an XLSX workbook, header row first, as (fieldnames, rows of text)."""
    try:  # the upload guard: the archive checked before it is opened, rows streamed up to the cap
        cells = [list(row) for row in xlsx_rows(data, max_rows=MAX_READ_ROWS)]
    except UploadRefused as exc:
        raise PlanError(str(exc)) from exc
    cells = [row for row in cells if any(value not in (None, "") for value in row)]
    if not cells:
        raise PlanError(_("The file is empty."))
    header = [str(value).strip() if value is not None else "" for value in cells[0]]
    if "id" not in header:
        raise PlanError(_("The file needs a header row with an 'id' column."))

    def text(value):
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value).strip()

    rows = [{name: text(row[i]) if i < len(row) else "" for i, name in enumerate(header) if name} for row in cells[1:]]
    return [name for name in header if name], rows


def read_upload(name, data):
    """(fieldnames, rows) of an uploaded CSV or XLSX file."""
    if name.lower().endswith(".xlsx") or data[:2] == b"PK":
        return read_xlsx(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise PlanError(_("The file is neither UTF-8 nor GBK text, nor an XLSX workbook.")) from exc
    try:
        return read_csv(text)
    except csv.Error as exc:
        raise PlanError(_("The CSV file cannot be read: %(error)s") % {"error": exc}) from exc


def _scores(values, rank):
    if rank:
        order = sorted(range(len(values)), key=lambda i: values[i])
        ranks = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            average = (i + j) / 2
            for k in range(i, j + 1):
                ranks[order[k]] = average
            i = j + 1
        n = len(values)
        return [r / (n - 1) if n > 1 else 1.0 for r in ranks]
    low, high = min(values), max(values)
    return [(v - low) / (high - low) if high > low else 1.0 for v in values]


def compute(rows, *, a, b, t, weights, rank=False):
    """Score the rows (dicts with 'id' and metric columns) and return a PlanResult."""
    a, b = Decimal(str(a)), Decimal(str(b))
    if b < a:
        raise PlanError(_("b must not be below a."))
    if t <= 0:
        raise PlanError(_("t must be positive."))
    result = PlanResult(rows=[])
    total_weight = sum(weights.values())
    if total_weight <= 0:
        raise PlanError(_("The weights add up to zero."))
    if abs(total_weight - 1) > 1e-9:
        result.warnings.append(f"Weights add up to {total_weight:g}, not 1: they were normalized.")
        weights = {k: v / total_weight for k, v in weights.items()}
    good = []
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        values, bad = {}, False
        if not str(row.get("id", "")).strip():
            result.errors.append((number, "id", "empty id"))
            bad = True
        for column in weights:
            raw = row.get(column)
            if raw is None:
                if column not in row:
                    raise PlanError(_("Column '%(column)s' is not in the file.") % {"column": column})
                raw = ""
            if not str(raw).strip():
                result.errors.append((number, column, "empty"))
                bad = True
                continue
            try:
                values[column] = float(str(raw).strip().rstrip("%"))
            except ValueError:
                result.errors.append((number, column, f"not a number: {raw!r}"))
                bad = True
        if not bad:
            good.append((row, values))
    if not good:
        return result
    columns = {c: _scores([v[c] for _, v in good], rank) for c in weights}
    for index, (row, _values) in enumerate(good):
        scores = {c: columns[c][index] for c in weights}
        y = min(max(sum(weights[c] * scores[c] for c in weights), 0.0), 1.0)
        x = (a + Decimal(str(y**t)) * (b - a)).quantize(CENT, rounding=ROUND_HALF_UP)
        result.rows.append({"id": str(row["id"]).strip(), "scores": scores, "y": y, "x": x})
    return result


#: the largest shape factor tried (far past it, only the rows with the top score keep more than a)
T_LIMIT = 1e6
#: a suggested t is shown (and typed back) with this many decimals
T_DECIMALS = 4


def fit_to_budget(rows, *, a, b, t, weights, rank, budget):
    """When the total exceeds the budget: the smallest t (searching up from t) that fits, and the
    largest b (searching down from b) that fits with the chosen t. None where nothing fits.

    The total only falls as t grows (Y ≤ 1), so the suggested t is rounded up to its shown decimals
    — the safe side — and checked again: the t it returns always keeps the total within the budget.
    ``t`` is None when no t up to ``T_LIMIT`` fits (the top rows alone, at b, exceed it)."""
    budget = Decimal(str(budget))
    suggestion = {"t": None, "b": None}

    def fits(shape):
        return compute(rows, a=a, b=b, t=shape, weights=weights, rank=rank).total <= budget

    if fits(t):
        return suggestion
    low, high = t, t
    while not fits(high) and high < T_LIMIT:
        low, high = high, high * 2
    if fits(high):
        for _ in range(60):
            middle = (low + high) / 2
            if fits(middle):
                high = middle
            else:
                low = middle
        step = 10**-T_DECIMALS
        shown = round(math.ceil(high / step) * step, T_DECIMALS)
        while not fits(shown):  # float rounding only; the total cannot rise as t grows
            shown = round(shown + step, T_DECIMALS)
        suggestion["t"] = shown
    low_b, high_b = Decimal(str(a)), Decimal(str(b))
    if compute(rows, a=a, b=low_b, t=t, weights=weights, rank=rank).total <= budget:
        for _ in range(60):
            middle = ((low_b + high_b) / 2).quantize(CENT)
            if compute(rows, a=a, b=middle, t=t, weights=weights, rank=rank).total <= budget:
                low_b = middle
            else:
                high_b = middle
            if high_b - low_b <= CENT:
                break
        suggestion["b"] = low_b
    return suggestion


def write_csv(result, weights):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", *[f"score_{c}" for c in weights], "y", "x"])
    for row in result.rows:
        writer.writerow(
            [row["id"], *[f"{row['scores'][c]:.6f}" for c in weights], f"{row['y']:.6f}", f"{row['x']:.2f}"]
        )
    return out.getvalue()
