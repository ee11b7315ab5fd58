"""Lead import: check and preview, all-or-nothing commit in Celery, capture semantics
(normalized mobiles, duplicates linked, scoring, assignment), permissions."""

import io

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.tests.factories import CustomerFactory, TagFactory, TagGroupFactory
from sales import imports
from sales.models import AssignmentRule, Lead, LeadImportJob, PoolMove, ScoringRule
from sales.tests.factories import LeadFactory

GOOD_CSV = """姓名,手机号,邮箱,来源,地区,需求,标签,备注
王小明家长,+86 139-0000-1111,,转介绍,上海,五年级数学提分,意向:高,=HYPERLINK("http://x")
陈女士,139 0000 2222,chen@example.com,官网,杭州,,,
赵女士,,zhao@example.com,活动,上海,暑期夏令营,,
"""


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def scoring(db):
    ScoringRule.objects.create(criterion="source", value="referral", points=40)
    ScoringRule.objects.create(criterion="has_need", points=20)
    ScoringRule.objects.create(criterion="has_mobile", points=10)
    ScoringRule.objects.create(criterion="tag", value="高", points=5)


@pytest.fixture
def round_robin_team1(org):
    return AssignmentRule.objects.create(position=10, team=org.team1)


def upload(client, content, name="leads.csv", encoding="utf-8"):
    data = content.encode(encoding) if isinstance(content, str) else content
    response = client.post("/sales/leads/import/", {"file": SimpleUploadedFile(name, data)})
    assert response.status_code == 302, response.content.decode()[:3000]
    return LeadImportJob.objects.get(pk=response.url.rstrip("/").rsplit("/", 1)[1])


def commit(client, job, callbacks):
    with callbacks(execute=True):
        response = client.post(f"/sales/leads/import/{job.pk}/commit/")
    assert response.status_code == 302
    job.refresh_from_db()
    return job


def test_lead_list_links_to_the_import(client, org):
    client.force_login(org.rep1)
    page = client.get("/sales/leads/").content.decode()
    assert 'href="/sales/leads/import/"' in page
    page = client.get("/sales/leads/import/").content.decode()
    assert "Import leads" in page and "/sales/leads/import/sample.csv" in page


def test_sample_file_is_served_and_checks_clean(client, org, django_capture_on_commit_callbacks):
    client.force_login(org.manager1)
    response = client.get("/sales/leads/import/sample.csv")
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    job = upload(client, data, name="leads-sample.csv")
    assert job.status == LeadImportJob.Status.VALIDATED and job.errors == [] and job.total >= 3
    job = commit(client, job, django_capture_on_commit_callbacks)
    assert job.status == LeadImportJob.Status.DONE
    assert Lead.objects.count() == job.total


def test_good_file_is_previewed_then_captured_like_a_lead_from_the_form(
    client, org, scoring, round_robin_team1, django_capture_on_commit_callbacks
):
    high = TagFactory(group=TagGroupFactory(name="意向", multiple=False), name="高")
    client.force_login(org.manager1)
    job = upload(client, GOOD_CSV)
    assert job.status == LeadImportJob.Status.VALIDATED and job.errors == [] and job.total == 3
    page = client.get(f"/sales/leads/import/{job.pk}/").content.decode()
    assert "王小明家长" in page and "New lead" in page and "75 / A" in page  # 40 + 20 + 10 + 5
    assert "/commit/" in page
    assert not Lead.objects.exists()  # the check stores nothing

    job = commit(client, job, django_capture_on_commit_callbacks)
    assert job.status == LeadImportJob.Status.DONE and job.processed == 3
    wang = Lead.objects.get(mobile="13900001111")
    assert wang.name == "王小明家长" and wang.source == "referral" and wang.region == "上海"
    assert wang.score == 75 and wang.grade == "A"
    assert list(wang.tags.all()) == [high]
    assert wang.note == '=HYPERLINK("http://x")'  # stored as typed; exports neutralize it
    chen = Lead.objects.get(mobile="13900002222")
    assert chen.email == "chen@example.com" and chen.score == 10 and chen.grade == "D"
    zhao = Lead.objects.get(email="zhao@example.com")
    assert zhao.mobile == "" and zhao.score == 20
    # assigned by the rules (round-robin in team1), each move kept, like capture does
    assert {wang.owner, chen.owner, zhao.owner} == {org.rep1}
    assert PoolMove.objects.filter(reason=PoolMove.Reason.ASSIGNED).count() == 3
    assert wang.tasks.filter(by_rule="call_a_lead_24h", assignee=org.rep1).exists()  # the A-grade rule
    result = client.get(f"/sales/leads/import/{job.pk}/").content.decode()
    assert f"/sales/leads/{wang.pk}/" in result and "Created" in result


def test_file_with_bad_rows_reports_each_field_and_stores_nothing(client, org, django_capture_on_commit_callbacks):
    client.force_login(org.manager1)
    job = upload(
        client,
        "name,mobile,email,source,owner\n"
        "张伟,13800138001,,官网,\n"
        ",13800138002,,官网,\n"  # row 3: no name
        "李娜,12345,,官网,\n"  # row 4: bad mobile
        "王芳,,not-an-email,官网,\n"  # row 5: bad email
        "周杰,,,官网,\n"  # row 6: no way to reach
        "吴磊,13800138006,,火星,\n"  # row 7: unknown source
        "郑爽,13800138007,,官网,nobody\n"  # row 8: unknown owner
        "孙丽,13800138008,,官网,rep3\n",
    )  # row 9: outside the manager's scope
    assert job.status == LeadImportJob.Status.INVALID
    assert [(e["row"], e["column"]) for e in job.errors] == [
        (3, "name"),
        (4, "mobile"),
        (5, "email"),
        (6, "mobile"),
        (7, "source"),
        (8, "owner"),
        (9, "owner"),
    ]
    page = client.get(f"/sales/leads/import/{job.pk}/").content.decode()
    assert "China mobile number" in page and "Enter a valid email address" in page
    assert "/commit/" not in page
    errors = client.get(f"/sales/leads/import/{job.pk}/errors.csv")
    assert b"mobile" in b"".join(errors.streaming_content if errors.streaming else [errors.content])
    job = commit(client, job, django_capture_on_commit_callbacks)  # refused: the job has errors
    assert job.status == LeadImportJob.Status.INVALID and not Lead.objects.exists()


def test_missing_name_column_is_a_header_error(client, org):
    client.force_login(org.rep1)
    job = upload(client, "mobile,source\n13800138001,官网\n")
    assert job.status == LeadImportJob.Status.INVALID
    assert [(e["row"], e["column"]) for e in job.errors] == [(1, "name")]


def test_duplicate_mobiles_are_linked_not_assigned_twice(
    client, org, round_robin_team1, django_capture_on_commit_callbacks
):
    earlier = LeadFactory(owner=org.rep2, mobile="13900000001", name="老线索", visits=0)
    customer = CustomerFactory(owner=org.rep2, mobile="13900000002", name="老客户")
    client.force_login(org.manager1)
    job = upload(
        client,
        "name,mobile\n"
        "甲,139 0000 0001\n"  # row 2: an open lead has it
        "乙,13900000002\n"  # row 3: a customer has it
        "丙,13900000003\n"  # row 4: new
        "丙的重复,+8613900000003\n",
    )  # row 5: same as row 4
    assert job.status == LeadImportJob.Status.VALIDATED, job.errors
    assert [r["action"] for r in job.rows] == ["duplicate", "customer", "create", "duplicate"]
    page = client.get(f"/sales/leads/import/{job.pk}/").content.decode()
    assert f"Duplicate of lead #{earlier.pk}" in page and "Duplicate of row 4" in page
    assert f"Lead of existing customer #{customer.pk}" in page

    job = commit(client, job, django_capture_on_commit_callbacks)
    assert job.status == LeadImportJob.Status.DONE
    dup = Lead.objects.get(name="甲")
    assert dup.status == Lead.Status.DUPLICATE and dup.duplicate_of == earlier and dup.owner is None
    earlier.refresh_from_db()
    assert earlier.visits == 1  # the earlier lead gets the engagement
    yi = Lead.objects.get(name="乙")
    assert yi.existing_customer == customer and yi.owner == org.rep2  # the customer's owner
    bing, repeat = Lead.objects.get(name="丙"), Lead.objects.get(name="丙的重复")
    assert bing.owner == org.rep1 and bing.status == Lead.Status.ASSIGNED
    assert repeat.status == Lead.Status.DUPLICATE and repeat.duplicate_of == bing and repeat.owner is None
    assert not PoolMove.objects.filter(lead__in=[dup, repeat]).exists()


def test_commit_is_all_or_nothing(client, org):
    client.force_login(org.manager1)
    job = upload(client, "name,mobile,owner\n张伟,13800138001,rep1\n李娜,13800138002,rep2\n王芳,13800138003,rep1\n")
    assert job.status == LeadImportJob.Status.VALIDATED
    # between the check and the commit, rep2 leaves
    org.rep2.is_active = False
    org.rep2.save()
    LeadImportJob.objects.filter(pk=job.pk).update(status=LeadImportJob.Status.QUEUED)

    imports.run_lead_import(job.pk, language="en")

    job.refresh_from_db()
    assert job.status == LeadImportJob.Status.FAILED and job.finished_at is not None
    assert [(e["row"], e["column"]) for e in job.errors] == [(3, "owner")]
    assert not Lead.objects.exists()  # row 2 rolled back too
    page = client.get(f"/sales/leads/import/{job.pk}/").content.decode()
    assert "Nothing was imported: row 3 failed" in page


def test_task_runs_a_job_once(client, org):
    client.force_login(org.rep1)
    job = upload(client, "name,mobile\n张伟,13800138001\n")
    LeadImportJob.objects.filter(pk=job.pk).update(status=LeadImportJob.Status.QUEUED)
    imports.run_lead_import(job.pk, language="en")
    imports.run_lead_import(job.pk, language="en")
    assert Lead.objects.count() == 1


def test_rep_imports_leads_for_themself_only(client, org, round_robin_team1, django_capture_on_commit_callbacks):
    client.force_login(org.rep2)
    job = upload(client, "name,mobile,owner\n张伟,13800138001,\n李娜,13800138002,rep1\n")
    assert [(e["row"], e["column"]) for e in job.errors] == [(3, "owner")]
    job = upload(client, "name,mobile,owner\n张伟,13800138001,\n李娜,13800138002,rep2\n")
    job = commit(client, job, django_capture_on_commit_callbacks)
    assert job.status == LeadImportJob.Status.DONE
    assert set(Lead.objects.values_list("owner__username", flat=True)) == {"rep2"}  # not round-robin


def test_progress_and_jobs_are_private(client, org, django_capture_on_commit_callbacks):
    client.force_login(org.rep1)
    job = upload(client, "name,mobile\n张伟,13800138001\n")
    LeadImportJob.objects.filter(pk=job.pk).update(status=LeadImportJob.Status.RUNNING)
    cache.set(imports.progress_key(job.pk), {"phase": "import", "processed": 1, "total": 1})
    page = client.get(f"/sales/leads/import/{job.pk}/progress/").content.decode()
    assert "1 / 1 rows" in page and "hx-get" in page
    client.force_login(org.rep2)
    assert client.get(f"/sales/leads/import/{job.pk}/").status_code == 404
    assert client.get(f"/sales/leads/import/{job.pk}/progress/").status_code == 404
    assert client.post(f"/sales/leads/import/{job.pk}/commit/").status_code == 404


def test_marketing_cannot_import_leads(client, org):
    client.force_login(org.marketing)
    assert client.get("/sales/leads/import/").status_code == 403


def test_xlsx_file_is_read(client, org):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "手机号", "来源"])
    sheet.append(["张伟", 13800138001, "官网"])
    buffer = io.BytesIO()
    book.save(buffer)
    client.force_login(org.rep1)
    job = upload(client, buffer.getvalue(), name="leads.xlsx")
    assert job.status == LeadImportJob.Status.VALIDATED
    assert job.rows[0]["values"]["mobile"] == "13800138001" and job.rows[0]["values"]["source"] == "website"


def test_too_many_rows_is_refused(client, org, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 2)
    client.force_login(org.rep1)
    response = client.post(
        "/sales/leads/import/",
        {
            "file": SimpleUploadedFile(
                "leads.csv", "name,mobile\n甲,13800138001\n乙,13800138002\n丙,13800138003\n".encode()
            )
        },
    )
    assert response.status_code == 200 and "more than 2 rows" in response.content.decode()
    assert not LeadImportJob.objects.exists()
