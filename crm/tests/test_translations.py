"""No English on zh-hans pages (issue 13, item 20).

Two checks, both strict, both catching strings added later by anyone:

* every msgid our own code and templates ask for (``gettext``/``_()``/``ngettext``/``pgettext`` in
  Python, ``{% translate %}``/``{% blocktranslate %}``/``_()`` in templates — found by reading the
  source, so error messages that only a failed upload shows count too) has a Simplified Chinese
  translation;
* every page of the browser UI (the URL conf walked with the demo data, as each role) is rendered
  in zh-hans while every translation lookup is watched: no msgid of ours may come back untranslated.
"""

import ast
import gettext as gettext_module
import re
from pathlib import Path

import django
import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import trans_real
from django.utils.translation.template import templatize

BASE = Path(settings.BASE_DIR)
APPS = (
    "crm",
    "customers",
    "sales",
    "coupons",
    "catalog",
    "marketing",
    "partners",
    "contracts",
    "resources",
    "members",
    "field",
)
GETTEXT_NAMES = {
    "_",
    "gettext",
    "gettext_lazy",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
    "gettext_noop",
}
#: strings that read the same in Chinese (codes, abbreviations): translated to themselves in the catalogue
LETTERS = re.compile(r"[A-Za-z]{2,}")


def _python_files():
    for app in APPS:
        for path in (BASE / app).rglob("*.py"):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            yield path


def _template_files():
    yield from (BASE / "templates").rglob("*.html")
    for app in APPS:
        yield from (BASE / app / "templates").rglob("*.html")


def _call_name(node):
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def python_msgids(path):
    """(context, msgid, plural) of every translation call with literal strings in a Python file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call) or _call_name(node) not in GETTEXT_NAMES:
            continue
        args = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in node.args]
        name = _call_name(node)
        if name.startswith("np"):
            context, msgid, plural = (args + [None] * 3)[:3]
        elif name.startswith("p"):
            context, msgid, plural = (args + [None] * 2)[0], (args + [None] * 2)[1], None
        elif name.startswith("n"):
            context, msgid, plural = None, (args + [None] * 2)[0], (args + [None] * 2)[1]
        else:
            context, msgid, plural = None, (args or [None])[0], None
        if msgid:
            found.append((context, msgid, plural, f"{path.relative_to(BASE)}:{node.lineno}"))
    return found


STRING = r"u?'(?:[^'\\]|\\.)*'"
TEMPLATE_CALL = re.compile(rf"\b(_|gettext|ngettext|pgettext|npgettext)\(\s*({STRING}(?:\s*,\s*{STRING})*)")


def template_msgids(path):
    found = []
    source = path.read_text()
    for number, line in enumerate(templatize(source, str(path)).splitlines(), 1):
        for match in TEMPLATE_CALL.finditer(line):
            strings = [ast.literal_eval(s) for s in re.findall(STRING, match.group(2))]
            name = match.group(1)
            where = f"{path.relative_to(BASE)}:{number}"
            if name == "npgettext":
                found.append((strings[0], strings[1], strings[2] if len(strings) > 2 else None, where))
            elif name == "pgettext":
                found.append((strings[0], strings[1], None, where))
            elif name == "ngettext":
                found.append((None, strings[0], strings[1] if len(strings) > 1 else None, where))
            else:
                found.append((None, strings[0], None, where))
    return found


def untranslated(context, msgid, plural):
    """Whether zh-hans shows ``msgid`` (or its plural) in English."""
    if not LETTERS.search(msgid):
        return False
    catalog = trans_real.translation("zh-hans")
    key = f"{context}\x04{msgid}" if context else msgid
    if plural:
        return catalog._catalog.get((key, 0)) is None and catalog._catalog.get(key) is None
    return catalog._catalog.get(key) is None


def test_every_msgid_of_ours_has_a_chinese_translation():
    missing = []
    for path in _python_files():
        missing += [
            f"{where}: {msgid!r}"
            for context, msgid, plural, where in python_msgids(path)
            if untranslated(context, msgid, plural)
        ]
    for path in _template_files():
        missing += [
            f"{where}: {msgid!r}"
            for context, msgid, plural, where in template_msgids(path)
            if untranslated(context, msgid, plural)
        ]
    assert missing == [], f"{len(missing)} msgids without a zh-hans translation:\n" + "\n".join(missing)


def test_the_source_reader_finds_python_and_template_strings():
    """The check above reads what it should: a known error message of the subsidy upload and a
    known template string."""
    python = {msgid for path in _python_files() for _c, msgid, _p, _w in python_msgids(path)}
    assert "The file needs a header row with an 'id' column." in python  # the subsidy upload's error
    templates = {msgid for path in _template_files() for _c, msgid, _p, _w in template_msgids(path)}
    assert "Won in the period" in templates and "%(counter)s deal" in templates


# --- every page, rendered ----------------------------------------------------------------------------


def third_party_msgids():
    """The msgids of Django's and the other installed packages' catalogues (not ours to translate)."""
    msgids = set()
    roots = {Path(django.__file__).parent.parent}
    for root in roots:
        for mo in root.glob("*/**/locale/de/LC_MESSAGES/*.mo"):
            with open(mo, "rb") as handle:
                try:
                    catalog = gettext_module.GNUTranslations(handle)._catalog
                except OSError:
                    continue
            msgids |= {key[0] if isinstance(key, tuple) else key for key in catalog}
    return msgids


class Watch:
    """Every translation lookup made while active that comes back untranslated."""

    def __init__(self):
        self.misses = set()

    def __enter__(self):
        cls = trans_real.DjangoTranslation
        self._gettext, self._ngettext = cls.gettext, cls.ngettext
        watch = self

        def gettext(self_, message):
            result = watch._gettext(self_, message)
            if result == message and self_.language() == "zh-hans" and self_._catalog.get(message) is None:
                watch.misses.add(message.split("\x04")[-1])
            return result

        def ngettext(self_, singular, plural, number):
            result = watch._ngettext(self_, singular, plural, number)
            if (
                result in (singular, plural)
                and self_.language() == "zh-hans"
                and self_._catalog.get((singular, 0)) is None
            ):
                watch.misses.add(singular.split("\x04")[-1])
            return result

        cls.gettext, cls.ngettext = gettext, ngettext
        return self

    def __exit__(self, *exc):
        trans_real.DjangoTranslation.gettext, trans_real.DjangoTranslation.ngettext = self._gettext, self._ngettext
        return False


ROLES = ("admin", "director", "manager1", "rep1", "marketing")


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import transaction

    from crm.models import User
    from crm.tests.test_hostile_pages import World, _extra_records

    with django_db_blocker.unblock():
        with transaction.atomic():
            cache.clear()
            call_command("seed_demo", "--size", "small", stdout=open("/dev/null", "w"))
            users = {u.username: u for u in User.objects.filter(username__in=ROLES + ("rep2",))}
            _extra_records(users)  # a record of each kind the demo data lacks (import jobs, approvals…)
            yield World(users)
            transaction.set_rollback(True)


@pytest.mark.parametrize("role", ROLES)
def test_every_page_as_each_role_is_all_chinese(client, demo, db, role):
    from crm.tests.test_hostile_pages import page_routes, url_of

    client.force_login(demo.users[role])
    ours_only = third_party_msgids()
    problems, opened = [], 0
    with translation.override("zh-hans"), Watch() as watch:
        for route, name, params in page_routes():
            try:
                url = url_of(demo, route, name, params)
            except Exception as exc:  # a record kind the demo data lacks
                problems.append(f"{name}: no URL ({exc})")
                continue
            watch.misses.clear()
            response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
            if response.status_code >= 500:
                problems.append(f"{url}: {response.status_code}")
            opened += 1
            english = sorted(m for m in watch.misses if LETTERS.search(m) and m not in ours_only)
            if english:
                problems.append(f"{url}: {english}")
    assert opened > 100
    assert problems == [], "\n".join(problems)


def test_our_catalogue_does_not_retranslate_the_table_librarys_words():
    """A msgid of ours that the table library also translates (without a context) says the same
    thing: ours wins for the whole site, so "next" for the next approver made every table's
    next-page link read 下一位 instead of 下一页."""
    import django_tables2

    def catalog(path):
        with open(path, "rb") as handle:
            return gettext_module.GNUTranslations(handle)._catalog

    ours = catalog(BASE / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo")
    tables = catalog(Path(django_tables2.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo")
    shared = sorted(key for key in tables if isinstance(key, str) and key and key in ours)
    assert "next" in tables and tables["next"] == "下一页"
    assert [key for key in shared if ours[key] != tables[key]] == []
