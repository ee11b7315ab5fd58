"""The segmentation thresholds an admin sets (分层阈值), and the reclassification that follows."""

import contextvars
from decimal import Decimal

from auditlog.context import auditlog_value, set_actor
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.tasks import enqueue_or_log

from ..models import SegmentationSettings
from ..tasks import recompute_segments

#: every threshold an admin may set, in the order the settings page shows them
THRESHOLD_FIELDS = (
    "aov_threshold",
    "frequency_threshold",
    "volume_high",
    "volume_medium",
    "satisfaction_window_days",
    "developing_after_orders",
    "stable_after_orders",
    "min_orders_for_interval",
    "at_risk_multiple",
    "churn_multiple",
    "at_risk_days",
    "churn_days",
    "reactivated_days",
)


def _label(name):
    return str(SegmentationSettings._meta.get_field(name).verbose_name)


def _check(settings):
    """The thresholds must describe consistent rules; returns {field: message}."""
    errors = {}

    def at_least(name, minimum):
        if getattr(settings, name) is not None and getattr(settings, name) < minimum:
            errors.setdefault(name, _("Enter at least %(minimum)s.") % {"minimum": minimum})

    def above(low, high):
        if low not in errors and high not in errors and getattr(settings, high) <= getattr(settings, low):
            errors[high] = _("Must be more than “%(other)s”.") % {"other": _label(low)}

    at_least("aov_threshold", Decimal("0.01"))
    at_least("frequency_threshold", 1)
    at_least("volume_medium", Decimal("0.01"))
    at_least("satisfaction_window_days", 1)
    at_least("developing_after_orders", 2)  # one order is the "first order" stage
    at_least("min_orders_for_interval", 2)  # an interval needs two orders
    at_least("at_risk_multiple", Decimal("0.1"))
    at_least("at_risk_days", 1)
    above("volume_medium", "volume_high")
    above("developing_after_orders", "stable_after_orders")
    above("at_risk_multiple", "churn_multiple")
    above("at_risk_days", "churn_days")
    return errors


def save_segmentation_settings(*, actor, **values):
    """Save new thresholds and, when any changed, reclassify every customer after the commit
    (``customers.tasks.recompute_segments``, the nightly job, enqueued at once).

    Rules: only the fields of ``THRESHOLD_FIELDS``; positive thresholds; medium volume below high
    volume, developing below stable, at-risk below churned (both as multiples and as days).
    Raises ``ValidationError`` with a dict naming the field."""
    unknown = sorted(set(values) - set(THRESHOLD_FIELDS))
    if unknown:
        raise ValidationError({name: _("Unknown setting.") for name in unknown})
    if actor is None:
        return _save(values)
    # Name the actor in the audit log, also outside a request (shell, command, task), in a copied
    # context so that it does not stick to the thread; keep the request's address if there is one.
    try:
        current = auditlog_value.get()
    except LookupError:
        current = {}
    return contextvars.copy_context().run(
        _save_as, actor, current.get("remote_addr"), current.get("remote_port"), values
    )


def _save_as(actor, remote_addr, remote_port, values):
    with set_actor(actor, remote_addr=remote_addr, remote_port=remote_port):
        return _save(values)


@transaction.atomic
def _save(values):
    SegmentationSettings.current()
    settings = SegmentationSettings.objects.select_for_update().get(pk=1)
    before = {name: getattr(settings, name) for name in THRESHOLD_FIELDS}
    for name, value in values.items():
        setattr(settings, name, value)
    settings.full_clean()
    errors = _check(settings)
    if errors:
        raise ValidationError(errors)
    if any(getattr(settings, name) != before[name] for name in THRESHOLD_FIELDS):
        settings.save()
        transaction.on_commit(_enqueue_recompute)
    return settings


def _enqueue_recompute():
    # broker down: the settings are saved, and the nightly recompute applies them
    enqueue_or_log(recompute_segments)
