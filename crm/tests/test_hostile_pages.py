"""Hostile input on every page of the browser UI, read through the Django test client.

One data set for the module (the small demo data set plus a record of each kind it lacks), in which
EVERY free text field of EVERY model — found from the models, not listed by hand — holds a formula
and the markup payloads (``<script>``, an ``onerror`` image, ``javascript:``, ``{{7*7}}``, a
``</textarea>`` breakout). Then:

* every URL pattern (``get_resolver``), its record ids filled from that data set, is opened as the
  admin, with its htmx fragments and its CSV/XLSX exports: 200, no payload as live markup, the
  Content-Security-Policy header, no inline script, no event-handler attribute, no script URL,
  JSON chart data that parses, and no export cell that a spreadsheet would run as a formula;
* every query parameter the pages send (GET forms: list filters, search boxes, dashboard periods;
  and the query keys of their links) gets SQL-looking, NUL, overlong, out-of-range and malformed
  values, as a sales rep where the rep can open the page (nothing outside the rep's scope may
  appear) and as the admin elsewhere: no server error, no reflected markup, the tables intact.

About 35 s on PostgreSQL (most of it the ~500 fuzzing requests), a bit less on SQLite.
"""

import csv
import datetime
import io
import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qsl

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, models, transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from openpyxl import load_workbook

from crm.ui import FORMULA_PREFIXES

XSS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "{{7*7}}",
    "</textarea><svg onload=alert(1)>",
)
FORMULAS = ("=cmd|' /C calc'!A0", "+1+1", "-1", "@SUM(1)")
APPS = ("crm", "customers", "sales", "coupons", "marketing", "partners", "resources", "contracts")

#: text fields that hold a code, a number, a parsed list or a system value (a payload there is not
#: something a user can type through any form, so it is no test of the pages)
NOT_FREE_TEXT = {
    "password",
    "username",
    "mobile",
    "code",
    "key",
    "prefix",
    "token_hash",
    "fingerprint",
    "url",
    "path",
    "method",
    "request_hash",
    "offsets",
    "reminder_offsets",
    "channels",
    "channel",
    "grid_class",
    "role",
    "by_rule",
    "kind",
    "source",
    "target",
    "lifecycle_stage",
    "value_segment",
    "from_stage",
    "to_stage",
}
#: models that hold derived figures or protocol state, not text anyone types
NOT_TYPED = {"crm.IdempotencyRecord", "customers.RollupRun", "coupons.Coupon", "marketing.TrackingLink"}


def hostile_text(max_length, index):
    """A formula (one of four, by ``index``) then every markup payload, cut to ``max_length`` with
    the index kept at the end (so unique fields stay unique)."""
    suffix = f"#{index}"
    text = FORMULAS[index % len(FORMULAS)] + " " + "".join(XSS)
    if max_length:
        text = text[: max_length - len(suffix)]
    return text + suffix


def free_text_fields(model):
    """The model's text fields a user fills in freely (no choices, no format)."""
    fields = []
    for field in model._meta.concrete_fields:
        if not isinstance(field, (models.CharField, models.TextField)) or isinstance(
            field, (models.EmailField, models.URLField, models.SlugField)
        ):
            continue
        if field.choices or not field.editable or field.name in NOT_FREE_TEXT:
            continue
        if field.max_length is not None and field.max_length < 30:
            continue
        fields.append(field)
    return fields


def hostile_models():
    """(model, its free text fields) for every model of the project's apps that has any."""
    for app in APPS:
        for model in apps.get_app_config(app).get_models():
            if model._meta.label in NOT_TYPED or model.__name__.endswith("Rollup") or not model._meta.managed:
                continue
            fields = free_text_fields(model)
            if fields:
                yield model, fields


def _payload(index=0, length=100):
    return hostile_text(length, index)


def _extra_records(users):
    """Records the small demo data set has none of, made through the services where they exist."""
    from coupons.models import Alert, Batch, BudgetAccount, Compensation
    from coupons.services.subsidy_plans import save_version
    from crm import notifications
    from crm import services as org_services
    from crm.approvals import services as approvals
    from customers import imports as customer_imports
    from customers.models import CustomAttribute, Customer, OwnershipChange, Tag, TagRule
    from marketing.models import Campaign as MarketingCampaign
    from marketing.models import ContentItem, Segment, Touch
    from marketing.services import segments
    from marketing.views.content import _rep_link
    from sales import imports as lead_imports
    from sales.models import Opportunity, OpportunityStage, Report, ServiceTicket, Task

    admin, rep = users["admin"], users["rep1"]
    now = timezone.now()
    customer = Customer.objects.filter(owner=rep).order_by("pk").first()
    notifications.notify(recipient=admin, title=_payload(), body=_payload(1), url=customer.get_absolute_url())
    client = org_services.create_api_client(actor=admin, name=_payload(2), description=_payload(3))
    org_services.issue_token(client=client, scopes=["leads"], name=_payload())
    attribute = CustomAttribute.objects.create(key="hostile", label=_payload(), kind=CustomAttribute.Kind.TEXT)
    Customer.objects.filter(pk=customer.pk).update(custom={attribute.key: _payload(1)})
    TagRule.objects.create(
        name=_payload(), tag=Tag.objects.order_by("pk").first(), query="q=' OR 1=1 --&region=<script>alert(1)</script>"
    )
    OwnershipChange.objects.create(
        customer=customer, from_owner=users["rep2"], to_owner=rep, note=_payload(), changed_by=admin
    )
    for imports, columns, extra in (
        (customer_imports, "name,mobile,region,notes,owner", {"kind": "customers"}),
        (lead_imports, "name,mobile,region,need,note,owner", {}),
    ):
        # four good rows, then one that names an owner nobody is: the job is invalid, its
        # preview and its error list both repeat the text
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns.split(","))
        for i in range(5):
            writer.writerow(
                [
                    f"1380013{i:04d}"
                    if c == "mobile"
                    else _payload(5)
                    if c == "owner" and i == 4
                    else ""
                    if c == "owner"
                    else _payload(i)
                    for c in columns.split(",")
                ]
            )
        imports.start_import(user=admin, file_name=_payload(6) + ".csv", data=buffer.getvalue().encode(), **extra)
    from catalog.services import imports as catalogue_imports

    buffer = io.StringIO()  # a catalogue file with a bad price: its row report repeats the text
    csv.writer(buffer).writerows(
        [
            ["product_code", "product_name", "category", "sku_code", "list_price"],
            ["P-1", _payload(1, 90), _payload(2, 90), "S-1", _payload(3)],
        ]
    )
    catalogue_imports.start_import(user=admin, file_name=_payload(7) + ".csv", data=buffer.getvalue().encode())
    opportunity = Opportunity.objects.filter(owner=rep).order_by("pk").first()
    stage = OpportunityStage.objects.exclude(approval_role="").order_by("position").first()
    if stage is None:
        stage = OpportunityStage.objects.order_by("position").last()
        OpportunityStage.objects.filter(pk=stage.pk).update(approval_role="manager")
    request = approvals.request_approval(
        kind="opportunity_control_point", obj=opportunity, requester=rep, key=f"stage:{stage.pk}"
    )
    approvals.decide_current(
        request=request,
        actor=request.steps.get(position=1).assignees.first().approver,
        approve=True,
        comment=_payload(),
    )
    Task.objects.create(
        title=_payload(),
        description=_payload(1),
        assignee=admin,
        customer=customer,
        due_at=now + datetime.timedelta(days=1),
        created_by=admin,
    )
    Task.objects.create(title=_payload(2), assignee=rep, customer=customer, created_by=admin)
    ServiceTicket.objects.create(
        customer=customer, title=_payload(), description=_payload(1), owner=rep, due_at=now + datetime.timedelta(days=2)
    )
    Report.objects.create(user=rep, kind=Report.Kind.choices[0][0], start=timezone.localdate(), note=_payload())
    Compensation.objects.create(
        customer=customer,
        complaint=_payload(),
        amount=Decimal("20"),
        reason=_payload(1),
        status=Compensation.Status.REVIEW,
        review_reasons=[_payload(2)],
        requested_by=rep,
    )
    batch = Batch.objects.order_by("pk").first()
    Alert.objects.create(kind=Alert.Kind.LOW_STOCK, batch=batch, message=_payload(), day=timezone.localdate())
    Alert.objects.create(
        kind=Alert.Kind.LOW_BALANCE,
        account=BudgetAccount.objects.order_by("pk").first(),
        message=_payload(1),
        day=timezone.localdate(),
    )
    # text inside JSON: a segment condition, a subsidy plan's ids and names, a content share link
    # (a region condition in text, as saved before regions became codes: shown, and matching nobody)
    hostile = segments.save_segment(
        actor=users["marketing"],
        segment=Segment(name=_payload()),
        definition={
            "match": "all",
            "groups": [{"match": "all", "conditions": [{"field": "region", "op": "in_region", "value": "310000"}]}],
        },
    )
    Segment.objects.filter(pk=hostile.pk).update(
        definition={
            "match": "all",
            "groups": [{"match": "all", "conditions": [{"field": "region", "op": "contains", "value": _payload(1)}]}],
        }
    )
    plan_rows = [
        {"id": _payload(i, 60), "name": _payload(i + 1), "conversion": "0.1", "repurchase": "0.2", "aov": "100"}
        for i in range(3)
    ]
    save_version(
        actor=users["marketing"],
        name=_payload(),
        columns=["id", "name", "conversion", "repurchase", "aov"],
        rows=plan_rows,
        a=5,
        b=50,
        t=1,
        weights={"conversion": 1, "repurchase": 1, "aov": 1},
        source_name=_payload(2) + ".csv",
        note=_payload(3),
    )
    _rep_link(ContentItem.objects.order_by("pk").first(), rep, customer)
    campaign = MarketingCampaign.objects.order_by("pk").first()
    Touch.objects.create(
        campaign=campaign,
        kind=Touch.Kind.INVITATION,
        channel="sms",
        subject=_payload(),
        body=_payload(1),
        event=campaign.events.first(),
        created_by=users["marketing"],
    )
    from contracts.models import DunningLevel

    # the company's plan (seeded by a migration; gone when a transactional test emptied the tables)
    DunningLevel.objects.get_or_create(instalment=None, offset_days=1, channel="preference")


def make_everything_hostile():
    """Fill every free text field of every record with the payloads, by queryset update: row ``pk``
    gets the formula ``FORMULAS[pk % 4]``, every markup payload (as much as the field holds) and
    ``#pk`` (so that unique fields stay unique)."""
    from django.db.models import Value
    from django.db.models.functions import Cast, Concat

    for model, fields in hostile_models():
        queryset = model._default_manager.all()
        ids = list(queryset.values_list("pk", flat=True))
        for index in range(len(FORMULAS)):
            group = [pk for pk in ids if pk % len(FORMULAS) == index]
            if not group:
                continue
            updates = {}
            for field in fields:
                head = hostile_text(field.max_length and field.max_length - 8, index).rsplit("#", 1)[0]
                updates[field.name] = Concat(
                    Value(head + "#"), Cast("pk", models.TextField()), output_field=models.TextField()
                )
            for start in range(0, len(group), 1000):
                queryset.filter(pk__in=group[start : start + 1000]).update(**updates)


def build_world():
    """The demo data set, the missing kinds of records, then the payloads in every text field.
    Returns the demo users by username."""
    from django.core.cache import cache

    from crm.models import User

    cache.clear()  # figures another module's data left in the (local memory) cache
    assert not User.objects.filter(username="admin").exists(), "the demo data set needs an empty database"
    call_command("seed_demo", "--size", "small", stdout=io.StringIO())
    users = {
        u.username: u
        for u in User.objects.filter(username__in=["admin", "director", "manager1", "rep1", "rep2", "marketing"])
    }
    _extra_records(users)
    make_everything_hostile()
    return users


def routes():
    """(route, name, kwarg names) of every URL pattern."""

    def walk(patterns, prefix="", namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(n for n in (namespace, pattern.namespace) if n) or None
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                name = ":".join(n for n in (namespace, pattern.name) if n)
                yield prefix + str(pattern.pattern), name, tuple(pattern.pattern.converters)

    return list(walk(get_resolver().url_patterns))


#: which record fills a URL parameter, by the path before it (the longest match wins); every
#: ``customer_pk`` is a customer. A new page with a new kind of record needs a line here.
C, L, O = "customers.Customer", "sales.Lead", "sales.Opportunity"  # noqa: E741
PATH_MODELS = {
    "notifications/": "crm.Notification",
    "departments/": "crm.Department",
    "users/": "crm.User",
    "api-clients/": "crm.ApiClient",
    "api-tokens/": "crm.ApiToken",
    "customers/": C,
    "relations/": "customers.CustomerRelation",
    "orders/": "customers.Order",
    "customers/import/": "customers.ImportJob",
    "tags/groups/": "customers.TagGroup",
    "tags/": "customers.Tag",
    "tags/rules/": "customers.TagRule",
    "attributes/": "customers.CustomAttribute",
    "sources/": "customers.LeadSource",
    "audit/": "auditlog.LogEntry",
    "leads/": L,
    "leads/import/": "sales.LeadImportJob",
    "opportunities/": O,
    "opportunities/stages/": "sales.OpportunityStage",
    "approvals/": "crm.ApprovalRequest",
    "reminders/": "sales.Reminder",
    "tasks/": "sales.Task",
    "tickets/": "sales.ServiceTicket",
    "reports/": "sales.Report",
    "rules/scoring/": "sales.ScoringRule",
    "rules/assignment/": "sales.AssignmentRule",
    "rules/pool/": "sales.PoolRule",
    "budgets/": "coupons.BudgetAccount",
    "coupons/campaigns/": "coupons.Campaign",
    "batches/": "coupons.Batch",
    "compensations/": "coupons.Compensation",
    "subsidy/": "coupons.SubsidyPlan",
    "marketing/campaigns/": "marketing.Campaign",
    "events/": "marketing.Event",
    "registrations/": "marketing.Registration",
    "touches/": "marketing.Touch",
    "segments/": "marketing.Segment",
    "content/": "marketing.ContentItem",
    "plans/": "marketing.NurturePlan",
    "catalog/products/": "catalog.Product",
    "catalog/skus/": "catalog.Sku",
    "catalog/categories/": "catalog.Category",
    "catalog/policies/": "catalog.SalesPolicy",
    "catalog/entitlements/": "catalog.Entitlement",
    "catalog/import/": "catalog.ProductImport",
    "contracts/": "contracts.Contract",
    "contracts/attachments/": "contracts.ContractAttachment",
    "contracts/competitors/": "contracts.Competitor",
    "contracts/instalments/": "contracts.Instalment",
    "contracts/dunning-levels/": "contracts.DunningLevel",
    "cdp/merge-suggestions/": "cdp.MergeSuggestion",
    "members/": "members.Member",
    "members/tiers/": "members.Tier",
    "members/earn-rules/": "members.EarnRule",
    "members/offers/": "members.PointsOffer",
    "contracts/opportunities/": O,
    "field/visits/": "field.Visit",
    "settings/sites/": "field.WorkSite",
    "settings/hours/": "field.WorkHours",
    "partners/": "partners.Partner",
    "partners/rules/": "partners.CommissionRule",
    "partners/statements/": "partners.Statement",
    "portal/statements/": "partners.Statement",
    "portal/registrations/": "partners.LeadRegistration",
    "partners/rebates/": "partners.RebatePlan",
    "resources/classes/": "resources.SchoolClass",
    "resources/enrolments/": "resources.Enrolment",
    "resources/sessions/": "resources.Session",
    "resources/opportunities/": O,
    "resources/trials/": "resources.TrialLesson",
    "resources/courses/": "resources.Course",
    "resources/teachers/": "resources.Teacher",
    "resources/rooms/": "resources.Room",
    "resources/holidays/": "resources.Holiday",
}
#: parameters that are not a record's id
URL_ARGS = {
    "kind": lambda world: "customers",  # an import sample
    "number": lambda world: 1,  # a subsidy plan's version
    "action": lambda world: "submit",  # POST-only actions
    "token": lambda world: world.message_token,  # a marketing message's tracked link
    "code": lambda world: world.link_code,  # a rep's tracked link
    "approval_kind": lambda world: "coupon_batch",  # an approval chain
}


def model_for(route, param):
    """The model label whose id fills ``param`` of ``route`` (None when no rule matches)."""
    if param == "customer_pk":
        return C
    before = route[: route.index(f":{param}>")].rsplit("<", 1)[0]
    matches = [path for path in PATH_MODELS if before.endswith(path)]
    return PATH_MODELS[max(matches, key=len)] if matches else None


#: query strings some pages need (they are opened from a record's page)
URL_QUERY = {
    "sales:followup_create": lambda world: f"?customer={world.first(C)}",
    "sales:opportunity_create": lambda world: f"?customer={world.first(C)}",
    "coupons:subsidy_use": lambda world: f"?campaign={world.first('coupons.Campaign')}",
    "customers:region_picker": lambda world: "?name=region&region_0=330000&region_1=330100",
    "agenda:items": lambda world: world.calendar_window,  # the calendar's own data request
}
#: pages that are not the browser UI: the API (tested by its own suite), Django's admin, and WeCom's
#: sign-in hand-over and callback (machine endpoints, absent until WeCom is configured; field/tests/test_wecom.py)
NOT_PAGES = (
    "api/",
    "django-admin/",
    "field/wecom/start/",
    "field/wecom/oauth/",
    "field/wecom/callback/",
    "healthz",
    "metrics",
    # the partner portal answers partner users only: its pages are walked in partners/tests/test_portal.py
    # and the partner persona days
    "portal/",
    # the calendar feed: an iCal file (text/calendar) that calendar programs fetch with the secret
    # in its address, no session and no HTML (agenda/tests/test_calendar.py reads it)
    "calendar/feed/<str:token>.ics",
)
#: the records that fill the URLs: the richest one of each kind (others: the first by id)
PICK = {
    C: {"owner__username": "rep1"},
    O: {"owner__username": "rep1"},
    L: {"owner__username": "rep1"},
    "marketing.Touch": {"status": "draft"},
    "contracts.DunningLevel": {"instalment__isnull": True},  # the company's levels (an admin page)
    "coupons.SubsidyPlan": {"versions__source_name__contains": "alert"},
    "crm.Notification": {"recipient__username": "admin"},  # the demo's approval requests notify others first
    "field.Visit": {"user__username": "rep1", "photo__gt": ""},  # the demo's visit with a photo
}


class World:
    """The hostile data set and the records that fill the URLs."""

    def __init__(self, users):
        self.users = users
        self._first = {}

    def first(self, label):
        if label not in self._first:
            model = apps.get_model(label)
            self._first[label] = (
                model._default_manager.filter(**PICK.get(label, {})).order_by("pk").values_list("pk", flat=True).first()
            )
        return self._first[label]

    @property
    def message_token(self):
        from marketing import tracking
        from marketing.models import Message

        return tracking.encode("m", Message.objects.filter(touch__isnull=False).order_by("pk").first().pk)

    @property
    def calendar_window(self):
        """The calendar's data request for the weeks around today (its tasks and reminders)."""
        today = timezone.localdate()
        start, end = today - datetime.timedelta(days=7), today + datetime.timedelta(days=28)
        return f"?start={start.isoformat()}T00:00:00&end={end.isoformat()}T00:00:00"

    @property
    def link_code(self):
        from marketing.models import TrackingLink

        return TrackingLink.objects.order_by("pk").first().code


def page_routes():
    """Every URL pattern of the browser UI."""
    return [(route, name, params) for route, name, params in routes() if not route.startswith(NOT_PAGES)]


def url_of(world, route, name, params):
    """The URL of a pattern, its parameters filled from the hostile data set."""
    kwargs = {}
    for param in params:
        kwargs[param] = URL_ARGS[param](world) if param in URL_ARGS else world.first(model_for(route, param))
    query = URL_QUERY.get(name)
    return reverse(name, kwargs=kwargs) + (query(world) if query else "")


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module (about 3 s) inside a transaction that is rolled back at the end;
    each test runs in its own savepoint inside it."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            users = build_world()
            # fire the deferred foreign-key checks of the build now, once: each test's teardown
            # checks the constraints that are still pending (all of them, 200 times over)
            connection.check_constraints()
            yield World(users)
            transaction.set_rollback(True)


# --- reading a response ------------------------------------------------------------------------

#: the payloads as live markup: none may reach a page unescaped
RAW_MARKUP = ("<script>alert(1)", "<img src=x onerror", "<svg onload", "</textarea><svg", "alert(1)49")
#: the payload as a page shows it when escaped (HTML, or JSON inside a json_script block)
ESCAPED = ("&lt;script&gt;alert(1)", "\\u003Cscript\\u003Ealert(1)")
URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "formaction",
    "srcdoc",
    "xlink:href",
    "poster",
    "ping",
    "background",
    "hx-get",
    "hx-post",
    "hx-put",
    "hx-patch",
    "hx-delete",
}
DANGEROUS_SCHEMES = re.compile(r"^\s*(javascript|vbscript|data\s*:\s*text/html)", re.IGNORECASE)


class PageAudit(HTMLParser):
    """What a page holds that a Content-Security-Policy without 'unsafe-inline' would block or
    that would run script: inline scripts, event-handler attributes, script URLs. Also collects the
    page's htmx fragments, export links, JSON data blocks and GET forms."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.problems, self.fragments, self.exports, self.json_blocks, self.forms = [], set(), set(), [], []
        self.links, self.hx_fields = set(), {}
        self._script = None
        self._form = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = [(name.lower(), value or "") for name, value in attrs]
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> (event handler attribute)")
            if (
                name in URL_ATTRIBUTES or (name.startswith("data-") and ("url" in name or "drill" in name))
            ) and DANGEROUS_SCHEMES.match(value):
                self.problems.append(f"<{tag} {name}={value[:40]!r}> (script URL)")
        if tag == "script":
            self._script = (values, [])
        if values.get("hx-get", "").startswith("/"):
            self.fragments.add(values["hx-get"])
            if values.get("name"):  # an input that asks for a fragment with its own value
                self.hx_fields.setdefault(values["hx-get"], {})[values["name"]] = values.get("type", tag)
        if tag == "a" and values.get("href"):
            self.links.add(values["href"])
        if tag == "a" and "export=" in values.get("href", ""):
            self.exports.add(values["href"])
        if values.get("href", "").startswith("??"):
            self.problems.append(f"<{tag} href={values['href'][:40]!r}> (a broken link: two '?')")
        if tag == "form" and values.get("method", "get").lower() == "get":
            self._form = {"action": values.get("action", ""), "fields": {}}
            self.forms.append(self._form)
        if self._form is not None and tag in ("input", "select", "textarea") and values.get("name"):
            if values.get("type") not in ("submit", "button", "hidden"):
                self._form["fields"].setdefault(values["name"], values.get("type", tag))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        if tag == "script" and self._script is not None:
            values, parts = self._script
            text = "".join(parts).strip()
            if values.get("type") == "application/json":
                self.json_blocks.append(text)
            elif text or not values.get("src", "").startswith("/") or values["src"].startswith("//"):
                self.problems.append(f"inline or foreign <script> {values} {text[:60]!r}")
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script[1].append(data)


def _formatter_problems(value, path="$"):
    """Chart options: a tooltip or label ``formatter`` is HTML in ECharts, so user text must never
    be part of it."""
    problems = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "formatter" and isinstance(item, str) and any(p in item for p in ("alert(1)", "<img", "<svg")):
                problems.append(f"{path}.formatter holds user text: {item[:60]!r}")
            problems += _formatter_problems(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problems += _formatter_problems(item, f"{path}[{index}]")
    return problems


def html_problems(response):
    """Why ``response`` (HTML) is unsafe: [] when the payloads are all escaped and the page passes
    the Content-Security-Policy."""
    problems = []
    policy = response.get("Content-Security-Policy", "")
    script_src = re.search(r"script-src ([^;]*)", policy)
    if not script_src or "'self'" not in script_src.group(1) or "unsafe" in script_src.group(1):
        problems.append(f"Content-Security-Policy without a strict script-src: {policy!r}")
    html = response.content.decode()
    problems += [f"unescaped payload {marker!r}" for marker in RAW_MARKUP if marker in html]
    audit = PageAudit(html)
    problems += audit.problems
    for block in audit.json_blocks:
        if "<" in block:
            problems.append(f"a JSON data block holds a raw '<': {block[:80]!r}")
        try:
            problems += _formatter_problems(json.loads(block))
        except ValueError:
            problems.append(f"a JSON data block does not parse: {block[:80]!r}")
    return problems, audit


def export_problems(response):
    """Cells of a CSV or XLSX export that a spreadsheet would run as a formula."""
    content_type = response["Content-Type"]
    if "csv" in content_type:
        data = b"".join(response.streaming_content) if response.streaming else response.content
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    elif "spreadsheet" in content_type:
        sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    else:
        return [f"an export answered {content_type}"], []
    problems = []
    for row in rows:
        for cell in row:
            if isinstance(cell, str) and cell.startswith(FORMULA_PREFIXES) and not _is_number(cell):
                problems.append(f"formula cell {cell[:40]!r}")
    return problems, rows


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_export(client, url):
    """An export link answers a CSV or XLSX file without a live formula in it."""
    response = client.get(url)
    if response.status_code != 200:
        return [f"{url}: {response.status_code}"]
    problems, _rows = export_problems(response)
    return [f"{url}: {p}" for p in problems]


def check_page(client, url, seen=None, **headers):
    """GET ``url``, its htmx fragments and its exports: (the problems found, the pages' HTML)."""
    seen = set() if seen is None else seen
    seen.add(url.split("?")[0])
    response = client.get(url, **headers)
    if response.status_code != 200:
        return [f"{url}: {response.status_code}"], ""
    if not response["Content-Type"].startswith("text/html"):
        return [], ""
    page_problems, audit = html_problems(response)
    problems = [f"{url}: {p}" for p in page_problems]
    html = response.content.decode()
    for fragment in sorted(audit.fragments):
        if fragment.split("?")[0] not in seen:  # a fragment's own "more" and polling links: once
            more, fragment_html = check_page(client, fragment, seen, HTTP_HX_REQUEST="true")
            problems += more
            html += fragment_html
    for export in sorted(audit.exports):
        problems += check_export(client, export if export.startswith("/") else url.split("?")[0] + export)
    return problems, html


# --- every page --------------------------------------------------------------------------------

PAGES = page_routes()
#: GET answers a redirect on these (the test follows it): the login page of a signed-in user, a
#: notification that opens its record, a tracked link, the language switch, "use this version"
REDIRECTS = {"login", "notification_open", "set_language", "track:open", "track:link", "coupons:subsidy_use"}
#: files that hold no user data: the import samples, the translation catalogue (JavaScript)
STATIC_FILES = {"customers:import_sample", "sales:lead_import_sample", "javascript-catalog"}
#: pages with a record in the URL that show none of its text: a sample file, progress bars, a
#: tracking pixel
NO_RECORD_TEXT = {
    "customers:import_sample",
    "customers:import_progress",
    "sales:lead_import_progress",
    "coupons:batch_progress",
    "track:pixel",
    "coupons:batch_codes_export",  # the codes of a batch, not its name
    "field:visit_photo",
    "contracts:attachment",
}  # a contract's scanned file, a visit's photo
#: the admin's pages as the page test reads them (url -> HTML, None when not a page): the
#: parameter harvest of the SQL test below reads them from here instead of fetching them again
PAGE_HTML = {}


#: the records a user types most text into: each kind must be in the data set, payloads and all
TYPED_MODELS = (
    "crm.Department",
    "crm.User",
    "customers.Customer",
    "customers.CustomerRelation",
    "customers.TagGroup",
    "customers.Tag",
    "customers.CustomAttribute",
    "customers.Order",
    "customers.OrderLine",
    "customers.Satisfaction",
    "sales.Lead",
    "sales.Opportunity",
    "sales.FollowUp",
    "sales.Reminder",
    "sales.Task",
    "sales.ServiceTicket",
    "crm.ApprovalRequest",
    "crm.ApprovalStep",
    "coupons.FiscalPeriod",
    "coupons.BudgetAllocation",
    "coupons.Campaign",
    "coupons.Batch",
    "coupons.Compensation",
    "coupons.SubsidyPlan",
    "marketing.Segment",
    "marketing.Campaign",
    "marketing.Event",
    "marketing.Registration",
    "marketing.ContentItem",
    "marketing.Touch",
    "marketing.NurturePlan",
    "marketing.NurtureStep",
)


def test_every_free_text_field_holds_the_payloads(world, db):
    fields = dict(hostile_models())
    for label in TYPED_MODELS:
        model = apps.get_model(label)
        assert model in fields, f"{label} has no free text field any more"
        for row in model._default_manager.values(*[field.name for field in fields[model]]):
            assert all("<script>alert(1)" in value for value in row.values()), (label, row)
        assert model._default_manager.exists(), f"the hostile data set has no {label}"
    customs = apps.get_model(C)._default_manager.values_list("custom", flat=True)
    assert any("<script>alert(1)" in (custom or {}).get("hostile", "") for custom in customs)  # an attribute


def test_every_url_parameter_is_filled_from_a_hostile_record(world, db):
    unmapped = [
        (route, param)
        for route, _name, params in PAGES
        for param in params
        if param not in URL_ARGS and model_for(route, param) is None
    ]
    assert not unmapped, "add these to PATH_MODELS: %s" % unmapped
    empty = {model_for(route, p) for route, _n, params in PAGES for p in params if p not in URL_ARGS}
    assert all(world.first(label) for label in empty), [label for label in empty if not world.first(label)]


@pytest.mark.parametrize("route,name,params", PAGES, ids=[name or route for route, name, _p in PAGES])
def test_page_shows_hostile_text_escaped_and_passes_the_csp(world, client, db, route, name, params):
    client.force_login(world.users["admin"])
    url = original = url_of(world, route, name, params)
    response = client.get(url)
    if response.status_code == 405:  # a form's POST target: GET is refused (no page, nothing to show)
        assert "Content-Security-Policy" in response
        return
    if response.status_code == 302:
        assert name in REDIRECTS, f"{url} redirects to {response.url}"
        url = response.url
        if not url.startswith("/"):
            return  # to the content's own site
        response = client.get(url)
    if response.status_code == 200 and not response["Content-Type"].startswith("text/html"):
        html = ""  # a file: an import's error list (checked like an export), a sample, a pixel, a script
        if name not in STATIC_FILES and ("csv" in response["Content-Type"] or "sheet" in response["Content-Type"]):
            problems, rows = export_problems(response)
            assert not problems, problems
            html = json.dumps(rows, default=str).replace("<", "\\u003C").replace(">", "\\u003E")
    else:
        problems, html = check_page(client, url)
        assert not problems, "\n".join(problems)
        PAGE_HTML[original] = html if url == original else None
    if params and name not in NO_RECORD_TEXT:  # a record's page shows the record's (hostile) text
        assert any(marker in html for marker in ESCAPED), f"{url} shows none of the hostile text"


@pytest.mark.parametrize("username", ["rep1", "manager1", "director", "marketing"])
def test_home_page_of_every_role_shows_hostile_text_escaped(world, client, db, username):
    """Each role has its own home page (a rep's day, a manager's team, marketing's campaigns)."""
    client.force_login(world.users[username])
    problems, html = check_page(client, "/")
    assert not problems, "\n".join(problems)
    assert any(marker in html for marker in ESCAPED)


# --- SQL-looking input in every filter ---------------------------------------------------------

SQL = ("' OR 1=1 --", "1; DROP TABLE customers_customer", "%' UNION SELECT password FROM crm_user --")
#: each parameter alone (the page's other parameters as its own links set them: a list's filter
#: form refuses the whole query when one field is invalid, so each field is tried on its own)
EVERY_PARAMETER = (" ".join(SQL) + '"><script>alert(1)</script>',)
TEXT_PARAMETER = SQL + ("\x00", "x" * 5000)  # and text fields (search boxes) these as well
LINK_PARAMETER = ("javascript:alert(1)",)  # and what links carry (it may end up in a link)
#: every parameter of a list page's filter form at once (numbers, dates, choices refuse them)
HUGE = "99999999999999999999"
ALL_AT_ONCE = ("\x00", "2024-02-30", "-1", HUGE, "1e999999")
TEXT_INPUTS = ("text", "search", "input", "textarea")
OUTSIDE = "OUTSIDE-SCOPE"


def harvest_parameters(client, urls):
    """{path: (base query, {parameter: kind})} for the parameters the pages send: the fields of
    every GET form (a list's filters, a search box, a dashboard's period) and the query keys of
    every link to a page of this site (sorting, paging, tabs, "new follow-up for this customer")."""
    found = {}
    for url in urls:
        if url not in PAGE_HTML:
            response = client.get(url)
            ok = response.status_code == 200 and response["Content-Type"].startswith("text/html")
            PAGE_HTML[url] = response.content.decode() if ok else None
        if PAGE_HTML[url] is None:
            continue
        audit = PageAudit(PAGE_HTML[url])
        for form in audit.forms:
            target = (form["action"] or url).split("?")[0]
            if target.startswith("/"):
                found.setdefault(target, ({}, {}))[1].update(form["fields"])
        for target, fields in audit.hx_fields.items():
            found.setdefault(target.split("?")[0], ({}, {}))[1].update(fields)
        for link in audit.links | audit.fragments:
            target, _mark, query = (url.split("?")[0] + link if link.startswith("?") else link).partition("?")
            if (
                not query
                or not target.startswith("/")
                or target.startswith("//")
                or "export=" in query
                or target.endswith("/export/")
            ):  # a file download (checked by check_export), not a page
                continue
            base, params = found.setdefault(target, ({}, {}))
            for key, value in parse_qsl(query, keep_blank_values=True):
                base.setdefault(key, value)
                params.setdefault(key, "link")
    return found


def attempts(base, params, *, list_page):
    """The queries to send: each parameter alone with each hostile value, then all at once."""
    for param, kind in sorted(params.items()):
        values = (
            EVERY_PARAMETER
            + (TEXT_PARAMETER if kind in TEXT_INPUTS else ())
            + (LINK_PARAMETER if kind == "link" else ())
        )
        for value in values:
            yield {**base, param: value}
    if list_page:
        for value in ALL_AT_ONCE:
            if value == HUGE and connection.vendor == "sqlite":
                # SQLite cannot bind an integer beyond 64 bits, and Django range-checks ``pk=``
                # but not ``pk__in=`` (a tag filter, the merge page): a server error on the
                # development database only; PostgreSQL compares it and finds nothing
                continue
            yield dict.fromkeys(params, value)


def mark_outside_scope(user):
    """Every record ``user`` may not see gets OUTSIDE-SCOPE in its text (so a leak is visible)."""
    from crm import permissions

    for model, fields in hostile_models():
        if hasattr(model, "scope_owner_field"):
            hidden = model._default_manager.exclude(pk__in=permissions.visible(user, model._default_manager.all()))
            shared = {field.name: f"{OUTSIDE}-{model.__name__}" for field in fields if not field.unique}
            if shared:  # a unique field (a contract's number) cannot hold one text on every record
                hidden.update(**shared)


def fuzz(client, path, base, params, *, scoped):
    """GET ``path`` with hostile values in ``params``: the problems found. ``scoped``: the user
    sees part of the data, and no answer may show more of what is outside it than the page does."""

    def text(response):  # an export streams its rows; an XLSX file is zipped (its leaks are checked elsewhere)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return body.decode(errors="replace")

    baseline = max(text(client.get(path)).count(OUTSIDE), text(client.get(path, base)).count(OUTSIDE))
    problems = []
    for query in attempts(base, params, list_page=not any(ch.isdigit() for ch in path)):
        response = client.get(path, query)
        changed = {k: v for k, v in query.items() if base.get(k) != v}
        shown = f"{path}?{'&'.join(sorted(changed))}={next(iter(changed.values()), '')[:30]!r}"
        if response.status_code >= 500:
            problems.append(f"{shown}: {response.status_code}")
        elif response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            page_problems, _audit = html_problems(response)
            problems += [f"{shown}: {p}" for p in page_problems]
            if scoped and response.content.decode().count(OUTSIDE) > baseline:
                problems.append(f"{shown}: shows records outside the user's scope")
    return problems


@pytest.fixture(scope="module")
def parameters(world, django_db_blocker):
    """The query parameters of every page, read as the admin."""
    from django.test import Client

    client = Client()
    with django_db_blocker.unblock():
        client.force_login(world.users["admin"])
        urls = [
            url_of(world, route, name, params)
            for route, name, params in PAGES
            if name not in ("logout", "set_language")
        ]
        return harvest_parameters(client, urls)


def test_sql_looking_input_in_any_parameter_breaks_nothing_and_leaks_nothing(world, parameters, client, db):
    from customers.models import Customer

    tables, customers = set(connection.introspection.table_names()), Customer.objects.count()
    rep, admin = world.users["rep1"], world.users["admin"]
    mark_outside_scope(rep)
    client.force_login(admin)
    assert OUTSIDE in client.get("/customers/").content.decode()  # the admin sees them, the rep does not:
    client.force_login(rep)
    assert OUTSIDE not in client.get("/customers/").content.decode()  # the rep's pages can show a leak
    client.raise_request_exception = False  # a server error is a finding to list, not the end
    problems, fuzzed = [], 0
    for path, (base, params) in sorted(parameters.items()):
        client.force_login(rep)
        scoped = client.get(path, base).status_code not in (403, 404)
        if not scoped:  # not the rep's page: fuzzed as the admin
            client.force_login(admin)
        problems += fuzz(client, path, base, params, scoped=scoped)
        fuzzed += len(params)
    assert fuzzed >= 150 and not problems, "\n".join(problems)
    assert set(connection.introspection.table_names()) == tables and Customer.objects.count() == customers


# --- regressions of what these tests found ------------------------------------------------------


def test_list_export_buttons_download_the_filtered_rows_with_formulas_neutralized(world, client, db):
    """The buttons read ``href="??export=csv"`` (Django 5.2's own ``{% querystring %}`` starts with
    "?") and gave the HTML list back instead of a file."""
    client.force_login(world.users["admin"])
    page = client.get("/customers/", {"kind": "individual"}).content.decode()
    links = sorted(PageAudit(page).exports)
    assert links == ["?kind=individual&export=csv", "?kind=individual&export=xlsx"]
    for link in links:
        response = client.get("/customers/" + link)
        problems, rows = export_problems(response)
        assert not problems
        names = [row[0] for row in rows[1:]]
        assert {name[:5] for name in names} == {"'=cmd", "'+1+1", "'-1 <", "'@SUM"}  # every formula, inert


def test_the_pools_next_link_opens_the_next_page(world, client, db):
    """The same ``??page=2`` made "Next" show the first page again (the pool and the task list)."""
    client.force_login(world.users["admin"])
    page = client.get("/sales/pool/", {"tab": "customers"}).content.decode()
    assert re.findall(r'class="page-link" href="([^"]*)"', page) == ["?tab=customers&amp;page=2"]
    second = client.get("/sales/pool/", {"tab": "customers", "page": "2"}).content.decode()
    assert 'href="?tab=customers&amp;page=1"' in second


def test_a_page_size_in_the_url_is_one_the_list_offers(world, client, db):
    """``?per_page=-1`` was a server error and ``?per_page=100000`` put every row on one page."""
    client.force_login(world.users["admin"])
    assert client.get("/customers/", {"per_page": "-1"}).status_code == 200
    page = client.get("/customers/", {"per_page": "100000"}).content.decode()
    assert page.count('name="selection"') == 20


@pytest.mark.parametrize(
    "path", ["/search/", "/sales/pool/", "/sales/tickets/new/", "/customers/{customer}/relations/candidates/"]
)
def test_a_nul_character_in_a_search_box_finds_nothing_instead_of_failing(world, client, db, path):
    client.force_login(world.users["admin"])
    response = client.get(path.format(customer=world.first(C)), {"q": "\x00"})
    assert response.status_code == 200


def test_new_touch_form_ignores_an_event_id_that_is_not_a_number(world, client, db):
    client.force_login(world.users["admin"])
    response = client.get(
        f"/marketing/campaigns/{world.first('marketing.Campaign')}/touches/new/", {"event": "1 OR 1=1"}
    )
    assert response.status_code == 200


def test_tag_forms_cancel_link_never_leaves_the_site(world, client, db):
    client.force_login(world.users["admin"])
    for back in ("javascript:alert(1)", "https://evil.example/"):
        page = client.get("/customers/tags/groups/new/", {"back": back}).content.decode()
        assert 'href="/customers/tags/"' in page and f'href="{back}"' not in page
    page = client.get("/customers/tags/new/", {"back": "/customers/tags/?x=1"}).content.decode()
    assert 'href="/customers/tags/?x=1"' in page
