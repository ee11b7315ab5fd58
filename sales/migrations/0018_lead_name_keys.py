from django.db import migrations

import crm.name_keys

TOKEN_INDEX = "lead_name_keys_tokens"
PINYIN_INDEX = "lead_name_keys_trgm"
NAME_INDEX = "lead_name_trgm"


def fill_keys(apps, schema_editor):
    """Every lead's name search keys, in batches (the model's ``save`` keeps them from now on)."""
    Lead = apps.get_model("sales", "Lead")
    last = 0
    while True:
        batch = list(Lead.objects.filter(pk__gt=last).order_by("pk").only("pk", "name")[:2000])
        if not batch:
            break
        for lead in batch:
            lead.name_keys = crm.name_keys.keys_for(lead.name)
        Lead.objects.bulk_update(batch, ["name_keys"])
        last = batch[-1].pk


def create_indexes(apps, schema_editor):
    """PostgreSQL only, as for customers (customers 0010 and 0020): a GIN index on the keys as an
    array (one- and two-character searches), a trigram index on the keys (pinyin of three letters or
    more) and one on UPPER(name), which the name part of a longer search (``name__icontains``)
    compares."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(crm.name_keys.token_index_sql("sales_lead", "name_keys", TOKEN_INDEX))
        schema_editor.execute(crm.name_keys.trigram_index_sql("sales_lead", "name_keys", PINYIN_INDEX))
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME_INDEX} ON sales_lead USING gin (UPPER(name) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in (TOKEN_INDEX, PINYIN_INDEX, NAME_INDEX):
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0017_scoring_criteria_from_registry"),
        ("customers", "0020_customer_name_keys"),  # pg_trgm (customers 0010), and the same keys for customers
    ]

    operations = [
        migrations.AddField(
            model_name="lead",
            name="name_keys",
            field=crm.name_keys.NameKeysField(blank=True, default="", editable=False, verbose_name="name search keys"),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
