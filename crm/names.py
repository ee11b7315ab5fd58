"""How people are named on every page, chart and export: one function for users and customers."""

import re

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")


def person_name(person) -> str:
    """The name to show for a user or a customer (any object with ``name``).

    A user's name is family name first: Chinese names as one word ("王小明"), names in Latin letters
    in their own order ("Anna Schmidt"); the username when no name is set."""
    if person is None:
        return ""
    if hasattr(person, "last_name") and hasattr(person, "first_name"):
        family, given = (person.last_name or "").strip(), (person.first_name or "").strip()
        if not (family or given):
            return person.username
        if _CJK.search(family + given):
            return family + given
        return " ".join(part for part in (given, family) if part)
    return str(getattr(person, "name", person) or "")
