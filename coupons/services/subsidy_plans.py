"""Saved subsidy plans: numbered versions of a computation, comparison of two versions, and the
pre-filled settings of a batch that takes its amounts from a version.

From a version to a batch: the face value is the subsidy X of the chosen row (a merchant or
product; without a row, the plan's highest X), the decay floor is the plan's lowest X, and the
decay factor is the plan's median X divided by the face value (between 0.50 and 1.00) — so a
repeated claim in the same channel falls towards what the typical row gets, never below the lowest.
"""

import statistics
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from ..models import Batch, SubsidyPlan, SubsidyPlanVersion
from . import subsidy

CENT = Decimal("0.01")


def error_messages(result):
    """'Row 3, field conversion: not a number' for every bad row of a computation."""
    return [
        _("Row %(row)s, field %(field)s: %(reason)s") % {"row": number, "field": column, "reason": reason}
        for number, column, reason in result.errors
    ]


@transaction.atomic
def save_version(
    *,
    actor,
    columns,
    rows,
    a,
    b,
    t,
    weights,
    rank=False,
    budget=None,
    source_name="",
    note="",
    plan=None,
    name="",
    subject=SubsidyPlan.Subject.PRODUCTS,
):
    """Compute and store the next version of ``plan`` (a new plan named ``name`` when none).
    Bad rows refuse the save; they are reported by row and field."""
    try:
        result = subsidy.compute(rows, a=a, b=b, t=t, weights=weights, rank=rank)
    except subsidy.PlanError as exc:
        raise ValidationError({"weights": [str(exc)]}) from exc
    if result.errors:
        raise ValidationError({"file": error_messages(result)})
    if not result.rows:
        raise ValidationError({"file": [_("The file has no rows.")]})
    if plan is None:
        if not (name or "").strip():
            raise ValidationError({"name": [_("Name the plan.")]})
        plan = SubsidyPlan.objects.create(
            name=name.strip(), subject=subject, created_by=actor, department=getattr(actor, "department", None)
        )
    else:
        plan = SubsidyPlan.objects.select_for_update().get(pk=plan.pk)
    number = (plan.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    total = sum(weights.values())
    return SubsidyPlanVersion.objects.create(
        plan=plan,
        number=number,
        source_name=source_name[:200],
        a=Decimal(str(a)),
        b=Decimal(str(b)),
        t=float(t),
        weights={k: v / total for k, v in weights.items()},
        rank=rank,
        budget=budget,
        columns=list(columns),
        input_rows=[{c: row.get(c) for c in columns} for row in rows],
        result=[{"id": row["id"], "scores": row["scores"], "y": row["y"], "x": str(row["x"])} for row in result.rows],
        row_count=len(result.rows),
        total=result.total,
        note=note[:200],
        created_by=actor,
    )


def fit(version):
    """What would fit the version's budget (smallest t, largest b) when its total exceeds it."""
    if version.budget is None or version.total <= version.budget:
        return None
    return subsidy.fit_to_budget(
        version.input_rows,
        a=version.a,
        b=version.b,
        t=version.t,
        weights=version.weights,
        rank=version.rank,
        budget=version.budget,
    )


def histogram(amounts, low, high, bins=10):
    """(labels, counts) of the amounts in ``bins`` equal steps from low to high."""
    low, high = Decimal(low), Decimal(high)
    width = (high - low) / bins if high > low else Decimal(1)
    counts = [0] * bins
    for amount in amounts:
        index = int((Decimal(amount) - low) / width) if high > low else 0
        counts[min(max(index, 0), bins - 1)] += 1
    labels = [f"{low + width * i:.0f}–{low + width * (i + 1):.0f}" for i in range(bins)]
    return labels, counts


def compare(left, right):
    """Row-by-row comparison of two versions: [(id, x_left, x_right, change)], ids of either."""
    lefts = {row["id"]: Decimal(row["x"]) for row in left.result}
    rights = {row["id"]: Decimal(row["x"]) for row in right.result}
    ids = list(lefts) + [i for i in rights if i not in lefts]
    return [
        (i, lefts.get(i), rights.get(i), (rights[i] - lefts[i]) if i in lefts and i in rights else None) for i in ids
    ]


def batch_initial(version, row_id=None):
    """Initial values of a new batch that takes its amounts from ``version`` (see the module doc)."""
    amounts = version.amounts()
    if not amounts:
        return {}
    row = next((r for r in version.result if r["id"] == row_id), None) if row_id else None
    face = Decimal(row["x"]) if row else max(amounts)
    median = Decimal(str(statistics.median(amounts))).quantize(CENT)
    factor = (median / face).quantize(CENT, rounding=ROUND_HALF_UP) if face > 0 else Decimal("1.00")
    initial = {
        "discount_type": Batch.DiscountType.FIXED,
        "amount": face.quantize(CENT),
        "decay_floor": min(max(min(amounts), CENT), face).quantize(CENT),  # a decay floor is never ¥0
        "decay_factor": min(max(factor, Decimal("0.50")), Decimal("1.00")),
        "subsidy_version": version.pk,
        "name": (f"{version.plan.name} v{version.number}" + (f" · {row['id']}" if row else ""))[:100],
    }
    if row and version.plan.subject == SubsidyPlan.Subject.PRODUCTS:
        initial.update(scope=Batch.Scope.SKUS, scope_values=row["id"])
    return initial
