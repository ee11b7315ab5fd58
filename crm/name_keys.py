"""Search keys for names: one- and two-character Chinese searches and pinyin.

A trigram index answers a name search of three or more characters, but most searches of Chinese
names are one or two characters — a family name (王), a given name (小明) — and a trigram index
cannot serve those: PostgreSQL reads every row. People also type pinyin or its initials (``wxm``
for 王小明) on phones and on keyboards without an input method.

A model keeps a :class:`NameKeysField` beside the name, filled by :func:`keys_for`: the name's
single characters and character pairs, its pinyin, and short pinyin pieces, as space-separated
tokens. Searching then becomes:

* one or two characters (Chinese or Latin): an exact token, served on PostgreSQL by a GIN index on
  ``string_to_array(keys, ' ')`` (:func:`token_index_sql`), anywhere else by a ``LIKE``;
* three or more Latin letters: the pinyin contains them, served by a trigram index on the keys.

A one- or two-character token is found exactly when the name contains it, so the result is the same
as ``name__icontains`` — only faster.
"""

from __future__ import annotations

import re

from django.db import models
from django.db.models import Lookup, Q
from pypinyin import Style, lazy_pinyin, pinyin

__all__ = ["NameKeysField", "keys_for", "name_q", "token_index_sql", "trigram_index_sql"]

_LATIN = re.compile(r"^[a-z]+$")
_PINYIN_SPLIT = re.compile(r"[^a-z]+")


def _readings(name: str) -> list[list[str]]:
    """The pinyin of each character of ``name`` (Chinese characters only). The first character —
    usually the family name — keeps every reading (曾: zeng and ceng, 单: shan and dan), the others
    their most common one."""
    hanzi = [ch for ch in name if "\u3400" <= ch <= "\u9fff"]
    if not hanzi:
        return []
    first = pinyin(hanzi[0], style=Style.NORMAL, heteronym=True)[0]
    rest = lazy_pinyin("".join(hanzi[1:]), style=Style.NORMAL) if len(hanzi) > 1 else []
    return [sorted({r.lower() for r in first if r}), *[[r.lower()] for r in rest if r]]


def keys_for(name: str | None) -> str:
    """The search keys of ``name``: space-separated tokens, lower case, no duplicates.

    >>> keys_for("王小明").split()[:5]
    ['王', '小', '明', '王小', '小明']
    """
    text = "".join((name or "").lower().split())
    if not text:
        return ""
    tokens: dict[str, None] = {}
    for ch in text:
        tokens[ch] = None
    for i in range(len(text) - 1):
        tokens[text[i : i + 2]] = None
    readings = _readings(text)
    if readings:
        rest = [syllables[0] for syllables in readings[1:]]
        for first in readings[0]:
            syllables = [first, *rest]
            full = "".join(syllables)
            initials = "".join(s[0] for s in syllables)
            tokens[full] = None  # three letters or more: found through the trigram index
            tokens[initials] = None
            for i in range(len(initials)):  # one and two letters of the initials: w, x, wx, xm …
                tokens[initials[i]] = None
                if i + 1 < len(initials):
                    tokens[initials[i : i + 2]] = None
            for syllable in syllables:  # the start of a syllable: wa, xi, mi
                tokens[syllable[:2]] = None
    return " ".join(tokens)


class NameKeysField(models.TextField):
    """The search keys of a name (:func:`keys_for`), kept by the model whenever the name is saved."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)


@NameKeysField.register_lookup
class HasToken(Lookup):
    """``keys__has_token="王"``: the keys hold this exact token."""

    lookup_name = "has_token"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        token = str(self.rhs)
        pattern = "% " + token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + " %"
        return f"(' ' || {lhs} || ' ') LIKE %s ESCAPE '\\'", [*lhs_params, pattern]

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"string_to_array({lhs}, ' ') @> ARRAY[%s]::text[]", [*lhs_params, str(self.rhs)]


def name_q(text: str, *, name_field: str = "name", keys_field: str | None = None) -> Q:
    """The ``Q`` of a name search for ``text`` (stripped): through the keys when the model has them
    (one or two characters: a token; three Latin letters or more: the pinyin, or the name itself),
    otherwise ``name__icontains``."""
    if not keys_field:
        return Q(**{f"{name_field}__icontains": text})
    compact = "".join(text.lower().split())
    if 0 < len(compact) <= 2:
        return Q(**{f"{keys_field}__has_token": compact})
    q = Q(**{f"{name_field}__icontains": text})
    if _LATIN.match(compact):
        q |= Q(**{f"{keys_field}__contains": compact})
    return q


def token_index_sql(table: str, column: str, name: str) -> str:
    return f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (string_to_array({column}, ' '))"


def trigram_index_sql(table: str, column: str, name: str) -> str:
    return f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)"
