"""Region text of leads and assignment rules that no 省/市/区 code was found for."""

from django.db.models import Count

from crm import permissions

from .models import AssignmentRule, Lead


def unmatched_lead_regions(user):
    base = Lead.objects.all() if user is None else permissions.visible(user, Lead.objects.all())
    rows = (
        base.filter(region_code="")
        .exclude(region="")
        .order_by()
        .values("region")
        .annotate(n=Count("id"))
        .order_by("-n", "region")
    )
    return [(row["region"], row["n"]) for row in rows]


def unmatched_rule_regions(user):
    """Rules whose old "region contains" text matched no code: switched off by the migration."""
    rows = (
        AssignmentRule.objects.filter(region="")
        .exclude(region_text="")
        .order_by()
        .values("region_text")
        .annotate(n=Count("id"))
        .order_by("-n", "region_text")
    )
    return [(row["region_text"], row["n"]) for row in rows]
