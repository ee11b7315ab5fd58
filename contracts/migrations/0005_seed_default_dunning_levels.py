"""Seed the company's default dunning levels (催款级别) with the plan the code applied before admins
could set it: ``CONTRACT_DUNNING_DAYS`` after due to the owner, the owner's manager told too from
``CONTRACT_ESCALATE_AFTER_DAYS`` on, each by the person's own channels. An installation that has
already set default levels keeps them."""

from django.conf import settings
from django.db import migrations


def seed(apps, schema_editor):
    DunningLevel = apps.get_model("contracts", "DunningLevel")
    if DunningLevel.objects.filter(instalment__isnull=True).exists():
        return
    escalate = int(getattr(settings, "CONTRACT_ESCALATE_AFTER_DAYS", 15))
    days = sorted(set(getattr(settings, "CONTRACT_DUNNING_DAYS", (1, 7, 15, 30))))
    DunningLevel.objects.bulk_create(
        [
            DunningLevel(
                instalment=None,
                offset_days=day,
                channel="preference",
                responsible="manager" if day >= escalate else "owner",
            )
            for day in days
        ]
    )


class Migration(migrations.Migration):
    dependencies = [("contracts", "0004_dunning_levels_per_channel")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
