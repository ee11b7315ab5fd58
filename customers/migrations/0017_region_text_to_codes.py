from django.db import migrations


def forward(apps, schema_editor):
    """Map every distinct region text to its code (customers.regions.match: exact names, short names,
    chains such as 浙江杭州). Text no code is found for moves to ``region_text`` and is listed by
    ``manage.py unmatched_regions``."""
    from customers import regions

    Customer = apps.get_model("customers", "Customer")
    for text in Customer.objects.exclude(region="").values_list("region", flat=True).distinct().iterator():
        code = regions.match(text)
        Customer.objects.filter(region=text).update(
            region=code,
            region_text="" if code else text[:100],
            region_province=regions.province_of(code),
            region_city=regions.city_of(code),
        )


def backward(apps, schema_editor):
    from customers import regions

    Customer = apps.get_model("customers", "Customer")
    for code in Customer.objects.exclude(region="").values_list("region", flat=True).distinct().iterator():
        Customer.objects.filter(region=code).update(region=regions.full_name(code).replace(" ", "")[:100])
    for text in Customer.objects.exclude(region_text="").values_list("region_text", flat=True).distinct():
        Customer.objects.filter(region="", region_text=text).update(region=text)


class Migration(migrations.Migration):
    dependencies = [("customers", "0016_region_codes")]

    operations = [migrations.RunPython(forward, backward)]
