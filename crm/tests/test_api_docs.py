"""/api/docs/ is enough to make a first order (issue 13, item 28): it says how to get a token, which
scope each operation needs and what 200 and 201 mean; every operation has a summary and the
security requirement is listed once. The last test follows the documented steps literally."""

import json
import re
import shlex

from django.core.management import call_command

from crm.api.schema import CREATED, REPEATED


def schema(client, org):
    client.force_login(org.admin)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"/api/schema/" in docs.content
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    return json.loads(response.content)


def operations(spec):
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_has_a_summary_its_scope_and_security_once(client, org):
    spec = schema(client, org)
    assert "security" not in spec  # not a second time on top of each operation's own
    assert spec["components"]["securitySchemes"] == {"bearerAuth": {"type": "http", "scheme": "bearer"}}
    scopes = {}
    for name, operation in operations(spec):
        assert operation.get("summary"), f"{name} has no summary"
        assert operation["security"] == [{"bearerAuth": []}], name
        if name != "GET /api/v1/ping":
            scope = operation["x-required-scope"]
            assert operation["description"].startswith(f"**Scope:** `{scope}`."), name
            assert scope in operation["responses"]["403"]["description"], name
            scopes[name] = scope
    assert scopes["POST /api/v1/orders"] == "orders" and scopes["POST /api/v1/leads"] == "leads"
    orders = spec["paths"]["/api/v1/orders"]["post"]["responses"]
    assert (orders["201"]["description"], orders["200"]["description"]) == (CREATED, REPEATED)


def test_the_docs_say_how_to_get_a_token_and_what_200_and_201_mean(client, org):
    guide = schema(client, org)["info"]["description"]
    assert "Administration → API clients → New" in guide
    assert "python manage.py create_api_token" in guide
    assert "Authorization" in guide and "Bearer <token>" in guide
    assert "**201** — created" in guide and "**200** — done" in guide


def test_a_developer_follows_the_docs_to_a_first_order(client, org, capsys):
    guide = schema(client, org)["info"]["description"]
    # step 1, as documented: the command, and the token on its last line
    command = re.search(r"^python manage.py (create_api_token .+)$", guide, re.M).group(1)
    call_command(*shlex.split(command))
    token = capsys.readouterr().out.strip().splitlines()[-1]
    # step 2, as documented: the curl example, header and body as written
    curl = re.search(r"^curl -X POST (\S+) \\\n(.*?)\n```", guide, re.M | re.S)
    url, rest = curl.group(1), curl.group(2)
    path = re.sub(r"^https?://[^/]+", "", url)
    headers = dict(h.split(": ", 1) for h in re.findall(r'-H "([^"]+)"', rest))
    body = re.search(r"-d '(.*)'", rest).group(1)
    meta = {"HTTP_AUTHORIZATION": headers["Authorization"].replace("<token>", token)}
    client.logout()
    first = client.post(path, data=body, content_type=headers["Content-Type"], **meta)
    assert first.status_code == 201, first.content
    order = first.json()
    assert (order["external_id"], order["amount"], order["status"]) == ("SHOP-10001", "128.00", "paid")
    # as documented: the same request again changes nothing and answers 200 with the same order
    again = client.post(path, data=body, content_type=headers["Content-Type"], **meta)
    assert again.status_code == 200 and again.json()["id"] == order["id"]
    from customers.models import Customer

    assert Customer.objects.get(mobile="13800138000").name == "王小明"
