"""Signal handlers of the sales app (connected in ``SalesConfig.ready``)."""

from .models import ScoringRule
from .services.scoring import request_rescore


def scoring_rule_changed(sender, **kwargs):
    """A scoring rule was added, changed or deleted (from any page, the admin or a script): the
    open leads are rescored in Celery once the change commits."""
    if kwargs.get("raw"):  # loading fixtures
        return

    request_rescore()


def connect():
    from django.db.models.signals import post_delete, post_save

    post_save.connect(scoring_rule_changed, sender=ScoringRule, dispatch_uid="sales-scoring-rule-saved")
    post_delete.connect(scoring_rule_changed, sender=ScoringRule, dispatch_uid="sales-scoring-rule-deleted")
