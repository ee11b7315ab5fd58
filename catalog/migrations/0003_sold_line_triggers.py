"""Keep ``catalog_soldline`` in step with the order lines, the orders and the customers by
triggers (PostgreSQL and SQLite, see ``catalog.sold_lines``) and fill it from the lines already there."""

from django.db import migrations


def install(apps, schema_editor):
    from catalog import sold_lines

    sold_lines.install(schema_editor.connection.alias, rollup_too=False)


def uninstall(apps, schema_editor):
    from catalog import sold_lines

    sold_lines.uninstall(schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_sold_line"),
        ("customers", "0021_order_line_catalogue_price"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
