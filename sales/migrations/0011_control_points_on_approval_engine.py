"""Key control points move onto the approval engine: every StageApproval, waiting or decided,
becomes an ApprovalRequest of kind ``opportunity_control_point`` with one step (the stage's role),
then the old table goes."""

from django.db import migrations

KIND = "opportunity_control_point"


def _approvers(apps, approval, requester):
    """The nearest holders of the role from the opportunity's department up, else anywhere, else
    the admins; never the requester."""
    Department = apps.get_model("crm", "Department")
    User = apps.get_model("crm", "User")
    people = User.objects.filter(is_active=True, is_service=False).exclude(pk=requester.pk)
    department = approval.opportunity.department
    if department is not None:
        ids = [int(p) for p in department.path.strip("/").split("/") if p] or [department.pk]
        for pk in reversed(ids):
            found = list(people.filter(department_id=pk, role=approval.role).order_by("pk"))
            if found:
                return found
    return (
        list(people.filter(role=approval.role).order_by("pk"))
        or list(people.filter(role="admin").order_by("pk"))
        or list(people.filter(is_superuser=True))
    )


def forwards(apps, schema_editor):
    StageApproval = apps.get_model("sales", "StageApproval")
    ApprovalRequest = apps.get_model("crm", "ApprovalRequest")
    ApprovalStep = apps.get_model("crm", "ApprovalStep")
    ApprovalAssignee = apps.get_model("crm", "ApprovalAssignee")
    ContentType = apps.get_model("contenttypes", "ContentType")
    content_type, _ = ContentType.objects.get_or_create(app_label="sales", model="opportunity")
    for old in StageApproval.objects.select_related(
        "opportunity__owner", "opportunity__department", "stage", "requested_by", "decided_by"
    ).order_by("pk"):
        requester = old.requested_by or old.opportunity.owner
        decided_by, comment = old.decided_by, old.comment
        if decided_by is not None and decided_by.pk == requester.pk:
            # a decision by the requester, from before the rule: kept as a comment, not as a decider
            decided_by, comment = None, f"{comment} ({requester.last_name}{requester.first_name})".strip()
        request = ApprovalRequest.objects.create(
            kind=KIND,
            content_type=content_type,
            object_id=old.opportunity_id,
            key=f"stage:{old.stage_id}",
            title=f"{old.opportunity.name} · {old.stage.name}"[:300],
            amount=old.opportunity.amount,
            department=old.opportunity.department,
            requested_by=requester,
            requested_at=old.requested_at,
            status=old.status,
            position=1 if old.status == "pending" else 0,
            decided_by=decided_by,
            decided_at=old.decided_at,
            comment=comment,
        )
        step = ApprovalStep.objects.create(
            request=request,
            position=1,
            relation="record_role",
            role=old.role,
            requester=requester,
            status=old.status,
            decided_by=decided_by,
            decided_at=old.decided_at,
            comment=comment,
        )
        people = _approvers(apps, old, requester) if old.status == "pending" else [decided_by] if decided_by else []
        ApprovalAssignee.objects.bulk_create(
            [
                ApprovalAssignee(step=step, approver=user, requester=requester, is_open=old.status == "pending")
                for user in people
            ]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("crm", "0004_approval_engine"),
        ("sales", "0010_pool_rule_paying_customers_reminder_scheduled_at"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.DeleteModel(name="StageApproval"),
    ]
