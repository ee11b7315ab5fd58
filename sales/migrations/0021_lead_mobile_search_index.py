from django.db import migrations

INDEX = "lead_mobile_search_trgm"


def create_index(apps, schema_editor):
    """PostgreSQL only, as for customers (customers 0023): a trigram index on ``LOWER(mobile)``, the
    expression a partial-mobile search compares (crm.db.Searchable). On the expression, not the
    column, so that ``mobile = …`` and ``mobile IN (…)`` stay on the B-tree."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON sales_lead USING gin (LOWER(mobile) gin_trgm_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0020_followup_next_due_index"),
        ("customers", "0023_mobile_search_index_on_expression"),  # pg_trgm, and the same index for customers
    ]

    operations = [
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
