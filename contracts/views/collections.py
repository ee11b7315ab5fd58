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
from crm.ui import ScopedListView, export_rows
from customers.services.sources import all_source_choices

from .. import selectors
from ..filters import BUCKET_LABELS, InstalmentFilter
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
    if request.GET.get("export") == "xlsx":
        permissions.require(request.user, "contracts.export")
        labels = [str(BUCKET_LABELS[code]) for code, _v in data["ageing"]]
        rows = [[_("Rep") if group == "owner" else _("Department"), _("Planned"), _("Received"), _("Overdue"), *labels]]
        rows += [[g["name"], g["planned"], g["received"], g["overdue"], *g["ageing"]] for g in data["groups"]]
        rows += [[], [_("Month"), _("Planned"), _("Received")]]
        rows += [[m["month"], m["planned"], m["received"]] for m in data["months"]]
        return export_rows(rows, fmt="xlsx", filename="collections", sheet=_("Collections"))
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
            # the channel, kept on every link: the year, the grouping, the drill-downs, the XLSX
            "keep": urlencode({"source": source}) if source else "",
        },
    )


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
