"""Regions (省/市/区 codes): look-ups, text matching, the migration of old text, the picker, the list
filter, the unmatched list, the API and the dashboard by province."""

import importlib
import json

import pytest
from django.apps import apps
from django.core.management import call_command

from crm import services as crm_services
from customers import regions
from customers.models import Customer
from customers.region_field import deepest
from customers.tests.factories import CustomerFactory

# --- look-ups ------------------------------------------------------------------------------------


def test_name_and_level_of_each_kind_of_code():
    assert (regions.name("330000"), regions.level("330000")) == ("浙江省", regions.PROVINCE)
    assert (regions.name("330100"), regions.level("330100")) == ("杭州市", regions.CITY)
    assert (regions.name("330106"), regions.level("330106")) == ("西湖区", regions.DISTRICT)
    assert (regions.name("999999"), regions.level("999999")) == ("", None)
    assert (regions.name(""), regions.level("abc")) == ("", None)


def test_province_and_city_of_a_code_follow_the_convention():
    assert (regions.province_of("330106"), regions.city_of("330106")) == ("330000", "330100")
    assert (regions.province_of("330100"), regions.city_of("330100")) == ("330000", "330100")
    assert (regions.province_of("330000"), regions.city_of("330000")) == ("330000", "")
    # a county-level city governed by the province directly has no city above it
    assert (regions.province_of("419001"), regions.city_of("419001"), regions.parent("419001")) == (
        "410000",
        "",
        "410000",
    )


def test_children_go_one_level_down():
    provinces = regions.children("")
    assert len(provinces) == 34 + 1  # 34 provincial divisions; the dataset lists 台湾省 and its cities too
    assert ("330000", "浙江省") in provinces
    hangzhou = dict(regions.children("330000"))
    assert hangzhou["330100"] == "杭州市" and len(hangzhou) == 11
    assert dict(regions.children("330100"))["330106"] == "西湖区"
    assert regions.children("110000") == [("110100", "北京市")]
    assert ("419001", "济源市") in regions.children("410000")
    assert regions.children("330106") == []


def test_full_name_says_a_municipality_once():
    assert regions.full_name("330106") == "浙江省 杭州市 西湖区"
    assert regions.full_name("110108") == "北京市 海淀区"
    assert regions.full_name("") == ""


@pytest.mark.parametrize(
    "code,region,inside",
    [
        ("330106", "330000", True),
        ("330106", "330100", True),
        ("330106", "330106", True),
        ("330110", "330106", False),
        ("320106", "330000", False),
        ("330106", "330200", False),
        ("330106", "", False),
        ("", "330000", False),
        ("330106", "999999", False),
    ],
)
def test_in_region_matches_by_prefix_at_the_regions_level(code, region, inside):
    assert regions.in_region(code, region) is inside


@pytest.mark.parametrize(
    "text,code",
    [
        ("北京", "110000"),
        ("北京市", "110000"),
        ("浙江", "330000"),
        ("浙江省", "330000"),
        ("浙江杭州", "330100"),
        ("浙江省杭州市西湖区", "330106"),
        ("浙江省 杭州市 西湖区", "330106"),
        ("杭州", "330100"),
        ("杭州市西湖区", "330106"),
        ("上海浦东新区", "310115"),
        ("北京朝阳", "110105"),
        ("广西", "450000"),
        ("新疆", "650000"),
        ("延边", "222400"),
        ("330106", "330106"),
        ("广州市天河区体育西路1号", "440106"),
        ("中国浙江省/杭州市", "330100"),
    ],
)
def test_text_is_matched_to_its_code(text, code):
    assert regions.match(text) == code


@pytest.mark.parametrize("text", ["朝阳区", "鼓楼区", "火星", "", "   ", "999999"])
def test_text_naming_no_region_or_several_matches_nothing(text):
    assert regions.match(text) == ""


def test_picker_value_is_the_deepest_consistent_pick():
    assert deepest(["330000", "330100", "330106"]) == "330106"
    assert deepest(["330000", "330100", ""]) == "330100"
    assert deepest(["320000", "330100", "330106"]) == "320000"  # a city left over from another province
    assert deepest(["", "330100"]) == ""


# --- the customer record --------------------------------------------------------------------------


def test_saving_a_customer_keeps_the_province_and_city_columns(db):
    customer = CustomerFactory(region="330106")
    assert (customer.region_province, customer.region_city, customer.region_text) == ("330000", "330100", "")
    customer.region = "110000"
    customer.save(update_fields=["region"])
    customer.refresh_from_db()
    assert (customer.region, customer.region_province, customer.region_city) == ("110000", "110000", "")


def test_region_text_given_to_a_customer_becomes_its_code_or_stays_as_written(db):
    matched = CustomerFactory(region="浙江杭州")
    unmatched = CustomerFactory(region="火星基地")
    assert (matched.region, matched.region_city, matched.region_name) == ("330100", "330100", "浙江省 杭州市")
    assert (unmatched.region, unmatched.region_text, unmatched.region_name) == ("", "火星基地", "火星基地")


def test_queryset_helpers_select_customers_in_a_region_at_each_level(db):
    west_lake = CustomerFactory(region="330106")
    binjiang = CustomerFactory(region="330108")
    ningbo = CustomerFactory(region="330200")
    CustomerFactory(region="320106")
    CustomerFactory(region="")
    everyone = Customer.objects.all()
    assert set(regions.customers_in_region(everyone, "330000")) == {west_lake, binjiang, ningbo}
    assert set(regions.customers_in_region(everyone, "330100")) == {west_lake, binjiang}
    assert set(regions.customers_in_region(everyone, "330106")) == {west_lake}
    assert set(everyone.filter(regions.in_region_q("330100"))) == {west_lake, binjiang}
    assert regions.customers_in_region(everyone, "999999").count() == 0


# --- the migration of old text ----------------------------------------------------------------------


def _raw_customers(*texts):
    """Customers with text in ``region`` as before the migration (bulk_create skips save())."""
    return Customer.objects.bulk_create([Customer(name=f"旧{i}", region=text) for i, text in enumerate(texts)])


def test_migration_maps_exact_fuzzy_and_leaves_unmatched_text_listed(db):
    _raw_customers("北京", "北京市", "浙江杭州", "杭州西湖区", "朝阳区", "火星", "浙江杭州")
    migration = importlib.import_module("customers.migrations.0017_region_text_to_codes")
    migration.forward(apps, None)
    rows = {c.name: (c.region, c.region_province, c.region_city, c.region_text) for c in Customer.objects.all()}
    assert rows == {
        "旧0": ("110000", "110000", "", ""),
        "旧1": ("110000", "110000", "", ""),
        "旧2": ("330100", "330000", "330100", ""),
        "旧3": ("330106", "330000", "330100", ""),
        "旧4": ("", "", "", "朝阳区"),
        "旧5": ("", "", "", "火星"),
        "旧6": ("330100", "330000", "330100", ""),
    }


def test_unmatched_regions_command_lists_text_without_a_code(db, capsys):
    CustomerFactory(region="火星")
    CustomerFactory(region="火星")
    CustomerFactory(region="朝阳区")
    CustomerFactory(region="330106")
    call_command("unmatched_regions")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == ["客户\t2\t火星", "客户\t1\t朝阳区", "2 个值未匹配到区域。"]


def test_unmatched_regions_page_shows_counts_to_an_admin_only(client, org):
    CustomerFactory(region="火星", owner=org.rep1)
    client.force_login(org.admin)
    response = client.get("/customers/regions/unmatched/")
    assert response.status_code == 200
    assert [(r["text"], r["count"]) for r in response.context["rows"]] == [("火星", 1)]
    client.force_login(org.rep1)
    assert client.get("/customers/regions/unmatched/").status_code == 403


# --- the picker in the customer form -----------------------------------------------------------------


def test_customer_form_shows_the_picker_with_the_chain_selected(client, org):
    customer = CustomerFactory(region="330106", owner=org.rep1)
    client.force_login(org.rep1)
    response = client.get(f"/customers/{customer.pk}/edit/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="region_0"' in html and 'name="region_1"' in html and 'name="region_2"' in html
    assert '<option value="330000" selected>浙江省</option>' in html
    assert '<option value="330100" selected>杭州市</option>' in html
    assert '<option value="330106" selected>西湖区</option>' in html


def test_picker_offers_the_cities_of_the_chosen_province(client, org):
    client.force_login(org.rep1)
    response = client.get("/customers/regions/picker/", {"name": "region", "region_0": "330000", "region_1": "320100"})
    html = response.content.decode()
    assert response.status_code == 200
    assert '<option value="330100">杭州市</option>' in html
    assert "320100" not in html  # the city of another province is dropped
    assert client.get("/customers/regions/picker/", {"name": "<x>"}).status_code == 400


def test_customer_form_saves_the_picked_district(client, org):
    client.force_login(org.rep1)
    response = client.post(
        "/customers/new/",
        {
            "kind": "individual",
            "name": "钱七",
            "mobile": "13900001111",
            "source": "other",
            "region_0": "330000",
            "region_1": "330100",
            "region_2": "330106",
        },
    )
    assert response.status_code == 302
    customer = Customer.objects.get(name="钱七")
    assert (customer.region, customer.region_province, customer.region_city) == ("330106", "330000", "330100")


def test_customer_list_filters_by_region_name_or_code(client, org):
    CustomerFactory(name="杭州客户", region="330106", owner=org.rep1)
    CustomerFactory(name="宁波客户", region="330200", owner=org.rep1)
    CustomerFactory(name="南京客户", region="320106", owner=org.rep1)
    client.force_login(org.rep1)

    def names(query):
        return sorted(c.name for c in client.get("/customers/", {"region": query}).context["table"].data)

    assert names("浙江") == ["宁波客户", "杭州客户"]
    assert names("330100") == ["杭州客户"]
    assert names("火星") == []


# --- API ---------------------------------------------------------------------------------------------


@pytest.fixture
def api_token(db):
    client = crm_services.create_api_client(name="shop")
    _, raw = crm_services.issue_token(client=client, scopes=["orders", "customers:read"])
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_api_round_trip_of_a_region_code(client, api_token):
    body = {
        "external_id": "R-1",
        "customer": {"mobile": "13800138001", "name": "孙八", "region": "330106"},
        "amount": "10.00",
    }
    response = client.post("/api/v1/orders", json.dumps(body), content_type="application/json", **api_token)
    assert response.status_code == 201
    customer = Customer.objects.get(mobile="13800138001")
    summary = client.get(f"/api/v1/customers/{customer.pk}", **api_token).json()
    assert summary["region"] == "330106"
    assert summary["region_name"] == "浙江省 杭州市 西湖区"
    assert summary["province"] == {"code": "330000", "name": "浙江省"}
    assert summary["city"] == {"code": "330100", "name": "杭州市"}


def test_api_refuses_an_unknown_region_code_naming_the_field(client, api_token):
    body = {"external_id": "R-2", "customer": {"mobile": "13800138002", "region": "999999"}, "amount": "10.00"}
    response = client.post("/api/v1/orders", json.dumps(body), content_type="application/json", **api_token)
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "customer": ["region: Unknown region code; give a 6-digit province, city or district code."]
    }


def test_api_schema_documents_the_region_fields(client, db):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    summary = schema["components"]["schemas"]["CustomerSummary"]["properties"]
    assert summary["region"]["description"] == '省/市/区 code (6-digit GB/T 2260 adcode), "" when unknown.'
    assert "region" in schema["components"]["schemas"]["OrderCustomerRef"]["properties"]


# --- the dashboard by province --------------------------------------------------------------------------


def test_dashboard_breaks_customers_down_by_province(client, org):
    for region in ("330106", "330200", "320106"):
        CustomerFactory(region=region, owner=org.rep1)
    CustomerFactory(region="", owner=org.rep1)
    client.force_login(org.rep1)
    response = client.get("/customers/dashboard/")
    provinces = [(p["name"], p["count"]) for p in response.context["provinces"]]
    assert provinces == [("浙江省", 2), ("江苏省", 1), ("无地区", 1)]
    assert response.context["provinces"][0]["drill"].endswith("region=330000")


def test_a_customers_region_display_is_djangos_without_flattening_the_choices_each_time():
    from customers.models import Customer

    flat = dict(Customer._meta.get_field("region").flatchoices)
    code = next(code for code in flat if not code.endswith("00"))
    for value in (code, "", "not-a-code"):
        assert Customer(region=value).get_region_display() == flat.get(value, value)
