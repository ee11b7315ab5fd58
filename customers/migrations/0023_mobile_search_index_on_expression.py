from django.db import migrations

OLD_INDEX = "customer_mobile_trgm"
INDEX = "customer_mobile_search_trgm"


def index_the_expression(apps, schema_editor):
    """PostgreSQL only: the partial-mobile trigram index moves from the column to ``LOWER(mobile)``,
    the expression the search compares (crm.db.Searchable). On the column, ``gin_trgm_ops`` also
    answered ``mobile IN (…)``, and on a small table PostgreSQL planned a long list there, one
    trigram lookup per value; an equality cannot use an index on the expression."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON customers_customer USING gin (LOWER(mobile) gin_trgm_ops)"
        )
        schema_editor.execute(f"DROP INDEX IF EXISTS {OLD_INDEX}")


def index_the_column(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {OLD_INDEX} ON customers_customer USING gin (mobile gin_trgm_ops)"
        )
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0022_code_labels"),
    ]

    operations = [
        migrations.RunPython(index_the_expression, index_the_column, elidable=False),
    ]
