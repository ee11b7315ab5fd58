"""A manager's monthly attendance table of the team, on the page and as XLSX."""

import datetime
import io

from django.urls import reverse

from field.models import ClockIn
from field.services.clock import clock

from .conftest import OFFICE, local


def _month(org):
    for day, start, end in ((1, (8, 58), (18, 2)), (2, (9, 20), (17, 30))):
        date = datetime.date(2026, 12, day)
        clock(user=org.rep1, kind=ClockIn.Kind.START, latitude=OFFICE[0], longitude=OFFICE[1], now=local(date, *start))
        clock(user=org.rep1, kind=ClockIn.Kind.END, latitude="31.3", longitude="121.5", now=local(date, *end))
    clock(user=org.rep3, kind=ClockIn.Kind.START, now=local(datetime.date(2026, 12, 1), 9, 0))


def test_the_manager_reads_each_persons_month(client, org, office, django_assert_max_num_queries):
    _month(org)
    client.force_login(org.manager1)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("field:attendance") + "?month=2026-12")
    table = response.context
    rows = {row["person"].username: row for row in table["rows"]}
    assert sorted(rows) == ["manager1", "rep1", "rep2"]  # rep3 is another department's
    rep1 = rows["rep1"]
    assert (rep1["present"], rep1["late"], rep1["early"], rep1["outside"]) == (2, 1, 1, 2)
    assert len(table["days"]) == 31
    page = response.content.decode()
    assert "09:20迟" in page and "17:30早外" in page  # the letters of the legend
    assert '<td data-testid="present">2</td>' in page


def test_the_month_downloads_as_xlsx(client, org, office):
    from openpyxl import load_workbook

    _month(org)
    client.force_login(org.manager1)
    response = client.get(reverse("field:attendance") + "?month=2026-12&export=xlsx")
    assert response["Content-Disposition"] == 'attachment; filename="attendance-2026-12.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]}
    rep1 = rows[org.rep1.display_name]
    assert rep1[1:6] == ("一组", 2, 1, 1, 2)
    assert rep1[6:8] == ("08:58 / 18:02(外)", "09:20(迟) / 17:30(早外)")


def test_a_rep_has_no_attendance_table(client, org):
    client.force_login(org.rep1)
    assert client.get(reverse("field:attendance")).status_code == 403
    assert client.get(reverse("field:attendance") + "?export=xlsx").status_code == 403


def test_a_department_outside_the_managers_scope_is_not_found(client, org):
    client.force_login(org.manager1)
    assert client.get(reverse("field:attendance") + f"?department={org.sales2.pk}").status_code == 404
    assert client.get(reverse("field:attendance") + "?month=2026-13").status_code == 404
