"""Hostile input against the integration API. schemathesis reads the OpenAPI schema served at
``/api/schema/`` and sends every operation generated requests — schema-valid ones, schema-breaking
ones, and valid-looking ones aimed at real records — with a token holding every scope, a token per
single scope, no token and garbled Authorization headers. Every answer must be a documented status
(never a 5xx), JSON, and match the schema; a token without the operation's scope is always 403 and
a missing or bad one always 401, whatever the request.

The regression tests at the end pin what the fuzzing found."""

import json
import os
import re
import sys
import traceback
from collections import Counter
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.signals import got_request_exception
from django.db import transaction
from django.test.client import ClientHandler
from django.urls import Resolver404, resolve
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Config, GenerationMode, openapi
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from coupons.services import claims
from coupons.tests.factories import make_batch
from crm import services as crm_services
from crm.models import ApiScope
from crm.tests.factories import OrgFixture
from customers.models import Order
from customers.tests.factories import CustomerFactory, TagFactory, make_order
from marketing.models import Campaign
from marketing.tests.factories import make_campaign, make_event
from sales.tests.factories import LeadFactory

# Examples per operation and token kind (API_FUZZ_EXAMPLES=500 for a longer run). A refused token
# is answered before the request is read, so fewer examples show it is refused whatever it says.
MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "30"))
REFUSED_EXAMPLES = max(1, MAX_EXAMPLES // 3)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

# Collected from the generator that serves /api/schema/ (no database needed);
# test_the_served_schema_lists_exactly_the_fuzzed_operations compares them with what is served.
#: (the partner endpoints answer a partner's own token only — any other token is 403 — so they are
#: fuzzed apart from the world's integration client: partners/tests/test_partner_api.py)
PARTNER_PATHS = ("/api/v1/partner-leads", "/api/v1/partners/{id}/statements")
OPERATIONS = sorted(
    f"{method.upper()} {path}"
    for path, item in SchemaGenerator().get_schema(request=None, public=True)["paths"].items()
    for method in item
    if path not in PARTNER_PATHS
)
TOKEN_KINDS = ["all-scopes", *(f"scope={scope}" for scope in ApiScope.values), "no-token", "bad-token"]


_handler = ClientHandler(enforce_csrf_checks=True)


def wsgi_app(environ, start_response):
    """Django as a WSGI app for schemathesis, through the test client's handler so that requests run
    inside the test's transaction (the plain handler closes the connection between requests)."""
    response = _handler(environ)
    headers = list(response.items())
    headers += [("Set-Cookie", morsel.OutputString()) for morsel in response.cookies.values()]
    start_response(f"{response.status_code} {response.reason_phrase}", headers)
    return [response.content]


_server_errors = []


def _keep_server_error(sender, request=None, **kwargs):
    _server_errors.append("".join(traceback.format_exception(*sys.exc_info())))


@pytest.fixture
def server_errors():
    """Tracebacks of exceptions raised in views, so a 500 fails with the server's traceback."""
    _server_errors.clear()
    got_request_exception.connect(_keep_server_error)
    yield _server_errors
    got_request_exception.disconnect(_keep_server_error)


class World:
    """What valid-looking requests aim at: customers (one with a tag and an order), an old lead, a
    claimable batch, a paused one and a claimed coupon, orders of the client, an event open for
    registration and one whose campaign is a draft."""

    def __init__(self):
        self.org = OrgFixture()
        self.client = crm_services.create_api_client(name="fuzz", department=self.org.sales1)
        self.tokens = {"all-scopes": crm_services.issue_token(client=self.client, scopes=ApiScope.values)[1]}
        for scope in ApiScope.values:
            self.tokens[f"scope={scope}"] = crm_services.issue_token(client=self.client, scopes=[scope])[1]
        self.customers = [CustomerFactory(name=f"客户{n}", mobile=f"1391234567{n}") for n in range(3)]
        self.customers[0].tags.add(TagFactory(name="家长"))
        make_order(
            self.customers[0], Decimal("320.00"), cost=Decimal("180.00"), external_id="fz-paid", client=self.client
        )
        make_order(self.customers[1], Decimal("88.00"), external_id="fz-second", client=self.client)
        LeadFactory(name="老线索", mobile="13712345670")
        batch = make_batch(self.org, code="fz-open", per_customer_limit=5, per_day_limit=5)
        make_batch(self.org, account=batch.campaign.budget_account, code="fz-paused", status="paused")
        self.coupons = [
            claims.claim(batch_code="fz-open", customer=self.customers[0], channel="mini_program").code
            for _ in range(3)
        ]
        self.event = make_event(make_campaign(self.org), capacity=20)
        self.closed_event = make_event(make_campaign(self.org, name="草稿", status=Campaign.Status.DRAFT))
        from catalog.services import entitlements
        from catalog.tests.factories import SkuFactory

        self.sku = SkuFactory(code="FZ-SKU")
        self.entitlements = [entitlements.grant(customer=self.customers[0], name="课时", quantity=1000).pk]
        from members.models import Tier
        from members.services import points

        Tier.objects.create(name="普通", position=0)
        self.member = points.member_for(self.customers[0])
        points.earn(member=self.member, points=1_000_000, reason="fuzz", reference="fz-seed")

    @property
    def mobiles(self):
        return [c.mobile for c in self.customers] + ["13712345670"]


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):
    """One World for the module, built in a transaction that is rolled back at its end; each test
    runs in a savepoint inside it (the ``db`` fixture), so every test starts from the same records."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield World()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def world(_module_world, db):
    cache.clear()  # a fresh rate-limit window for every test
    return _module_world


_served = {}


@pytest.fixture
def api_schema(client, world):
    """The schema as /api/schema/ serves it to a signed-in user, loaded by schemathesis (once)."""
    if "schema" not in _served:
        client.force_login(world.org.admin)
        response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        assert response.status_code == 200
        config = Config()
        # each token kind sets the Authorization header itself
        config.projects.get_default().generation.update(with_security_parameters=False)
        schema = openapi.from_dict(response.json(), config=config)
        schema.app = wsgi_app
        _served["schema"] = schema
    return _served["schema"]


# -- valid-looking values, drawn into positive cases so that they reach real records ---------------
def _mobiles(world):
    spelled = st.sampled_from(world.mobiles).map(lambda m: f"+86 {m[:3]} {m[3:7]} {m[7:]}")
    return st.one_of(st.sampled_from(world.mobiles), spelled, st.from_regex(r"\A1[3-9][0-9]{9}\Z"))


def _customer_ref(world, *, with_name=False):
    by_id = st.fixed_dictionaries({"id": st.sampled_from([c.pk for c in world.customers])})
    by_mobile = st.fixed_dictionaries(
        {"mobile": _mobiles(world)}, optional={"name": st.just("新客")} if with_name else {}
    )
    return st.one_of(by_id, by_mobile)


def _money():
    return st.decimals(min_value=0, max_value=5000, places=2).map(lambda d: f"{d:.2f}")


def _external_ids():
    fresh = st.from_regex(r"\Afz-[a-z0-9]{1,8}\Z")
    return st.one_of(st.sampled_from(["fz-paid", "fz-second"]), fresh, fresh)


KEEP, DROP = "<keep the generated value>", "<leave the field out>"


def _maybe(values):
    """A field's generated value, no field, or a valid-looking value."""
    return st.one_of(st.just(KEEP), st.just(DROP), values)


def _realistic(world, label):
    """Replacements for parts of a generated request, per operation (a new operation needs its own,
    or no valid-looking request of it gets through)."""
    body, path, query = None, None, None
    if label == "GET /api/v1/customers":
        query = {"mobile": _mobiles(world)}
    elif label == "GET /api/v1/customers/{id}":
        path = {"id": st.sampled_from([c.pk for c in world.customers] + [10**6])}
    elif label == "POST /api/v1/leads":
        body = {"mobile": _mobiles(world), "source": st.sampled_from(["website", "api", "event"])}
    elif label == "POST /api/v1/orders":
        line = st.fixed_dictionaries(
            {"sku": st.sampled_from(["A1", "B2"]), "price": _money(), "quantity": st.integers(1, 5)}
        )
        body = {
            "customer": _customer_ref(world, with_name=True),
            "amount": _money(),
            "external_id": _external_ids(),
            "coupon_code": _maybe(st.sampled_from(world.coupons)),
            "cost": _maybe(_money()),
            "items": _maybe(st.lists(line, max_size=3)),
            "placed_at": _maybe(st.just("2026-01-01T10:00:00+08:00")),
        }
    elif label == "POST /api/v1/orders/{external_id}/cancel":
        path = {"external_id": _external_ids()}
    elif label == "POST /api/v1/coupons/claim":
        body = {"batch": st.sampled_from(["fz-open", "fz-paused", "fz-none"]), "customer": _customer_ref(world)}
    elif label == "POST /api/v1/coupons/redeem":
        order = st.fixed_dictionaries({"external_id": _external_ids(), "amount": _money()}, optional={"cost": _money()})
        owner = st.just({"id": world.customers[0].pk})
        body = {
            "code": st.sampled_from(world.coupons),
            "customer": st.one_of(owner, owner, _customer_ref(world)),
            "order": order,
        }
    elif label == "POST /api/v1/events/{id}/registrations":
        path = {"id": st.sampled_from([world.event.pk, world.closed_event.pk])}
        body = {"customer": _customer_ref(world, with_name=True)}
    elif label == "GET /api/v1/products":
        query = {"category": st.sampled_from([str(world.sku.product.category_id), "999999"])}
    elif label == "POST /api/v1/entitlements/{id}/consume":
        path = {"id": st.sampled_from(world.entitlements + [10**6])}
        body = {"quantity": st.integers(1, 3), "reference": st.from_regex(r"\Afz-[a-z0-9]{1,8}\Z")}
    elif label == "GET /api/v1/members/{id}":
        path = {"id": st.sampled_from([world.member.pk, 10**6])}
    elif label in ("POST /api/v1/points/earn", "POST /api/v1/points/spend"):
        body = {
            "customer": st.one_of(st.just({"id": world.customers[0].pk}), _customer_ref(world)),
            "points": st.integers(1, 100),
            "reference": st.from_regex(r"\Afz-[a-z0-9]{1,8}\Z"),
            "reason": st.just("签到"),
        }
    parts = {
        name: st.fixed_dictionaries(value) if isinstance(value, dict) else value
        for name, value in {"body": body, "path": path, "query": query}.items()
        if value is not None
    }
    if label.startswith("POST "):  # a generated key often repeats: mostly send none or a fresh one
        parts["idempotency_key"] = st.one_of(st.just(DROP), st.uuids().map(str), st.just(KEEP))
    return st.fixed_dictionaries(parts)


def _apply(case, parts):
    if "path" in parts:
        case.path_parameters = {**(case.path_parameters or {}), **parts["path"]}
    if "query" in parts:
        case.query = {**(case.query or {}), **parts["query"]}
    if "body" in parts and isinstance(case.body, dict):
        body = {**case.body, **{name: value for name, value in parts["body"].items() if value != KEEP}}
        case.body = {name: value for name, value in body.items() if value != DROP}
    key = parts.get("idempotency_key", KEEP)
    if key != KEEP:
        headers = {name: value for name, value in (case.headers or {}).items() if name != "Idempotency-Key"}
        case.headers = headers if key == DROP else {**headers, "Idempotency-Key": key}


def _bad_authorizations():
    printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
    return st.one_of(
        st.just("Bearer crm_" + "x" * 43),
        printable.map("Bearer {}".format),
        printable,
        st.sampled_from(["Bearer", "Bearer ", "bearer a b", "Basic YWRtaW46YWRtaW4=", "Token crm_x"]),
    )


def _view_class(path_template):
    return resolve(re.sub(r"\{[^}]+\}", "1", path_template)).func.view_class


def _is_routed(path):
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


@pytest.mark.parametrize("kind", TOKEN_KINDS)
@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_answers_hostile_input_as_documented(api_schema, world, server_errors, label, kind):
    method, path = label.split(" ", 1)
    operation = api_schema[path][method]
    required_scope = getattr(_view_class(path), "required_scope", None)
    raw = world.tokens.get(kind)
    accepted = raw is not None and (required_scope is None or kind in ("all-scopes", f"scope={required_scope}"))
    strategies = [operation.as_strategy(generation_mode=GenerationMode.POSITIVE)]
    if operation.path_parameters or operation.query or operation.body:
        # the token kind decides the Authorization header, so cases that leave it out are dropped
        strategies.append(
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE).filter(
                lambda case: not api_schema.is_security_param_negated(case)
            )
        )
    checks = CHECKS + ([ignored_auth] if kind == "all-scopes" else [])
    realistic, bad_authorizations = _realistic(world, label), _bad_authorizations()
    statuses = Counter()

    @settings(
        max_examples=MAX_EXAMPLES if accepted else REFUSED_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies), data=st.data())
    def send(case, data):
        if case.meta.generation.mode.is_positive:
            _apply(case, data.draw(realistic, label="valid-looking values"))
        if raw:
            headers = {"Authorization": f"Bearer {raw}"}
        elif kind == "bad-token":
            headers = {"Authorization": data.draw(bad_authorizations, label="Authorization")}
        else:
            headers = {}
        response = case.call(headers=headers)
        if server_errors:
            pytest.fail(f"{case.as_curl_command(headers=headers)}\n\n{server_errors.pop()}")
        case.validate_response(response, checks=checks, headers=headers, transport_kwargs={"headers": headers})
        statuses[response.status_code] += 1
        if not accepted and _is_routed(case.formatted_path):
            expected, code = (403, "forbidden") if raw else (401, "unauthorized")
            assert (response.status_code, response.json()["error"]["code"]) == (expected, code), response.text

    send()
    if accepted:  # the valid-looking requests got through to the records
        assert any(200 <= status < 300 for status in statuses), statuses


def test_the_served_schema_lists_exactly_the_fuzzed_operations(api_schema):
    served = sorted(f"{op.ok().method.upper()} {op.ok().path}" for op in api_schema.get_all_operations())
    assert [label for label in served if label.split(" ", 1)[1] not in PARTNER_PATHS] == OPERATIONS
    assert len(served) == len(OPERATIONS) + len(PARTNER_PATHS)


def test_every_operation_documents_the_contracts_errors(api_schema):
    for result in api_schema.get_all_operations():
        operation = result.ok()
        documented = set(operation.definition.raw["responses"])
        assert {"401", "429"} <= documented, operation.label
        if getattr(_view_class(operation.path), "required_scope", None):
            assert "403" in documented, operation.label
        if operation.method == "post":
            assert {"400", "409", "415", "422"} <= documented, operation.label


# -- regressions: what the fuzzing found ---------------------------------------------------------
def _post(client, token, path, body, **headers):
    return client.post(
        path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}", **headers
    )


def test_cancelling_an_external_id_with_a_nul_character_is_404(client, world):
    # PostgreSQL cannot compare a string holding NUL: this was a 500
    response = _post(client, world.tokens["scope=orders"], "/api/v1/orders/fz%00paid/cancel", {})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert Order.objects.get(external_id="fz-paid").status == Order.Status.PAID


def test_an_order_line_quantity_beyond_the_database_column_is_422(client, world):
    # the quantity column is a 32-bit integer on PostgreSQL: this was a 500
    body = {
        "external_id": "big",
        "customer": {"id": world.customers[0].pk},
        "amount": "10.00",
        "items": [{"sku": "A1", "price": "1.00", "quantity": 2**31}],
    }
    response = _post(client, world.tokens["scope=orders"], "/api/v1/orders", body)
    assert response.status_code == 422
    assert response.json()["error"]["fields"]["items"][0].startswith("[0].quantity: ")
    assert not Order.objects.filter(external_id="big").exists()


def test_an_order_placed_before_1970_is_422(client, world):
    # year 1 was stored and answered with Shanghai's 1901 offset "+08:05:43", which is not ISO 8601
    body = {
        "external_id": "old",
        "customer": {"id": world.customers[0].pk},
        "amount": "10.00",
        "placed_at": "0001-01-01T00:00:00-14:00",
    }
    response = _post(client, world.tokens["scope=orders"], "/api/v1/orders", body)
    assert response.status_code == 422 and "placed_at" in response.json()["error"]["fields"]
    assert not Order.objects.filter(external_id="old").exists()


def test_nested_validation_errors_are_readable_messages(client, world):
    # these were the repr of DRF's errors, e.g. "{'mobile': [ErrorDetail(string='…', code='invalid')]}"
    body = {
        "external_id": "n1",
        "customer": {"mobile": "123"},
        "amount": "1.00",
        "items": [{"sku": "A1", "price": "1.00"}, {"sku": "A2", "price": "-1"}],
    }
    fields = _post(client, world.tokens["scope=orders"], "/api/v1/orders", body).json()["error"]["fields"]
    assert set(fields) == {"customer", "items"}
    assert [m.split(": ")[0] for m in fields["customer"]] == ["mobile"]
    assert [m.split(": ")[0] for m in fields["items"]] == ["[1].price"]
    assert "ErrorDetail" not in json.dumps(fields)
    lead = {"name": "王", "mobile": "13900000001", "source": "api", "tags": ["家长", ""]}
    fields = _post(client, world.tokens["scope=leads"], "/api/v1/leads", lead).json()["error"]["fields"]
    assert list(fields) == ["tags"] and fields["tags"][0].startswith("[1]: ")
    claim = {"batch": "fz-open", "customer": {}, "channel": "mini_program"}
    response = _post(client, world.tokens["scope=coupons"], "/api/v1/coupons/claim", claim)
    assert response.json()["error"]["fields"] == {"customer": ["Give the customer's id or mobile."]}


def test_an_idempotency_key_with_a_control_character_is_422(client, world):
    # PostgreSQL cannot store NUL: this was a 500 (an HTTP server in front normally refuses it first)
    lead = {"name": "王", "mobile": "13900000001", "source": "api"}
    response = _post(client, world.tokens["scope=leads"], "/api/v1/leads", lead, HTTP_IDEMPOTENCY_KEY="k\x00")
    assert response.status_code == 422 and "Idempotency-Key" in response.json()["error"]["fields"]
