"""What every page shows, whatever the app (issue 13, items 21 and 30): filters that say "全部" /
"All" instead of "---------" and offer only the departments in the viewer's scope, options that are
not cut off, capitalised English labels and headers, and each language named in its own name."""

import re

from customers.tests.factories import CustomerFactory
from sales.models import ScoringRule


def _select(html, name):
    match = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    return re.findall(r"<option[^>]*>([^<]*)</option>", match.group(1))


def _column_of(html, name):
    return re.search(rf'<div class="([^"]*)">\s*<label class="form-label" for="id_{name}">', html).group(1)


def test_a_reps_filters_say_all_and_list_only_the_reps_departments(client, org):
    CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    html = client.get("/customers/").content.decode()
    filters = re.search(r'<form method="get" class="card card-body filter-panel.*?</form>', html, re.S).group(0)
    assert "---------" not in filters
    assert _select(html, "department") == ["全部", "一组"]
    assert _select(html, "kind")[0] == "全部"
    assert _select(html, "owner")[0] == "全部"


def test_a_director_sees_the_departments_of_the_region(client, org):
    client.force_login(org.director)
    html = client.get("/customers/").content.decode()
    assert _select(html, "department") == ["全部", "华东", "销售一部", "一组", "销售二部"]


def test_long_status_options_get_a_wide_filter_column(client, org):
    client.force_login(org.rep1)
    html = client.get("/sales/leads/").content.decode()
    assert _select(html, "status")[0] == "进行中（新建至合格）"
    assert _column_of(html, "status") == "col-sm-6 col-md-4 col-xl-3"
    assert _column_of(html, "grade") == "col-sm-6 col-md-4 col-xl-2"


def test_the_language_switch_names_each_language_in_its_own_name(client, org):
    client.force_login(org.rep1)
    assert _select(client.get("/").content.decode(), "language") == ["简体中文", "English"]
    client.cookies["django_language"] = "en"
    assert _select(client.get("/").content.decode(), "language") == ["简体中文", "English"]


def test_english_headers_and_labels_start_with_a_capital(client, org):
    ScoringRule.objects.create(criterion=ScoringRule.Criterion.HAS_MOBILE, points=10)
    client.force_login(org.admin)
    client.cookies["django_language"] = "en"
    rules = client.get("/sales/rules/").content.decode()
    table = re.search(r'data-testid="scoring-rules"><thead><tr>(.*?)</tr>', rules, re.S).group(1)
    assert re.findall(r"<th[^>]*>([^<]*)</th>", table) == ["Criterion", "Value", "Points", "Active", ""]
    customer = CustomerFactory(owner=org.rep1, satisfaction_level="high")
    detail = client.get(customer.get_absolute_url()).content.decode()
    line = re.sub(
        r"<[^>]+>|\s+", " ", re.search(r'data-testid="satisfaction-level">(.*?)</div>', detail, re.S).group(1)
    ).split()
    assert " ".join(line).startswith("Satisfaction: High · Owner: ")
    customers = client.get("/customers/").content.decode()
    headers = re.findall(r'<th [^>]*scope="col">(?:<a [^>]*>)?([^<]*)', customers)
    assert headers[1:5] == ["Name", "Kind", "Mobile", "Region"] and "Owner" in headers
    form = client.get("/sales/followups/new/?customer=%d" % customer.pk).content.decode()
    assert re.search(r'<label class="form-label" for="id_channel">Channel <span', form)
