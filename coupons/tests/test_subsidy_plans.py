import io
from decimal import Decimal
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from coupons.models import Batch, SubsidyPlan, SubsidyPlanVersion
from coupons.services import subsidy
from coupons.tests.factories import make_batch

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "import-samples" / "subsidy-plan.csv"
CSV = "id,conversion,aov\nm1,0.10,100\nm2,0.20,300\nm3,0.30,200\n"
PARAMS = {"a": "10", "b": "50", "t": "2", "weights": "conversion=0.5,aov=0.5", "budget": "", "note": ""}


def upload(client, content=CSV, name="plan.csv", url="/coupons/subsidy/new/", **extra):
    data = {"name": "Q4 商品补贴", "subject": "products", **PARAMS, **extra}
    if content is not None:
        data["file"] = SimpleUploadedFile(name, content if isinstance(content, bytes) else content.encode())
    return client.post(url, data)


def test_preview_shows_the_formula_per_row_and_the_chart(client, org):
    client.force_login(org.marketing)
    page = upload(client, action="preview")
    html = page.content.decode()
    assert page.status_code == 200
    # m2: Y = 0.5 × 0.5 + 0.5 × 1 = 0.75 → X = 10 + 0.75² × 40 = 32.50; total 10 + 32.50 + 32.50
    assert "32.50" in html and "¥75.00" in html
    assert 'data-chart="subsidy-chart"' in html and 'id="subsidy-chart"' in html
    assert not SubsidyPlan.objects.exists()


def test_save_creates_numbered_versions_and_keeps_earlier_ones(english, client, org):
    client.force_login(org.marketing)
    first = upload(client, action="save")
    version = SubsidyPlanVersion.objects.get()
    assert first.status_code == 302 and first["Location"] == version.get_absolute_url()
    assert version.number == 1 and version.total == Decimal("75.00") and version.created_by == org.marketing
    assert {row["id"]: row["x"] for row in version.result}["m2"] == "32.50"
    page = client.get(version.get_absolute_url()).content.decode()
    assert "¥75.00" in page and 'data-chart="subsidy-chart"' in page and "Pre-fill a new batch" in page
    plan = version.plan
    # a second version from the first one's rows (no file uploaded again), other t
    start = client.get(f"/coupons/subsidy/{plan.pk}/new/?from=1")
    data_field = start.context["form"]["data"].value()
    assert data_field
    second = client.post(f"/coupons/subsidy/{plan.pk}/new/", {**PARAMS, "t": "1", "data": data_field, "action": "save"})
    assert second.status_code == 302
    assert list(plan.versions.order_by("number").values_list("number", "total")) == [
        (1, Decimal("75.00")),
        (2, Decimal("10.00") + Decimal("40.00") + Decimal("40.00")),
    ]
    listing = client.get(plan.get_absolute_url()).content.decode()
    assert "v1" in listing and "v2" in listing and str(org.marketing) in listing
    compared = client.get(f"/coupons/subsidy/{plan.pk}/compare/?left=1&right=2").content.decode()
    assert "+7.50" in compared and "+15.00" in compared  # m2 32.50 → 40.00; total 75 → 90


def test_upload_errors_name_the_row_and_field(english, client, org):
    client.force_login(org.marketing)
    page = upload(client, "id,conversion,aov\nm1,0.1,100\nm2,abc,300\nm3,0.3,\n", action="save")
    html = page.content.decode()
    assert page.status_code == 200 and not SubsidyPlan.objects.exists()
    assert "Row 3, field conversion" in html and "Row 4, field aov" in html
    missing = upload(client, action="preview", weights="conversion=0.5,gmv=0.5")
    assert "Not a column of the file: gmv" in missing.content.decode()


def test_xlsx_upload_and_the_sample_file(client, org):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in [("id", "conversion", "aov"), ("m1", 0.1, 100), ("m2", 0.2, 300), ("m3", 0.3, 200)]:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    client.force_login(org.marketing)
    assert upload(client, buffer.getvalue(), name="plan.xlsx", action="save").status_code == 302
    assert SubsidyPlanVersion.objects.get().total == Decimal("75.00")
    _fields, rows = subsidy.read_csv(SAMPLE.read_text(encoding="utf-8"))
    result = subsidy.compute(rows, a=5, b=50, t=2, weights={"conversion": 0.4, "repurchase": 0.3, "aov": 0.3})
    assert len(result.rows) == len(rows) >= 20 and not result.errors


def test_over_budget_proposes_t_and_b(client, org):
    client.force_login(org.marketing)
    html = upload(client, action="preview", budget="60").content.decode()
    assert 'data-testid="over-budget"' in html
    fit = subsidy.fit_to_budget(
        subsidy.read_csv(CSV)[1], a=10, b=50, t=2, weights={"conversion": 0.5, "aov": 0.5}, rank=False, budget=60
    )
    assert f"t = {fit['t']}" in html and f"b = ¥{fit['b']}" in html


def test_a_version_prefills_a_new_batch(client, org):
    batch = make_batch(org)
    client.force_login(org.marketing)
    upload(client, action="save")
    version = SubsidyPlanVersion.objects.get()
    go = client.get(f"{version.get_absolute_url()}use/", {"campaign": batch.campaign_id, "row": "m2"})
    assert go.status_code == 302
    form = client.get(go["Location"]).context["form"]
    assert form.initial["amount"] == Decimal("32.50") and form.initial["decay_floor"] == Decimal("10.00")
    assert form.initial["decay_factor"] == Decimal("1.00")  # median 32.50 / 32.50
    assert form.initial["scope"] == Batch.Scope.SKUS and form.initial["scope_values"] == "m2"
    assert form.initial["subsidy_version"] == version.pk
    whole = client.get(
        reverse("coupons:batch_create", args=[batch.campaign_id]), {"subsidy_version": version.pk}
    ).context["form"]
    assert whole.initial["amount"] == Decimal("32.50") and whole.initial["scope"] == Batch.Scope.ALL


def test_permissions(client, org):
    client.force_login(org.marketing)
    upload(client, action="save")
    version = SubsidyPlanVersion.objects.get()
    client.force_login(org.manager1)  # coupons.view, not coupons.manage; plan made by marketing (other department)
    assert client.get("/coupons/subsidy/").status_code == 200
    assert client.get("/coupons/subsidy/new/").status_code == 403
    assert client.get(version.get_absolute_url()).status_code == 404  # outside manager1's data scope
    client.force_login(org.rep1)
    assert client.get("/coupons/subsidy/").status_code == 403
    client.force_login(org.admin)
    assert client.get(version.get_absolute_url()).status_code == 200
