from django.db import migrations


def forward(apps, schema_editor):
    """Leads get the code of their region text. A rule's "region contains" text becomes the region
    it names; a rule whose text names none is switched off (without its condition it would take every
    lead) and listed by ``manage.py unmatched_regions``."""
    from customers import regions

    Lead = apps.get_model("sales", "Lead")
    for text in Lead.objects.exclude(region="").values_list("region", flat=True).distinct().iterator():
        code = regions.match(text)
        if code:
            Lead.objects.filter(region=text).update(region_code=code)
    AssignmentRule = apps.get_model("sales", "AssignmentRule")
    for rule in AssignmentRule.objects.exclude(region_text=""):
        code = regions.match(rule.region_text)
        if code:
            rule.region, rule.region_text = code, ""
        else:
            rule.is_active = False
        rule.save(update_fields=["region", "region_text", "is_active"])


def backward(apps, schema_editor):
    from customers import regions

    AssignmentRule = apps.get_model("sales", "AssignmentRule")
    for rule in AssignmentRule.objects.exclude(region=""):
        rule.region_text = regions.short_name(regions.name(rule.region))[:50]
        rule.save(update_fields=["region_text"])


class Migration(migrations.Migration):
    dependencies = [("sales", "0012_region_codes"), ("customers", "0018_region_is_a_code")]

    operations = [migrations.RunPython(forward, backward)]
