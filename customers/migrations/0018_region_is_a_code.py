from django.db import migrations, models

import customers.regions


class Migration(migrations.Migration):
    dependencies = [("customers", "0017_region_text_to_codes")]

    operations = [
        migrations.AlterField(
            model_name="customer",
            name="region",
            field=models.CharField(
                blank=True,
                choices=customers.regions.choices,
                db_index=True,
                help_text="Province, city or district.",
                max_length=6,
                verbose_name="region",
            ),
        ),
    ]
