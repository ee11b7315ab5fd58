"""Records submitted before the approval engine get their approval request, routed by today's
chain, so that they are in their approvers' inbox (no request is opened when none waits)."""

from django.db import migrations

WAITING = {"Campaign": "submitted"}


def forwards(apps, schema_editor):
    if not any(
        apps.get_model("marketing", model).objects.filter(status=status).exists() for model, status in WAITING.items()
    ):
        return  # a fresh database: nothing to adopt (and the live models are not read)
    from crm.approvals.services import adopt_waiting

    for kind in "marketing_campaign".split(","):
        adopt_waiting(kind)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0004_approval_engine"),
        ("marketing", "0003_segment_problem_and_subject_label"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
