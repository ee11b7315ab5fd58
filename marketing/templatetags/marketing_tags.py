from django import template

register = template.Library()


@register.filter
def join_if_list(value):
    """A list value as comma-separated text (for a text input), anything else as it is."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return value


@register.filter
def get(mapping, key):
    """``mapping|get:key`` — a dict item in a template (None when missing)."""
    if not mapping:
        return None
    return mapping.get(str(key), mapping.get(key) if not isinstance(key, str) else None)


@register.filter
def percent(part, whole):
    """``part|percent:whole`` → "12.5%" ("—" without a whole)."""
    try:
        part, whole = float(part or 0), float(whole or 0)
    except (TypeError, ValueError):
        return "—"
    return f"{part * 100 / whole:.1f}%" if whole else "—"
