"""Value quadrant, 3×3 grid and lifecycle stage: pure rules over a customer's figures.

Defaults (an admin changes them on the segmentation page; see ``SegmentationSettings``):

- **Value quadrant** (价值象限): no orders → potential; average order value ≥ ¥500 and ≥ 4 orders →
  high value; only the AOV high → "high AOV, few orders"; only the count high → "frequent, low AOV";
  neither → low value.
- **Purchase volume**: total ≥ ¥10,000 high, ≥ ¥2,000 medium, else low.
- **Satisfaction**: the records of the last 365 days, each put on a 0–10 scale (CSAT 1–5 → 0, 2.5, 5,
  7.5, 10; NPS as is), averaged: ≥ 8 high, ≥ 6 medium, else low; no record → unrated (counted as
  medium in the grid).
- **3×3 grid**: A/B/C = high satisfaction with high/medium/low volume; D/F/G = medium satisfaction;
  E/H/I = low satisfaction (E buys a lot but complains a lot).
- **Lifecycle**: 0 orders potential; 1 first order; 2–8 developing; 9+ stable / high value. The gap
  since the last order makes a customer at risk past 2× their own median purchase interval, churned
  past 4× (customers with fewer than 3 orders: 90 and 180 days). A customer whose latest order came
  after a churn-length gap is reactivated for 60 days.
"""

import datetime
import itertools
import statistics
from decimal import Decimal

from ..models import LifecycleStage, SatisfactionLevel, ValueSegment, VolumeLevel

GRID = {
    (SatisfactionLevel.HIGH, VolumeLevel.HIGH): "A",
    (SatisfactionLevel.HIGH, VolumeLevel.MEDIUM): "B",
    (SatisfactionLevel.HIGH, VolumeLevel.LOW): "C",
    (SatisfactionLevel.MEDIUM, VolumeLevel.HIGH): "D",
    (SatisfactionLevel.MEDIUM, VolumeLevel.MEDIUM): "F",
    (SatisfactionLevel.MEDIUM, VolumeLevel.LOW): "G",
    (SatisfactionLevel.LOW, VolumeLevel.HIGH): "E",
    (SatisfactionLevel.LOW, VolumeLevel.MEDIUM): "H",
    (SatisfactionLevel.LOW, VolumeLevel.LOW): "I",
}
SERVICE_MODEL = {VolumeLevel.HIGH: "one_to_one", VolumeLevel.MEDIUM: "one_to_many", VolumeLevel.LOW: "retail"}
STANCE = {SatisfactionLevel.HIGH: "partner", SatisfactionLevel.MEDIUM: "improve", SatisfactionLevel.LOW: "correct"}


def value_segment(*, order_count, avg_order_value, settings):
    if order_count == 0:
        return ValueSegment.POTENTIAL
    high_aov = Decimal(avg_order_value) >= settings.aov_threshold
    frequent = order_count >= settings.frequency_threshold
    if high_aov and frequent:
        return ValueSegment.HIGH
    if high_aov:
        return ValueSegment.HIGH_AOV
    if frequent:
        return ValueSegment.FREQUENT
    return ValueSegment.LOW


def volume_level(*, total_amount, settings):
    total = Decimal(total_amount)
    if total >= settings.volume_high:
        return VolumeLevel.HIGH
    if total >= settings.volume_medium:
        return VolumeLevel.MEDIUM
    return VolumeLevel.LOW


def satisfaction_level(scores):
    """``scores``: (kind, score) pairs in the window → high / medium / low, or "" when none."""
    if not scores:
        return ""
    scaled = [(score - 1) * 2.5 if kind == "csat" else float(score) for kind, score in scores]
    average = sum(scaled) / len(scaled)
    if average >= 8:
        return SatisfactionLevel.HIGH
    if average >= 6:
        return SatisfactionLevel.MEDIUM
    return SatisfactionLevel.LOW


def grid_class(*, satisfaction, volume):
    return GRID[(satisfaction or SatisfactionLevel.MEDIUM, volume)]


def median_interval_days(order_times):
    """Median gap in days between consecutive orders (None with fewer than two orders)."""
    times = sorted(order_times)
    if len(times) < 2:
        return None
    gaps = [(later - earlier).total_seconds() / 86400 for earlier, later in itertools.pairwise(times)]
    return Decimal(str(round(statistics.median(gaps), 1)))


def _thresholds(*, order_count, median_days, settings):
    if order_count >= settings.min_orders_for_interval and median_days:
        return (
            float(median_days) * float(settings.at_risk_multiple),
            float(median_days) * float(settings.churn_multiple),
        )
    return float(settings.at_risk_days), float(settings.churn_days)


def lifecycle_stage(*, order_count, last_order_at, previous_order_at, median_days, now, settings):
    if order_count == 0 or last_order_at is None:
        return LifecycleStage.POTENTIAL
    at_risk_after, churn_after = _thresholds(order_count=order_count, median_days=median_days, settings=settings)
    gap = (now - last_order_at).total_seconds() / 86400
    if gap > churn_after:
        return LifecycleStage.CHURNED
    if gap > at_risk_after:
        return LifecycleStage.AT_RISK
    if previous_order_at is not None and gap <= settings.reactivated_days:
        # judged by the thresholds that held before the latest order
        before_risk, before_churn = _thresholds(order_count=order_count - 1, median_days=median_days, settings=settings)
        if (last_order_at - previous_order_at).total_seconds() / 86400 > before_churn:
            return LifecycleStage.REACTIVATED
    if order_count >= settings.stable_after_orders:
        return LifecycleStage.STABLE
    if order_count >= settings.developing_after_orders:
        return LifecycleStage.DEVELOPING
    return LifecycleStage.FIRST_ORDER


def classify(customer, *, settings, now, satisfaction=None):
    """Set the derived fields of ``customer`` in place; return the names that changed."""
    before = {
        f: getattr(customer, f)
        for f in ("value_segment", "volume_level", "grid_class", "lifecycle_stage", "satisfaction_level")
    }
    if satisfaction is not None:
        customer.satisfaction_level = satisfaction
    customer.value_segment = value_segment(
        order_count=customer.order_count, avg_order_value=customer.avg_order_value, settings=settings
    )
    customer.volume_level = volume_level(total_amount=customer.total_amount, settings=settings)
    customer.grid_class = grid_class(satisfaction=customer.satisfaction_level, volume=customer.volume_level)
    customer.lifecycle_stage = lifecycle_stage(
        order_count=customer.order_count,
        last_order_at=customer.last_order_at,
        previous_order_at=customer.previous_order_at,
        median_days=customer.median_interval_days,
        now=now,
        settings=settings,
    )
    return [f for f, value in before.items() if getattr(customer, f) != value], before["lifecycle_stage"]


def satisfaction_window_start(*, now, settings):
    return now - datetime.timedelta(days=settings.satisfaction_window_days)
