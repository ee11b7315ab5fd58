"""回款看板: planned against received by month, overdue ageing, per rep or department, drill-down
to the instalments behind a figure, and XLSX."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm import permissions
from crm.models import Department, User
from crm.names import person_name
from crm.ui import ScopedListView, export_rows
from customers.services.sources import all_source_choices

from .. import selectors
from ..filters import BUCKET_LABELS, NO_DEPARTMENT, InstalmentFilter
from ..models import Contract, Instalment
from ..tables import InstalmentTable


def _year(request):
    value = request.GET.get("year", "")
    today = timezone.localdate()
    return int(value) if value.isdigit() and 2000 <= int(value) <= 2100 else today.year


@login_required
def collections(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "contracts.view")
    group = "department" if request.GET.get("group") == "department" else "owner"
    channels = all_source_choices()
    source = request.GET.get("source", "")
    source = source if source in {code for code, _name in channels} else ""
    data = selectors.collections(request.user, year=_year(request), group=group, source=source)
    channel = dict(channels).get(source, "")  # the heading, the XLSX's sheet
    if request.GET.get("export") == "xlsx":
        permissions.require(request.user, "contracts.export")
        labels = [str(BUCKET_LABELS[code]) for code, _v in data["ageing"]]
        rows = [[_("Rep") if group == "owner" else _("Department"), _("Planned"), _("Received"), _("Overdue"), *labels]]
        rows += [[g["name"], g["planned"], g["received"], g["overdue"], *g["ageing"]] for g in data["groups"]]
        rows += [[], [_("Month"), _("Planned"), _("Received")]]
        rows += [[f"{data['year']}-{m['month']:02d}", m["planned"], m["received"]] for m in data["months"]]
        # the file and its sheet name the period and the channel the figures are of
        return export_rows(
            rows,
            fmt="xlsx",
            filename="-".join(str(part) for part in ("collections", data["year"], source) if part),
            sheet=" · ".join(str(part) for part in (_("Collections"), data["year"], channel) if part),
        )
    data["ageing"] = [(code, BUCKET_LABELS[code], value) for code, value in data["ageing"]]
    for row in data["groups"]:
        row["ageing"] = list(zip([code for code, _l, _v in data["ageing"]], row["ageing"]))
    return render(
        request,
        "contracts/collections.html",
        {
            "data": data,
            "can_export": permissions.can(request.user, "contracts.export"),
            "channels": channels,
            "channel": channel,
            # the channel, kept on every link: the year, the grouping, the drill-downs, the XLSX
            # (a rep's or department's planned and received drill down to the instalments due in the
            # year; its overdue figures are as of today, whatever year the instalments fell due in)
            "keep": urlencode({"source": source}) if source else "",
        },
    )


def drill_down_period(form) -> list[str]:
    """What the drill-down's rows are behind, as the dashboard's cell showed it: the year or the
    month (``2026``, ``2026-03``), the rep or the department, the channel, and for an overdue
    figure the bucket as of today (overdue figures count every year's instalments). Invalid or
    absent filters add nothing (the filter form says what is wrong with them). ``form``: the
    drill-down's bound filter form."""
    if not form.is_valid():
        return []
    data = form.cleaned_data
    parts = []
    year, month = data.get("year"), data.get("month")
    if year:
        parts.append(f"{int(year)}-{int(month):02d}" if month else str(int(year)))
    if data.get("owner"):
        person = User.objects.filter(pk=data["owner"]).first()
        if person is not None:
            parts.append(person_name(person) or person.username)
    if data.get("department") == NO_DEPARTMENT:
        parts.append(str(_("No department")))
    elif (data.get("department") or "").isdigit():
        name = Department.objects.filter(pk=data["department"]).values_list("name", flat=True).first()
        if name:
            parts.append(name)
    if data.get("source"):
        parts.append(str(dict(all_source_choices()).get(data["source"], data["source"])))
    bucket = data.get("bucket")
    if bucket:
        today = timezone.localdate().isoformat()
        if bucket in BUCKET_LABELS:
            parts.append(_("overdue %(bucket)s as of %(date)s") % {"bucket": BUCKET_LABELS[bucket], "date": today})
        else:  # every overdue instalment, the rep's or department's "overdue" cell
            parts.append(_("overdue as of %(date)s") % {"date": today})
    return parts


class InstalmentListView(ScopedListView):
    """The drill-down: the instalments behind a figure of the dashboard."""

    model = Instalment
    table_class = InstalmentTable
    filterset_class = InstalmentFilter
    view_action = "contracts.view"
    export_action = "contracts.export"
    export_name = "instalments"
    title = gettext_lazy("Instalments")
    card_fields = ("contract", "due_on", "amount")

    def get_filterset(self, filterset_class):
        filterset = super().get_filterset(filterset_class)
        parts = drill_down_period(filterset.form)
        # the heading, the XLSX's sheet and its file name say which figure the rows are behind
        self.title = " · ".join([str(type(self).title), *parts])
        self.export_name = "-".join(["instalments", *(p for p in parts if p[:1].isdigit())])
        return filterset

    def get_queryset(self):
        # the instalments the dashboard counts: those of active contracts
        return (
            selectors.instalments_for(self.request.user)
            .filter(contract__status=Contract.Status.ACTIVE)
            .order_by("due_on", "id")
        )


urlpatterns = [
    path("collections/", collections, name="collections"),
    path("collections/instalments/", InstalmentListView.as_view(), name="instalments"),
]
