from django.db import migrations, models


class Migration(migrations.Migration):
    """Regions become 省/市/区 codes: the new columns (the text is mapped in 0017)."""

    dependencies = [("customers", "0015_lead_sources")]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="region_text",
            field=models.CharField(
                blank=True,
                max_length=100,
                verbose_name="region as written",
                help_text="Text no region code was found for (entered before codes, or imported); "
                "listed under Settings → Unmatched regions.",
            ),
        ),
        migrations.AddField(
            model_name="customer",
            name="region_province",
            field=models.CharField(blank=True, db_index=True, editable=False, max_length=6, verbose_name="province"),
        ),
        migrations.AddField(
            model_name="customer",
            name="region_city",
            field=models.CharField(blank=True, db_index=True, editable=False, max_length=6, verbose_name="city"),
        ),
    ]
