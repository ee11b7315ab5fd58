from django.db import migrations, models


class Migration(migrations.Migration):
    """Regions become 省/市/区 codes: a lead's code beside its text, an assignment rule's region code
    in place of "region contains" (mapped in 0013)."""

    dependencies = [("sales", "0011_control_points_on_approval_engine")]

    operations = [
        migrations.AddField(
            model_name="lead",
            name="region_code",
            field=models.CharField(blank=True, db_index=True, editable=False, max_length=6, verbose_name="region code"),
        ),
        migrations.RenameField(model_name="assignmentrule", old_name="region_contains", new_name="region_text"),
        migrations.AlterField(
            model_name="assignmentrule",
            name="region_text",
            field=models.CharField(
                blank=True,
                editable=False,
                max_length=50,
                verbose_name="region as written",
                help_text='An old "region contains" text no code was found for.',
            ),
        ),
        migrations.AddField(
            model_name="assignmentrule",
            name="region",
            field=models.CharField(
                blank=True, max_length=6, verbose_name="region", help_text="Leads in this province, city or district."
            ),
        ),
    ]
