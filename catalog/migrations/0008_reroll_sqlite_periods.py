"""On SQLite the roll-up left out the lines of the first eight hours (Shanghai) of the first period
it rolled at a time; the periods rolled before the fix are rolled again when next read."""

from django.db import migrations


def forget_on_sqlite(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return  # PostgreSQL's roll-up compared times as times: nothing to redo
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DELETE FROM catalog_soldrollup")
        cursor.execute("DELETE FROM catalog_soldmonth")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0007_sold_rollup")]

    operations = [migrations.RunPython(forget_on_sqlite, migrations.RunPython.noop)]
