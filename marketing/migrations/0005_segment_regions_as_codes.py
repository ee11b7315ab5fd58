from django.db import migrations


def _convert(definition, regions):
    """Region conditions of a saved definition in codes: ``contains X`` and ``in [X]`` become
    ``in_region <code of X>``; ``in [X, Y]`` alone in its group becomes one condition per region with
    the group matching any. What names no region is left as it was: the definition then matches
    nobody and its page says why (and ``manage.py unmatched_regions`` lists nothing for it)."""
    changed = False
    for group in (definition or {}).get("groups") or []:
        conditions = []
        for condition in group.get("conditions") or []:
            if condition.get("field") != "region" or condition.get("op") not in ("contains", "in"):
                conditions.append(condition)
                continue
            texts = condition.get("value")
            texts = texts if isinstance(texts, list) else [texts]
            codes = [regions.match(str(text)) for text in texts]
            if not codes or not all(codes) or (len(codes) > 1 and len(group.get("conditions") or []) > 1):
                conditions.append(condition)
                continue
            conditions += [{"field": "region", "op": "in_region", "value": code} for code in codes]
            if len(codes) > 1:
                group["match"] = "any"
            changed = True
        group["conditions"] = conditions
    return changed


def forward(apps, schema_editor):
    from customers import regions

    Segment = apps.get_model("marketing", "Segment")
    for segment in Segment.objects.all():
        definition = segment.definition
        if _convert(definition, regions):
            segment.definition = definition
            segment.save(update_fields=["definition"])


class Migration(migrations.Migration):
    dependencies = [("marketing", "0004_campaigns_waiting_approval_on_engine"), ("customers", "0018_region_is_a_code")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
