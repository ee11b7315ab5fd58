"""Pages for system admins: departments, users (role and data scope), API clients and tokens,
and the audit log."""

import django_filters
import django_tables2 as tables
from auditlog.models import LogEntry
from django import forms
from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import validate_password
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from .. import audit, outbound, permissions, privacy, services
from ..labels import colon
from ..models import DEFAULT_SCOPE, ApiClient, ApiScope, ApiToken, Department, Role, User
from ..ui import ScopedListView, StyledFormMixin


def _require_admin(request, action="org.manage"):
    permissions.require(request.user, action)


# ---------------------------------------------------------------- departments
class DepartmentForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Department
        fields = ["name", "kind", "parent", "manager", "wecom_webhook"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = User.objects.filter(is_service=False, is_active=True)
        if self.instance.pk:
            self.fields["parent"].queryset = Department.objects.exclude(path__startswith=self.instance.path)

    def clean_wecom_webhook(self):
        url = self.cleaned_data.get("wecom_webhook", "")
        outbound.validate_url(url)
        return url

    def clean(self):
        data = super().clean()
        parent = data.get("parent")
        if self.instance.pk and parent and parent.path.startswith(self.instance.path):
            self.add_error("parent", _("A department cannot sit below itself."))
        return data


@login_required
def department_list(request):
    _require_admin(request, "org.view")
    departments = (
        Department.objects.select_related("parent", "manager").annotate(member_count=Count("members")).order_by("path")
    )  # the tree's order (Meta.ordering is dropped in a query with GROUP BY)
    return render(
        request,
        "crm/admin/departments.html",
        {
            "departments": departments,
            "can_manage": permissions.can(request.user, "org.manage"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def department_form(request, pk=None):
    _require_admin(request)
    department = get_object_or_404(Department, pk=pk) if pk else None
    form = DepartmentForm(request.POST or None, instance=department)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Department %(name)s saved.") % {"name": form.instance.name})
        return redirect("org:departments")
    return render(
        request,
        "crm/admin/form.html",
        {
            "form": form,
            "title": _("Edit department") if department else _("New department"),
            "cancel_url": reverse_lazy("org:departments"),
        },
    )


# ---------------------------------------------------------------- users
class UserTable(tables.Table):
    username = tables.Column(linkify=("org:user_edit", {"pk": tables.A("pk")}))
    name = tables.Column(verbose_name=gettext_lazy("name"), accessor="last_name", order_by=("last_name", "first_name"))
    department = tables.Column(order_by=("department__name",))
    is_active = tables.BooleanColumn(verbose_name=gettext_lazy("active"))

    class Meta:
        model = User
        fields = ("username", "name", "department", "role", "data_scope", "email", "is_active", "last_login")
        attrs = {"class": "table table-hover align-middle mb-0"}
        order_by = ("username",)

    def render_name(self, record):
        return str(record)


class UserFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=gettext_lazy("Search"))
    department = django_filters.ModelChoiceFilter(queryset=Department.objects.all(), label=gettext_lazy("department"))
    role = django_filters.ChoiceFilter(choices=Role.choices, label=gettext_lazy("role"))
    is_active = django_filters.ChoiceFilter(
        label=gettext_lazy("active"),
        choices=[("1", gettext_lazy("Yes")), ("0", gettext_lazy("No"))],
        method="filter_active",
        empty_label=gettext_lazy("All"),
    )

    class Meta:
        model = User
        fields = ["q", "department", "role", "is_active"]

    def get_form_class(self):
        return type("StyledFilterForm", (StyledFormMixin, super().get_form_class()), {})

    def filter_active(self, queryset, name, value):
        return queryset.filter(is_active=value == "1")

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(username__icontains=value)
            | Q(first_name__icontains=value)
            | Q(last_name__icontains=value)
            | Q(email__icontains=value)
        )


class UserListView(ScopedListView):
    model = User
    table_class = UserTable
    filterset_class = UserFilter
    view_action = "org.view"
    export_action = "org.manage"
    title = gettext_lazy("Users")
    export_name = "users"
    create_url = reverse_lazy("org:user_create")
    create_action = "org.manage"

    def get_queryset(self):
        qs = User.objects.filter(is_service=False).select_related("department")
        if not permissions.can(self.request.user, "org.manage"):
            ids = permissions.scope_department_ids(self.request.user)
            qs = qs.filter(department_id__in=sorted(ids))
        return qs


class UserForm(StyledFormMixin, forms.ModelForm):
    password = forms.CharField(
        label=gettext_lazy("Password"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=gettext_lazy("Leave empty to keep the current password."),
    )

    class Meta:
        model = User
        fields = [
            "username",
            "last_name",
            "first_name",
            "email",
            "mobile",
            "department",
            "role",
            "data_scope",
            "is_active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            self.fields["password"].required = True
            self.fields["password"].help_text = ""
        self.fields["data_scope"].help_text = _(
            "Reps usually see their own records; managers their department and below."
        )

    def clean_password(self):
        password = self.cleaned_data.get("password")
        if password:
            validate_password(password, self.instance)
        return password


@login_required
@require_http_methods(["GET", "POST"])
def user_form(request, pk=None):
    _require_admin(request)
    user = get_object_or_404(User, pk=pk, is_service=False) if pk else None
    initial = {} if user else {"data_scope": DEFAULT_SCOPE[Role.REP]}
    form = UserForm(request.POST or None, instance=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        account = form.save(commit=False)
        if form.cleaned_data.get("password"):
            account.set_password(form.cleaned_data["password"])
        account.save()
        messages.success(request, _("User %(name)s saved.") % {"name": account.username})
        return redirect("org:users")
    return render(
        request,
        "crm/admin/form.html",
        {
            "form": form,
            "title": _("Edit user") if user else _("New user"),
            "cancel_url": reverse_lazy("org:users"),
        },
    )


# ---------------------------------------------------------------- API clients and tokens
class ApiClientForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = ApiClient
        fields = ["name", "description", "department", "can_see_mobile", "is_active"]


class TokenForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=gettext_lazy("Token name"), max_length=100, required=False)
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("Scopes"), choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple
    )
    expires_at = forms.DateTimeField(label=gettext_lazy("Expires at"), required=False, widget=forms.DateTimeInput())


@login_required
def api_client_list(request):
    _require_admin(request, "api.manage")
    clients = ApiClient.objects.select_related("department").annotate(token_count=Count("tokens"))
    return render(request, "crm/admin/api_clients.html", {"clients": clients})


@login_required
@require_http_methods(["GET", "POST"])
def api_client_form(request, pk=None):
    _require_admin(request, "api.manage")
    client = get_object_or_404(ApiClient, pk=pk) if pk else None
    form = ApiClientForm(request.POST or None, instance=client)
    if request.method == "POST" and form.is_valid():
        if client is None:
            client = services.create_api_client(actor=request.user, **form.cleaned_data)
        else:
            form.save()
        messages.success(request, _("Client %(name)s saved.") % {"name": client.name})
        return redirect("org:api_client", pk=client.pk)
    return render(
        request,
        "crm/admin/form.html",
        {
            "form": form,
            "title": _("Edit API client") if client else _("New API client"),
            "cancel_url": reverse_lazy("org:api_clients"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def api_client_detail(request, pk):
    _require_admin(request, "api.manage")
    client = get_object_or_404(ApiClient, pk=pk)
    form = TokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        token, new_token = services.issue_token(
            client=client,
            scopes=form.cleaned_data["scopes"],
            name=form.cleaned_data["name"],
            expires_at=form.cleaned_data["expires_at"],
        )
        messages.success(request, _("Token created. Copy it now: it will not be shown again."))
        form = TokenForm()
    return render(
        request,
        "crm/admin/api_client_detail.html",
        {
            "client": client,
            "tokens": client.tokens.all(),
            "form": form,
            "new_token": new_token,
        },
    )


@login_required
@require_POST
def api_token_revoke(request, pk):
    _require_admin(request, "api.manage")
    token = get_object_or_404(ApiToken, pk=pk)
    services.revoke_token(token=token)
    messages.success(request, _("Token %(prefix)s revoked.") % {"prefix": token.prefix})
    return redirect("org:api_client", pk=token.client_id)


# ---------------------------------------------------------------- audit log
@login_required
@require_POST
def audit_reveal(request, pk):
    """One entry's changes with the contact details in full: the same rule as the reveal on a
    customer's or lead's page (roles that may reveal, one person at a time), logged as a reveal."""
    _require_admin(request, "audit.view")
    if not privacy.may_reveal(request.user):
        raise PermissionDenied
    entry = get_object_or_404(LogEntry.objects.select_related("actor", "content_type"), pk=pk)
    subject = audit.person_subject(entry)
    if subject is None or entry.object_id is None:
        raise Http404
    privacy.log_access(
        action=privacy.Action.REVEAL,
        subject=subject,
        ids=[entry.object_id],
        request=request,
        detail=_("Audit log entry %(id)s") % {"id": entry.pk},
    )
    lines = audit.change_rows([entry], mask=False).get(entry.pk, [])
    return render(
        request,
        "crm/admin/audit_reveal.html",
        {"entry": entry, "lines": lines, "who": audit.who(entry), "record": audit.record_name(entry)},
    )


class AuditTable(tables.Table):
    timestamp = tables.DateTimeColumn(format="Y-m-d H:i:s", verbose_name=gettext_lazy("time"))
    actor = tables.Column(verbose_name=gettext_lazy("who"), default="—", order_by=("actor__username",), empty_values=())
    remote_addr = tables.Column(verbose_name=gettext_lazy("IP address"), default="—")
    action = tables.Column(verbose_name=gettext_lazy("action"))
    content_type = tables.Column(verbose_name=gettext_lazy("record type"), order_by=("content_type__model",))
    object_repr = tables.Column(verbose_name=gettext_lazy("record"))
    changes = tables.Column(verbose_name=gettext_lazy("changes"), orderable=False, empty_values=())

    class Meta:
        model = LogEntry
        fields = ("timestamp", "actor", "action", "content_type", "object_repr", "changes", "remote_addr")
        attrs = {"class": "table table-sm align-middle mb-0"}
        order_by = ("-timestamp",)

    ACTIONS = {
        0: gettext_lazy("Created"),
        1: gettext_lazy("Changed"),
        2: gettext_lazy("Deleted"),
        3: gettext_lazy("Viewed"),
    }

    def __init__(self, *args, mask=True, can_reveal=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.mask = mask  # contact details masked unless the viewer may see them (crm.privacy)
        self.can_reveal = can_reveal  # one entry at a time, logged like a reveal on the person's page

    def render_action(self, record):
        return self.ACTIONS.get(record.action, record.get_action_display())

    def render_content_type(self, value):
        model = value.model_class()
        return model._meta.verbose_name if model else value.model

    def render_actor(self, record):
        return audit.who(record)

    def value_actor(self, record):
        return audit.who(record)

    def render_object_repr(self, record):
        return audit.record_name(record)

    def value_object_repr(self, record):
        return audit.record_name(record)

    def value_timestamp(self, record):
        return audit.local_time(record.timestamp)

    def value_action(self, record):
        return str(self.render_action(record))

    def value_content_type(self, record):
        return str(self.render_content_type(record.content_type))

    def _lines(self, record):
        """The changes of the records on this page, read together (one query per related model)."""
        cache = getattr(self, "_change_rows", None)
        if cache is None or record.pk not in cache:
            page = getattr(self, "page", None)
            records = [row.record for row in page.object_list] if page is not None else []
            if record not in records:
                records = [record]
            cache = self._change_rows = audit.change_rows(records, mask=self.mask)
        return cache.get(record.pk, [])

    def render_changes(self, record):
        lines = self._lines(record)
        if not lines:
            return ""
        show_before = record.action == LogEntry.Action.UPDATE
        listed = format_html(
            '<ul class="small mb-0 ps-3">{}</ul>',
            format_html_join(
                "",
                "<li><strong>{}</strong>{}{}{}</li>",
                (
                    (
                        label,
                        colon(),
                        format_html("{} → ", old or "—") if show_before else "",
                        new or ("—" if show_before else old),
                    )
                    for label, old, new in lines
                ),
            ),
        )
        if self.mask and self.can_reveal and audit.person_subject(record) and audit.holds_contact(record):
            listed = format_html(
                '{}<form method="post" action="{}" class="d-inline"><input type="hidden" name="csrfmiddlewaretoken" '
                'value="{}"><button class="btn btn-link btn-sm p-0" type="submit">{}</button></form>',
                listed,
                reverse("org:audit_reveal", args=[record.pk]),
                get_token(self.request),
                _("Reveal"),
            )
        return listed

    def value_changes(self, record):
        return audit.changes_text(audit.change_rows([record], mask=self.mask).get(record.pk, []), record.action)


def _audited_types():
    """The record types the audit log holds (the models registered with auditlog), not every
    internal table (rollups, cursors, outbox rows), which have no entries and no Chinese names."""
    from auditlog.registry import auditlog

    types = ContentType.objects.get_for_models(*auditlog.get_models()).values()
    return ContentType.objects.filter(pk__in=sorted(t.pk for t in types))


class AuditFilter(django_filters.FilterSet):
    object_repr = django_filters.CharFilter(lookup_expr="icontains", label=gettext_lazy("record"))
    content_type = django_filters.ModelChoiceFilter(
        queryset=lambda request: _audited_types(),
        label=gettext_lazy("record type"),
    )
    actor = django_filters.ModelChoiceFilter(queryset=User.objects.all(), label=gettext_lazy("who"))
    action = django_filters.ChoiceFilter(choices=list(AuditTable.ACTIONS.items()), label=gettext_lazy("action"))
    since = django_filters.DateFilter(field_name="timestamp", lookup_expr="date__gte", label=gettext_lazy("from"))
    until = django_filters.DateFilter(field_name="timestamp", lookup_expr="date__lte", label=gettext_lazy("to"))

    class Meta:
        model = LogEntry
        fields = ["object_repr", "content_type", "actor", "action", "since", "until"]

    def get_form_class(self):
        return type("StyledFilterForm", (StyledFormMixin, super().get_form_class()), {})


class AuditLogView(ScopedListView):
    model = LogEntry
    table_class = AuditTable
    filterset_class = AuditFilter
    view_action = "audit.view"
    export_action = "audit.view"
    title = gettext_lazy("Audit log")
    export_name = "audit-log"

    def get_queryset(self):
        return LogEntry.objects.select_related("actor", "content_type")

    def get_table_kwargs(self):
        return {
            **super().get_table_kwargs(),
            "mask": not privacy.may_see_contact(self.request.user),
            "can_reveal": privacy.may_reveal(self.request.user),
        }

    def on_export(self, queryset):
        """The export holds the history of customers and leads: it is logged in the personal-data
        access log like the customer exports, naming every person whose history was exported."""
        for label, subject in (("customers.Customer", privacy.Subject.CUSTOMER), ("sales.Lead", privacy.Subject.LEAD)):
            model = apps.get_model(label)
            ids = (
                queryset.order_by()
                .filter(content_type=ContentType.objects.get_for_model(model))
                .exclude(object_id__isnull=True)
                .values_list("object_id", flat=True)
                .distinct()
            )
            privacy.log_access(
                action=privacy.Action.EXPORT,
                subject=subject,
                queryset=ids,
                request=self.request,
                detail=_("Audit log export") + (f" ?{self.request.GET.urlencode()}" if self.request.GET else ""),
            )
