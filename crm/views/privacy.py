"""The personal-data access log and the retention setting (administrators)."""

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from .. import permissions
from ..models import AccessLog, PrivacySettings, User
from ..ui import LocalDateTimeColumn, ScopedListView, StyledFormMixin


class AccessLogTable(tables.Table):
    at = LocalDateTimeColumn(verbose_name=gettext_lazy("when"))
    user = tables.Column(verbose_name=gettext_lazy("who"), default="—", order_by=("user__username",))
    client = tables.Column(verbose_name=gettext_lazy("API client"), default="—")
    action = tables.Column(verbose_name=gettext_lazy("action"))
    subject = tables.Column(verbose_name=gettext_lazy("whose data"))
    count = tables.Column(verbose_name=gettext_lazy("people"))
    detail = tables.Column(verbose_name=gettext_lazy("detail"), default="")
    ip = tables.Column(verbose_name=gettext_lazy("IP address"), default="—")

    class Meta:
        model = AccessLog
        fields = ("at", "user", "client", "action", "subject", "count", "detail", "ip")
        attrs = {"class": "table table-sm align-middle mb-0"}
        order_by = ("-at",)


class AccessLogFilter(django_filters.FilterSet):
    user = django_filters.ModelChoiceFilter(queryset=User.objects.filter(is_service=False), label=gettext_lazy("who"))
    action = django_filters.ChoiceFilter(choices=AccessLog.Action.choices, label=gettext_lazy("action"))
    subject = django_filters.ChoiceFilter(choices=AccessLog.Subject.choices, label=gettext_lazy("whose data"))
    person = django_filters.NumberFilter(method="filter_person", label=gettext_lazy("customer or lead id"), min_value=1)
    since = django_filters.DateFilter(field_name="at", lookup_expr="date__gte", label=gettext_lazy("from"))
    until = django_filters.DateFilter(field_name="at", lookup_expr="date__lte", label=gettext_lazy("to"))

    class Meta:
        model = AccessLog
        fields = ["user", "action", "subject", "person", "since", "until"]

    def filter_person(self, queryset, name, value):
        return queryset.filter(records__object_id=value).distinct()

    def get_form_class(self):
        return type("StyledFilterForm", (StyledFormMixin, super().get_form_class()), {})


class RetentionForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = PrivacySettings
        fields = ["lead_retention_days"]


class AccessLogView(ScopedListView):
    model = AccessLog
    table_class = AccessLogTable
    filterset_class = AccessLogFilter
    template_name = "crm/admin/privacy.html"
    view_action = "privacy.manage"
    export_action = "privacy.manage"
    title = gettext_lazy("Personal data")
    export_name = "personal-data-access"
    empty_text = gettext_lazy("No one has viewed, revealed or exported personal data yet.")

    def get_queryset(self):
        return AccessLog.objects.select_related("user", "client")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["retention_form"] = kwargs.get("retention_form") or RetentionForm(instance=PrivacySettings.current())
        return context


@login_required
@require_POST
def retention_update(request):
    permissions.require(request.user, "privacy.manage")
    form = RetentionForm(request.POST, instance=PrivacySettings.current())
    if form.is_valid():
        form.save()
        messages.success(request, _("Retention setting saved."))
    else:
        messages.error(request, _("Enter a whole number of days, or leave it empty."))
    return redirect("org:privacy")
