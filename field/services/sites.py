"""Work sites and hours: what an admin sets per department."""

from django.db import transaction

from ..models import WorkHours, WorkSite


@transaction.atomic
def save_work_site(*, site: WorkSite) -> WorkSite:
    """Create or change a work site (the model's constraints hold coordinates and radius)."""
    site.full_clean()
    site.save()
    return site


@transaction.atomic
def save_work_hours(*, hours: WorkHours) -> WorkHours:
    """Create or change a department's hours (one per department, start before end)."""
    hours.full_clean()
    hours.save()
    return hours
