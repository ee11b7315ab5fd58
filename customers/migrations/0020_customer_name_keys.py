from django.db import migrations

import crm.name_keys

TOKEN_INDEX = "customer_name_keys_tokens"
PINYIN_INDEX = "customer_name_keys_trgm"
MOBILE_INDEX = "customer_mobile_trgm"


def fill_keys(apps, schema_editor):
    """Every customer's name search keys, in batches (the model's ``save`` keeps them from now on)."""
    Customer = apps.get_model("customers", "Customer")
    last = 0
    while True:
        batch = list(Customer.objects.filter(pk__gt=last).order_by("pk").only("pk", "name")[:2000])
        if not batch:
            break
        for customer in batch:
            customer.name_keys = crm.name_keys.keys_for(customer.name)
        Customer.objects.bulk_update(batch, ["name_keys"])
        last = batch[-1].pk


def create_indexes(apps, schema_editor):
    """PostgreSQL only: a GIN index on the keys as an array (one- and two-character searches), a
    trigram index on the keys (pinyin of three letters or more) and one on the mobile (a partial
    mobile of four digits or more)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(crm.name_keys.token_index_sql("customers_customer", "name_keys", TOKEN_INDEX))
        schema_editor.execute(crm.name_keys.trigram_index_sql("customers_customer", "name_keys", PINYIN_INDEX))
        schema_editor.execute(crm.name_keys.trigram_index_sql("customers_customer", "mobile", MOBILE_INDEX))


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in (TOKEN_INDEX, PINYIN_INDEX, MOBILE_INDEX):
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0019_customer_location"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="name_keys",
            field=crm.name_keys.NameKeysField(blank=True, default="", editable=False, verbose_name="name search keys"),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
