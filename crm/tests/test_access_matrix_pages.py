"""The access matrix, second part: the pages that are not records of a data scope — organization
administration (departments, users, API clients, token revoke, audit log, personal-data log),
the user's own preferences, custom attributes, tag groups, tags and tag rules, the content
library, and the membership settings (tiers, earning rules, points offers) — for every role: a
GET is 200 for the roles ``crm.permissions.ACTIONS`` allows and 403 for the others; a refused POST changes nothing. Also pinned: what an API client's service user
may see (every customer, full mobiles only with the client's right, each read logged) and what it
may not do (sign in, appear among users, be handed records)."""

import pytest
from django.test import Client
from django.urls import reverse

from crm import permissions, services
from crm.models import AccessLog, ApiClient, ApiScope, ApiToken, Department, Role, User
from crm.tests.factories import UserFactory
from customers.models import CustomAttribute, Customer, Tag, TagGroup, TagRule
from marketing.models import ContentItem

ROLES = [Role.REP, Role.MANAGER, Role.DIRECTOR, Role.MARKETING, Role.ADMIN]


@pytest.fixture
def things(org):
    group = TagGroup.objects.create(name="意向")
    tag = Tag.objects.create(group=group, name="高")
    rule = TagRule.objects.create(tag=tag, name="上海客户", query="region=上海")
    attribute = CustomAttribute.objects.create(key="school_grade", label="年级", kind="text")
    content = ContentItem.objects.create(title="开放日介绍", url="https://example.com/open-day")
    api = services.create_api_client(name="mx-shop", department=org.company)
    token, _raw = services.issue_token(client=api, scopes=[ApiScope.LEADS])
    from catalog.models import Category, Product, SalesPolicy, Sku

    category = Category.objects.create(name="教育培训", path="000001/")
    product = Product.objects.create(
        code="EDU-1", name="数学", category=category, status="approved", sale_from="2020-01-01"
    )
    sku = Sku.objects.create(product=product, code="EDU-1-24", name="24课时", list_price="100")
    policy = SalesPolicy.objects.create(name="价目表", kind="price_list")
    from contracts.models import Competitor

    competitor = Competitor.objects.create(name="学而思")
    from contracts.models import DunningLevel

    dunning_level = DunningLevel.objects.get_or_create(instalment=None, offset_days=1, channel="preference")[0]
    from coupons.tests.factories import make_batch
    from members.models import EarnRule, PointsOffer, Tier

    tier = Tier.objects.create(name="金卡", position=1)
    earn_rule = EarnRule.objects.create(source="check_in", tier=tier, points=5)
    offer = PointsOffer.objects.create(batch=make_batch(org), points=300)
    return {
        "tier": tier,
        "earn_rule": earn_rule,
        "offer": offer,
        "competitor": competitor,
        "dunning_level": dunning_level,
        "category": category,
        "product": product,
        "sku": sku,
        "policy": policy,
        "group": group,
        "tag": tag,
        "rule": rule,
        "attribute": attribute,
        "content": content,
        "api": api,
        "token": token,
        "user": org.rep3,
        "department": org.sales2,
    }


#: (name, url of the things, ACTIONS entry or None for every logged-in user, whether to try a POST)
PAGES = [
    ("departments", lambda t: reverse("org:departments"), "org.view", False),
    ("department_new", lambda t: reverse("org:department_create"), "org.manage", True),
    ("department_edit", lambda t: reverse("org:department_edit", args=[t["department"].pk]), "org.manage", True),
    ("users", lambda t: reverse("org:users"), "org.view", False),
    ("users_export", lambda t: reverse("org:users") + "?export=csv", "org.manage", False),
    ("user_new", lambda t: reverse("org:user_create"), "org.manage", True),
    ("user_edit", lambda t: reverse("org:user_edit", args=[t["user"].pk]), "org.manage", True),
    ("api_clients", lambda t: reverse("org:api_clients"), "api.manage", False),
    ("api_client_new", lambda t: reverse("org:api_client_create"), "api.manage", True),
    ("api_client", lambda t: reverse("org:api_client", args=[t["api"].pk]), "api.manage", True),
    ("api_client_edit", lambda t: reverse("org:api_client_edit", args=[t["api"].pk]), "api.manage", True),
    ("token_revoke", lambda t: reverse("org:api_token_revoke", args=[t["token"].pk]), "api.manage", "only"),
    ("audit", lambda t: reverse("org:audit"), "audit.view", False),
    ("audit_export", lambda t: reverse("org:audit") + "?export=csv", "audit.view", False),
    ("privacy", lambda t: reverse("org:privacy"), "privacy.manage", False),
    ("preferences", lambda t: reverse("preferences"), None, False),
    ("ping", lambda t: reverse("ping"), None, False),
    ("tags", lambda t: reverse("customers:tags"), "customers.configure", False),
    ("tag_group_new", lambda t: reverse("customers:tag_group_create"), "customers.configure", True),
    (
        "tag_group_edit",
        lambda t: reverse("customers:tag_group_edit", args=[t["group"].pk]),
        "customers.configure",
        True,
    ),
    ("tag_new", lambda t: reverse("customers:tag_create"), "customers.configure", True),
    ("tag_edit", lambda t: reverse("customers:tag_edit", args=[t["tag"].pk]), "customers.configure", True),
    ("tag_delete", lambda t: reverse("customers:tag_delete", args=[t["tag"].pk]), "customers.configure", "only"),
    ("tag_rule_new", lambda t: reverse("customers:tag_rule_create"), "customers.configure", True),
    ("tag_rule_edit", lambda t: reverse("customers:tag_rule_edit", args=[t["rule"].pk]), "customers.configure", True),
    ("tag_rule_run", lambda t: reverse("customers:tag_rule_run", args=[t["rule"].pk]), "customers.configure", "only"),
    ("attributes", lambda t: reverse("customers:attributes"), "customers.configure", False),
    ("attribute_new", lambda t: reverse("customers:attribute_create"), "customers.configure", True),
    (
        "attribute_edit",
        lambda t: reverse("customers:attribute_edit", args=[t["attribute"].pk]),
        "customers.configure",
        True,
    ),
    ("unmatched_regions", lambda t: reverse("customers:unmatched_regions"), "customers.configure", False),
    ("region_picker", lambda t: reverse("customers:region_picker") + "?name=region&region_0=330000", None, False),
    ("content", lambda t: reverse("marketing:content_list"), "marketing.view", False),
    ("content_new", lambda t: reverse("marketing:content_create"), "marketing.manage", True),
    ("content_item", lambda t: reverse("marketing:content", args=[t["content"].pk]), "marketing.view", False),
    ("content_edit", lambda t: reverse("marketing:content_edit", args=[t["content"].pk]), "marketing.manage", True),
    ("products", lambda t: reverse("catalog:products"), "catalog.view", False),
    ("product_export", lambda t: reverse("catalog:product_export"), "catalog.export", False),
    ("product_new", lambda t: reverse("catalog:product_create"), "catalog.manage", True),
    ("product", lambda t: reverse("catalog:product", args=[t["product"].pk]), "catalog.view", False),
    ("product_edit", lambda t: reverse("catalog:product_edit", args=[t["product"].pk]), "catalog.manage", True),
    ("product_launch", lambda t: reverse("catalog:product_launch", args=[t["product"].pk]), "catalog.manage", "only"),
    (
        "product_withdraw",
        lambda t: reverse("catalog:product_withdraw", args=[t["product"].pk]),
        "catalog.manage",
        "only",
    ),
    ("sku_new", lambda t: reverse("catalog:sku_create", args=[t["product"].pk]), "catalog.manage", True),
    ("sku_edit", lambda t: reverse("catalog:sku_edit", args=[t["sku"].pk]), "catalog.manage", True),
    ("categories", lambda t: reverse("catalog:categories"), "catalog.view", False),
    ("category_new", lambda t: reverse("catalog:category_create"), "catalog.manage", True),
    ("category_edit", lambda t: reverse("catalog:category_edit", args=[t["category"].pk]), "catalog.manage", True),
    ("catalog_import", lambda t: reverse("catalog:import"), "catalog.manage", True),
    ("policies", lambda t: reverse("catalog:policies"), "catalog.view", False),
    ("policy_new", lambda t: reverse("catalog:policy_create"), "catalog.manage", True),
    ("policy", lambda t: reverse("catalog:policy", args=[t["policy"].pk]), "catalog.view", False),
    ("policy_prices", lambda t: reverse("catalog:policy", args=[t["policy"].pk]), "catalog.manage", "only"),
    ("policy_edit", lambda t: reverse("catalog:policy_edit", args=[t["policy"].pk]), "catalog.manage", True),
    ("price_check", lambda t: reverse("catalog:price_check"), "catalog.view", False),
    ("policy_effect", lambda t: reverse("catalog:policy_effect"), "catalog.analysis", False),
    ("policy_effect_xlsx", lambda t: reverse("catalog:policy_effect") + "?export=xlsx", "catalog.export", False),
    ("analysis", lambda t: reverse("catalog:analysis") + "?by=city", "catalog.analysis", False),
    ("analysis_xlsx", lambda t: reverse("catalog:analysis") + "?export=xlsx", "catalog.export", False),
    ("sold_lines", lambda t: reverse("catalog:sold_lines") + "?policy=none", "catalog.analysis", False),
    ("contract_new", lambda t: reverse("contracts:contract_new"), "contracts.change", False),
    ("collections", lambda t: reverse("contracts:collections"), "contracts.view", False),
    ("collections_xlsx", lambda t: reverse("contracts:collections") + "?export=xlsx", "contracts.export", False),
    ("instalments", lambda t: reverse("contracts:instalments"), "contracts.view", False),
    ("competitors", lambda t: reverse("contracts:competitors"), "contracts.competitors", True),
    ("dunning_levels", lambda t: reverse("contracts:dunning_levels"), "contracts.configure", True),
    (
        "dunning_level_edit",
        lambda t: reverse("contracts:dunning_level_edit", args=[t["dunning_level"].pk]),
        "contracts.configure",
        True,
    ),
    (
        "dunning_level_delete",
        lambda t: reverse("contracts:dunning_level_delete", args=[t["dunning_level"].pk]),
        "contracts.configure",
        "only",
    ),
    ("member_tiers", lambda t: reverse("members:tiers"), "members.configure", True),
    ("member_tier_edit", lambda t: reverse("members:tier_edit", args=[t["tier"].pk]), "members.configure", True),
    ("member_tier_delete", lambda t: reverse("members:tier_delete", args=[t["tier"].pk]), "members.configure", "only"),
    ("member_tier_recompute", lambda t: reverse("members:tier_recompute"), "members.configure", "only"),
    ("earn_rules", lambda t: reverse("members:earn_rules"), "members.configure", True),
    (
        "earn_rule_edit",
        lambda t: reverse("members:earn_rule_edit", args=[t["earn_rule"].pk]),
        "members.configure",
        True,
    ),
    (
        "earn_rule_delete",
        lambda t: reverse("members:earn_rule_delete", args=[t["earn_rule"].pk]),
        "members.configure",
        "only",
    ),
    ("points_offers", lambda t: reverse("members:offers"), "members.configure", True),
    ("points_offer_edit", lambda t: reverse("members:offer_edit", args=[t["offer"].pk]), "members.configure", True),
    (
        "points_offer_delete",
        lambda t: reverse("members:offer_delete", args=[t["offer"].pk]),
        "members.configure",
        "only",
    ),
    (
        "competitor",
        lambda t: reverse("contracts:competitor", args=[t["competitor"].pk]),
        "contracts.competitors",
        False,
    ),
]


def state():
    """Everything a refused POST on these pages could change."""
    from catalog.models import Category, PolicyPrice, Product, SalesPolicy, Sku
    from contracts.models import Competitor, DunningLevel
    from members.models import EarnRule, PointsOffer, Tier

    return (
        list(Tier.objects.values_list("pk", "name", "position", "min_spend", "min_points").order_by("pk")),
        list(EarnRule.objects.values_list("pk", "source", "category", "tier_id", "points").order_by("pk")),
        list(PointsOffer.objects.values_list("pk", "batch_id", "points", "is_active").order_by("pk")),
        list(Competitor.objects.values_list("pk", "name").order_by("pk")),
        list(DunningLevel.objects.values_list("pk", "offset_days", "channel", "responsible").order_by("pk")),
        list(Product.objects.values_list("pk", "code", "name", "status", "sale_from", "sale_until").order_by("pk")),
        list(Sku.objects.values_list("pk", "code", "name", "list_price").order_by("pk")),
        list(Category.objects.values_list("pk", "name", "parent_id").order_by("pk")),
        list(SalesPolicy.objects.values_list("pk", "name", "kind").order_by("pk")),
        PolicyPrice.objects.count(),
        list(Department.objects.values_list("pk", "name", "parent_id", "wecom_webhook").order_by("pk")),
        list(User.objects.values_list("pk", "username", "role", "data_scope", "is_active").order_by("pk")),
        list(ApiClient.objects.values_list("pk", "name", "can_see_mobile", "is_active").order_by("pk")),
        list(ApiToken.objects.values_list("pk", "revoked_at").order_by("pk")),
        list(TagGroup.objects.values_list("pk", "name").order_by("pk")),
        list(Tag.objects.values_list("pk", "name").order_by("pk")),
        list(TagRule.objects.values_list("pk", "name", "query", "last_run_at").order_by("pk")),
        list(CustomAttribute.objects.values_list("pk", "key", "label").order_by("pk")),
        list(ContentItem.objects.values_list("pk", "title", "url").order_by("pk")),
        Customer.objects.filter(tags__isnull=False).count(),
    )


def allowed(role, action):
    return action is None or role in permissions.ACTIONS[action]


@pytest.mark.parametrize("role", ROLES)
def test_every_administration_and_configuration_page_answers_as_the_role_allows(org, things, role):
    user = UserFactory(username=f"page-{role}", role=role, department=org.sales1)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    failures = []
    for name, url_of, action, post in PAGES:
        url = url_of(things)
        ok = allowed(role, action)
        if post != "only":
            status = client.get(url).status_code
            if status != (200 if ok else 403):
                failures.append(f"GET {name} {url}: {status}, expected {200 if ok else 403}")
        if post and not ok:
            before = state()
            status = client.post(
                url,
                {
                    "name": "changed",
                    "title": "changed",
                    "key": "changed",
                    "label": "changed",
                    "username": "changed",
                    "role": Role.ADMIN,
                    "data_scope": "all",
                    "url": "https://example.com/x",
                    "scopes": [ApiScope.COUPONS],
                    "offset_days": 99,
                    "channel": "email",
                    "responsible": "owner",
                    "position": 3,
                    "min_spend": "1",
                    "points_per_yuan": "1",
                    "benefit_quantity": 0,
                    "source": "check_in",
                    "points": 7,
                    "batch": things["offer"].batch_id,
                },
            ).status_code
            if status != 403:
                failures.append(f"POST {name} {url}: {status}, expected 403")
            if state() != before:
                failures.append(f"POST {name} {url}: FORBIDDEN WRITE")
    assert failures == []


def test_preferences_change_only_the_users_own_harmless_fields(client, org):
    """No role, scope, department, username or superuser flag can be posted onto oneself."""
    client.force_login(org.rep1)
    response = client.post(
        reverse("preferences"),
        {
            "first_name": "小明",
            "last_name": "王",
            "email": "rep1@example.com",
            "notify_by_email": "on",
            "role": Role.ADMIN,
            "data_scope": "all",
            "department": org.company.pk,
            "username": "boss",
            "is_superuser": "on",
            "is_staff": "on",
            "is_service": "on",
        },
    )
    assert response.status_code == 302
    org.rep1.refresh_from_db()
    assert (
        org.rep1.role,
        org.rep1.data_scope,
        org.rep1.department_id,
        org.rep1.username,
        org.rep1.is_superuser,
        org.rep1.is_staff,
        org.rep1.is_service,
    ) == (Role.REP, "self", org.team1.pk, "rep1", False, False, False)
    assert (org.rep1.last_name, org.rep1.first_name) == ("王", "小明")


def test_a_manager_sees_the_users_of_his_scope_only(client, org):
    client.force_login(org.manager1)
    page = client.get(reverse("org:users") + "?per_page=100").content.decode()
    assert "rep1" in page and "rep2" in page
    assert "rep3" not in page and "manager2" not in page


# --- API clients and their service users ---------------------------------------------------------


def _client(org, *, can_see_mobile):
    api = services.create_api_client(
        name=f"shop-{can_see_mobile}", department=org.sales1, can_see_mobile=can_see_mobile
    )
    raw = services.issue_token(client=api, scopes=[ApiScope.CUSTOMERS_READ, ApiScope.LEADS])[1]
    return api, {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.parametrize("can_see_mobile,shown", [(True, "13900001111"), (False, "139****1111")])
def test_an_api_client_sees_full_mobiles_only_with_the_right_and_every_read_is_logged(
    client, org, can_see_mobile, shown
):
    customer = Customer.objects.create(name="远方客户", mobile="13900001111", owner=org.rep3, department=org.sales2)
    api, auth = _client(org, can_see_mobile=can_see_mobile)
    by_id = client.get(f"/api/v1/customers/{customer.pk}", **auth)
    by_mobile = client.get("/api/v1/customers", {"mobile": "13900001111"}, **auth)
    assert by_id.status_code == 200 and by_id.json()["mobile"] == shown
    assert [c["mobile"] for c in by_mobile.json()] == [shown]
    logs = AccessLog.objects.filter(client=api, action=AccessLog.Action.API_READ)
    assert logs.count() == 2 and sorted(logs.values_list("records__object_id", flat=True)) == [customer.pk] * 2


def test_an_api_service_user_sees_every_customer_but_cannot_sign_in_or_be_handed_records(client, org):
    """The service user acts for the whole company (scope ALL: a shop finds any buyer by mobile),
    as a rep (no administration, no approvals); it cannot log in to the web UI, is not listed among
    users, and is never offered as an owner. What it creates lands in the client's department."""
    from sales.models import Lead

    api, auth = _client(org, can_see_mobile=False)
    service = api.service_user
    assert (service.role, service.data_scope, service.is_service, service.has_usable_password()) == (
        Role.REP,
        "all",
        True,
        False,
    )
    far = Customer.objects.create(name="别部门客户", mobile="13900002222", owner=org.rep3, department=org.sales2)
    assert client.get(f"/api/v1/customers/{far.pk}", **auth).status_code == 200
    assert not any(
        permissions.can(service, action)
        for action in ("org.manage", "org.view", "api.manage", "audit.view", "coupons.approve")
    )
    service.set_password("Service-pass-2026!")
    service.save()
    login = client.post(reverse("login"), {"username": service.username, "password": "Service-pass-2026!"})
    assert login.status_code == 200 and "_auth_user_id" not in client.session
    client.force_login(org.admin)
    assert service.username not in client.get(reverse("org:users") + "?per_page=100").content.decode()
    assert not permissions.assignable_users(org.admin).filter(pk=service.pk).exists()
    client.logout()
    created = client.post(
        "/api/v1/leads",
        data={"name": "接口线索", "mobile": "13700003333", "source": "website"},
        content_type="application/json",
        **auth,
    )
    assert created.status_code == 201
    assert Lead.objects.get(pk=created.json()["id"]).department_id == org.sales1.pk
