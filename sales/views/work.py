"""Daily work: follow-ups, reminders, tasks, after-sales tickets, and the workbench panels of the
home pages (``workbench_for_rep`` / ``workbench_for_manager``, used by ``crm.views.home``)."""
import datetime

import django_tables2 as tables
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F, Q, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm import permissions
from crm.approvals import kinds as approval_kinds
from crm.approvals import selectors as approval_selectors
from crm.models import DataScope, Notification, User
from crm.privacy import search_name_or_mobile
from crm.ui import LocalDateTimeColumn, ScopedListView, history_for, search_text
from customers.selectors import customers_for

from .. import services
from ..forms_work import (
    FollowUpForm,
    RescheduleForm,
    ResolveForm,
    TaskForm,
    TicketFilter,
    TicketForm,
    apply_service_errors,
)
from ..models import FollowUp, Grade, Lead, Opportunity, OpportunityStage, Reminder, ServiceTicket, Target, Task
from ..services import tickets as ticket_services
from ..filters import FollowUpFilter
from ..tables import FollowUpTable, iso_or_none

PANEL_SIZE = 8
STUCK_AFTER_DAYS = 14
POOL_WARNING_DAYS = 7


def _is_htmx(request):
    return request.headers.get("HX-Request") == "true"


def _next_or(request, default):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


def _end_of_today():
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(tomorrow, datetime.time.min))


def _open_subject(request):
    """The customer or lead named in the query (?customer= / ?lead=), inside the user's scope."""
    customer_id, lead_id = request.GET.get("customer", ""), request.GET.get("lead", "")
    if customer_id:
        if not customer_id.isdigit():
            raise Http404
        return get_object_or_404(customers_for(request.user), pk=customer_id), None
    if lead_id:
        if not lead_id.isdigit():
            raise Http404
        return None, get_object_or_404(permissions.visible(request.user, Lead.objects.select_related("owner")),
                                       pk=lead_id)
    return None, None


# --- workbench panels (home pages) ----------------------------------------------------------

def reminder_panel(user, now=None):
    """The user's overdue and today's open reminders: three queries whatever their number."""
    now = now or timezone.now()
    end = _end_of_today()
    mine = Reminder.objects.filter(owner=user, status=Reminder.Status.OPEN)
    counts = mine.aggregate(overdue=Count("id", filter=Q(due_at__lt=now)),
                            today=Count("id", filter=Q(due_at__gte=now, due_at__lt=end)))
    rows = mine.select_related("customer", "lead").order_by("due_at", "id")
    return {
        "reminders_overdue": list(rows.filter(due_at__lt=now)[:PANEL_SIZE]),
        "reminders_today": list(rows.filter(due_at__gte=now, due_at__lt=end)[:PANEL_SIZE]),
        "reminders_overdue_count": counts["overdue"],
        "reminders_today_count": counts["today"],
        "now": now,
    }


def workbench_for_rep(user, now=None):
    """A rep's workbench: reminders, open tasks, hot leads, recent pool warnings."""
    now = now or timezone.now()
    context = reminder_panel(user, now)
    tasks = Task.objects.filter(assignee=user, status=Task.Status.OPEN)
    context["tasks_open_count"] = tasks.count()
    context["tasks_open"] = list(tasks.select_related("customer", "lead")
                                 .order_by(F("due_at").asc(nulls_last=True), "id")[:PANEL_SIZE])
    context["hot_leads"] = list(Lead.objects.filter(owner=user, grade__in=(Grade.A, Grade.B),
                                                    status__in=Lead.OPEN_STATUSES)
                                .order_by("-created_at", "-id")[:PANEL_SIZE])
    context["pool_warnings"] = list(Notification.objects.filter(
        recipient=user, kind="pool_warning", created_at__gte=now - datetime.timedelta(days=POOL_WARNING_DAYS))[:5])
    return context


def count_in_scope(user, queryset):
    """``permissions.visible(user, queryset).count()``, in parts that each read one index: the
    records of the user's departments, plus the user's own outside them (disjoint, so they add
    up). The scope's single "owner = me OR department IN (...)" makes PostgreSQL read the rows."""
    model = queryset.model
    scope = permissions.effective_scope(user)
    ids = []
    if user.is_active and scope in (DataScope.DEPARTMENT, DataScope.DEPARTMENT_TREE):
        ids = sorted(permissions.scope_department_ids(user))
    if not ids:
        return permissions.visible(user, queryset).count()
    in_departments = {f"{model.scope_department_field}__in": ids}
    return (queryset.filter(**in_departments).count()
            + queryset.filter(**{model.scope_owner_field: user}).exclude(**in_departments).count())


def _owners_in_scope(user):
    """The ids of the users whose records (owned by them) ``user`` sees: themself and the users
    of the departments in scope; None when that is everyone."""
    scope = permissions.effective_scope(user)
    if scope == DataScope.ALL:
        return None
    ids = sorted(permissions.scope_department_ids(user)) if scope != DataScope.SELF else []
    return sorted({user.pk} | set(User.objects.filter(department_id__in=ids).values_list("pk", flat=True)))


def month_start_of(now):
    """The start of ``now``'s month (local time)."""
    month = timezone.localdate(now).replace(day=1)
    return timezone.make_aware(datetime.datetime.combine(month, datetime.time.min))


def team_figures(user, now=None, *, new_customers=None):
    """This month in the user's scope: amount and deals won against the team target, new
    customers (counted here unless the caller has counted them), follow-ups, and overdue
    reminders of the team."""
    now = now or timezone.now()
    start = month_start_of(now)
    month = timezone.localdate(start)
    won = permissions.visible(user, Opportunity.objects.filter(stage__is_won=True, closed_at__gte=start)).aggregate(
        amount=Sum("amount"), deals=Count("id"))
    target = None
    if user.department_id:
        target = (Target.objects.filter(department_id=user.department_id, metric=Target.Metric.AMOUNT_WON,
                                        period=Target.Period.MONTH, start=month)
                  .values_list("value", flat=True).first())
    amount = won["amount"] or 0
    return {
        "month": month,
        "amount_won": amount,
        "deals_won": won["deals"],
        "target": target,
        "attainment": round(float(amount) * 100 / float(target), 1) if target else None,
        "new_customers": new_customers if new_customers is not None
        else customers_for(user).filter(created_at__gte=start).count(),
        "followups": count_in_scope(user, FollowUp.objects.filter(at__gte=start)),
        "overdue_reminders": _overdue_reminders(user, now),
    }


def _overdue_reminders(user, now):
    """The team's open reminders past due. A reminder's scope is its owner's (department), so
    this is the reminders of the users in scope: one read of the (owner, status, due) index."""
    overdue = Reminder.objects.filter(status=Reminder.Status.OPEN, due_at__lt=now)
    if not user.is_active:
        return 0
    owners = _owners_in_scope(user)
    return overdue.count() if owners is None else overdue.filter(owner_id__in=owners).count()


def workbench_for_manager(user, now=None, *, new_customers=None):
    """A manager's or director's workbench: team figures, approvals waiting for the user's role
    in scope, opportunities stuck in a stage for 14 days, and the user's own reminders.
    ``new_customers``: this month's new customers in scope, when the caller counted them already."""
    now = now or timezone.now()
    context = reminder_panel(user, now)
    context["team"] = team_figures(user, now, new_customers=new_customers)
    opportunities = permissions.visible(user, Opportunity.objects.all())
    # 待我审批: every kind of request routed to the user (the approval engine's inbox)
    context["approvals_count"] = approval_selectors.inbox_count(user)
    context["approvals"] = [step.request for step in approval_selectors.inbox_for(user)[:PANEL_SIZE]]
    for approval in context["approvals"]:
        approval.kind_label = approval_kinds.label_of(approval.kind)
    open_stages = list(OpportunityStage.objects.filter(is_won=False, is_lost=False).values_list("pk", flat=True))
    stuck_since = now - datetime.timedelta(days=STUCK_AFTER_DAYS)
    stuck = opportunities.filter(stage_id__in=open_stages, stage_entered_at__lt=stuck_since)
    context["stuck_count"] = count_in_scope(
        user, Opportunity.objects.filter(stage_id__in=open_stages, stage_entered_at__lt=stuck_since))
    context["stuck_opportunities"] = list(stuck.select_related("customer", "owner", "stage")
                                          .order_by("stage_entered_at", "id")[:PANEL_SIZE])
    context["stuck_after_days"] = STUCK_AFTER_DAYS
    return context


# --- follow-ups -----------------------------------------------------------------------------

@login_required
def followup_create(request):
    """Record a touch with a customer (?customer=) or a lead (?lead=), optionally on an
    opportunity (&opportunity=). Shows the last touches and the contact-protection state first."""
    permissions.require(request.user, "sales.change")
    customer, lead = _open_subject(request)
    if customer is None and lead is None:
        raise Http404
    opportunities = permissions.visible(request.user, Opportunity.objects.filter(
        stage__is_won=False, stage__is_lost=False)).select_related("stage")
    opportunities = opportunities.filter(customer=customer) if customer else opportunities.filter(lead=lead)
    initial = {}
    opportunity_id = request.GET.get("opportunity", "")
    if opportunity_id:
        if not opportunity_id.isdigit():
            raise Http404
        chosen = get_object_or_404(permissions.visible(request.user, Opportunity.objects.all()), pk=opportunity_id)
        if (customer and chosen.customer_id != customer.pk) or (lead and chosen.lead_id != lead.pk):
            raise Http404  # an opportunity of another record
        initial["opportunity"] = chosen
    form = FollowUpForm(request.POST or None, initial=initial, opportunities=opportunities)
    subject = customer or lead
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.record_followup(
                actor=request.user, customer=customer, lead=lead, opportunity=data.get("opportunity"),
                content=data["content"], channel=data["channel"], direction=data["direction"],
                outcome=data["outcome"], next_followup_at=data["next_followup_at"],
                reminder_offsets=data["reminder_offsets"])
        except ValidationError as exc:
            apply_service_errors(form, exc, {"offsets": "reminder_offsets", "customer": None})
        else:
            if data["next_followup_at"]:
                messages.success(request, _("Follow-up recorded; you will be reminded on %(when)s.") % {
                    "when": timezone.localtime(data["next_followup_at"]).strftime("%Y-%m-%d %H:%M")})
            else:
                messages.success(request, _("Follow-up recorded."))
            return redirect(subject.get_absolute_url())
    return render(request, "sales/work/followup_form.html", {
        "form": form,
        "customer": customer,
        "lead": lead,
        "subject": subject,
        "recent": subject.followups.select_related("created_by", "opportunity")[:5],
        "contact": services.contact_status(customer) if customer is not None else None,
    })


# --- reminders ------------------------------------------------------------------------------

@login_required
def reminder_list(request):
    """My open reminders: overdue first, then today's, then later ones."""
    now = timezone.now()
    end = _end_of_today()
    qs = (Reminder.objects.filter(owner=request.user, status=Reminder.Status.OPEN)
          .select_related("customer", "lead", "task").order_by("due_at", "id"))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    rows = []
    for reminder in page.object_list:
        section = "overdue" if reminder.due_at < now else "today" if reminder.due_at < end else "later"
        rows.append((section, reminder))
    return render(request, "sales/work/reminders.html", {
        "page": page, "rows": rows, "now": now})


def _my_reminder(request, pk):
    return get_object_or_404(Reminder, pk=pk, owner=request.user)


def _after_reminder_action(request, error=None):
    if _is_htmx(request):
        context = reminder_panel(request.user)
        context["panel_error"] = error
        return render(request, "sales/work/panel_reminders.html", context)
    if error:
        messages.error(request, error)
    return redirect(_next_or(request, reverse("sales:reminders")))


@login_required
@require_POST
def reminder_complete(request, pk):
    reminder = _my_reminder(request, pk)
    services.complete_reminder(reminder=reminder, actor=request.user)
    if not _is_htmx(request):
        messages.success(request, _("Done: %(title)s") % {"title": reminder.title})
    return _after_reminder_action(request)


@login_required
@require_POST
def reminder_snooze(request, pk):
    """Snooze for one hour (``until=1h``) or to tomorrow 9:00 (``until=tomorrow``)."""
    reminder = _my_reminder(request, pk)
    until = request.POST.get("until")
    if until == "tomorrow":
        day = timezone.localdate() + datetime.timedelta(days=1)
        due_at = timezone.make_aware(datetime.datetime.combine(day, datetime.time(9, 0)))
    elif until == "1h":
        due_at = timezone.now() + datetime.timedelta(hours=1)
    else:
        return _after_reminder_action(request, _("Choose how long to snooze."))
    services.reschedule_reminder(reminder=reminder, due_at=due_at)
    if not _is_htmx(request):
        messages.success(request, _("Snoozed until %(when)s.") % {
            "when": timezone.localtime(due_at).strftime("%Y-%m-%d %H:%M")})
    return _after_reminder_action(request)


@login_required
@require_POST
def reminder_reschedule(request, pk):
    reminder = _my_reminder(request, pk)
    form = RescheduleForm(request.POST)
    if not form.is_valid():
        return _after_reminder_action(request, _("Enter a date and time."))
    try:
        services.reschedule_reminder(reminder=reminder, due_at=form.cleaned_data["due_at"])
    except ValidationError as exc:
        return _after_reminder_action(request, " ".join(exc.messages))
    if not _is_htmx(request):
        messages.success(request, _("Moved to %(when)s.") % {
            "when": timezone.localtime(form.cleaned_data["due_at"]).strftime("%Y-%m-%d %H:%M")})
    return _after_reminder_action(request)


# --- tasks ----------------------------------------------------------------------------------

@login_required
def task_list(request):
    """Open tasks in the user's scope: a rep's own, a manager's team's (``?mine=1``: only mine)."""
    permissions.require(request.user, "sales.view")
    qs = permissions.visible(request.user, Task.objects.filter(status=Task.Status.OPEN))
    mine = request.GET.get("mine") == "1"
    if mine:
        qs = qs.filter(assignee=request.user)
    qs = qs.select_related("assignee", "customer", "lead").order_by(F("due_at").asc(nulls_last=True), "id")
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(request, "sales/work/tasks.html", {
        "page": page, "mine": mine, "now": timezone.now(),
        "team_view": permissions.can(request.user, "sales.assign"),
    })


@login_required
def task_create(request):
    """A task by hand, optionally linked to a customer (?customer=) or a lead (?lead=)."""
    permissions.require(request.user, "sales.change")
    customer, lead = _open_subject(request)
    form = TaskForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        subject = customer or lead
        if subject is not None and not permissions.is_visible(data["assignee"], subject):
            form.add_error("assignee", _("%(user)s cannot open %(record)s.") % {"user": data["assignee"],
                                                                              "record": subject})
        else:
            try:
                task = services.create_task(actor=request.user, assignee=data["assignee"], title=data["title"],
                                            due_at=data["due_at"], priority=data["priority"],
                                            description=data["description"], customer=customer, lead=lead)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Task created: %(title)s") % {"title": task.title})
                return redirect(subject.get_absolute_url() if subject is not None else reverse("sales:tasks"))
    return render(request, "sales/work/task_form.html", {"form": form, "customer": customer, "lead": lead})


@login_required
@require_POST
def task_complete(request, pk):
    permissions.require(request.user, "sales.change")
    task = get_object_or_404(permissions.visible(request.user, Task.objects.all()), pk=pk)
    services.complete_task(task=task, actor=request.user)
    messages.success(request, _("Done: %(title)s") % {"title": task.title})
    return redirect(_next_or(request, reverse("sales:tasks")))


# --- after-sales service tickets --------------------------------------------------------------

UNRESOLVED = (ServiceTicket.Status.OPEN, ServiceTicket.Status.IN_PROGRESS)


def is_overdue(ticket, now=None):
    return bool(ticket.due_at and ticket.status in UNRESOLVED and ticket.due_at < (now or timezone.now()))


class TicketTable(tables.Table):
    kind = tables.Column()
    title = tables.Column(linkify=lambda record: reverse("sales:ticket", args=[record.pk]))
    customer = tables.Column(linkify=lambda record: record.customer.get_absolute_url(),
                             order_by=("customer__name",))
    status = tables.Column()
    owner = tables.Column(order_by=("owner__last_name", "owner__first_name"), default="—")
    due_at = LocalDateTimeColumn(format="Y-m-d H:i", default="—")
    created_at = LocalDateTimeColumn(format="Y-m-d H:i")

    class Meta:
        model = ServiceTicket
        fields = ("kind", "title", "customer", "status", "owner", "due_at", "created_at")
        attrs = {"class": "table table-hover align-middle mb-0"}
        row_attrs = {"class": lambda record: "table-danger" if is_overdue(record) else "",
                     "data-overdue": lambda record: "1" if is_overdue(record) else "0"}
        order_by = ("due_at",)
        template_name = "sales/table.html"  # the rows rendered in Python (same HTML)

    def render_due_at(self, value, record):
        text = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
        if is_overdue(record):
            return format_html('{} <span class="badge text-bg-danger">{}</span>', text, _("Overdue"))
        return text

    def value_due_at(self, value):
        return value


class FollowUpListView(ScopedListView):
    """Every follow-up in the user's scope: the list behind the dashboards' activity figures."""

    model = FollowUp
    table_class = FollowUpTable
    filterset_class = FollowUpFilter
    view_action = "sales.view"
    export_action = "sales.view"
    title = gettext_lazy("Follow-ups")
    empty_text = gettext_lazy("No follow-ups match. Record one from a customer's or a lead's page.")
    export_name = "follow-ups"

    def base_queryset(self):
        return FollowUp.objects.select_related("customer", "lead", "created_by")


class TicketListView(ScopedListView):
    model = ServiceTicket
    table_class = TicketTable
    filterset_class = TicketFilter
    view_action = "sales.view"
    export_action = "sales.view"
    access_subject = "customer"
    access_id_path = "customer_id"
    create_action = "sales.change"
    title = gettext_lazy("Service tickets")
    empty_text = gettext_lazy("No service tickets match. Open one from a customer's page.")
    export_name = "service-tickets"
    # every column read straight from values_list (fast export); the creation time as before
    export_fields = {"created_at": ("created_at", iso_or_none)}

    @property
    def create_url(self):
        return reverse("sales:ticket_create")

    def base_queryset(self):
        return ServiceTicket.objects.select_related("customer", "owner")


@login_required
def ticket_create(request):
    """Open a ticket on a customer (?customer=); without one, find the customer first."""
    permissions.require(request.user, "sales.change")
    customer, _lead = _open_subject(request)
    if customer is None:
        query = search_text(request)
        found = []
        if query:
            found = search_name_or_mobile(customers_for(request.user), request.user, query).order_by("name")[:20]
        return render(request, "sales/work/ticket_pick_customer.html", {"query": query, "found": found})
    form = TicketForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = ticket_services.open_ticket(actor=request.user, customer=customer, kind=data["kind"],
                                                 title=data["title"], description=data["description"],
                                                 owner=data.get("owner"), due_at=data["due_at"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Ticket opened: %(title)s") % {"title": ticket.title})
            return redirect("sales:ticket", pk=ticket.pk)
    return render(request, "sales/work/ticket_form.html", {"form": form, "customer": customer})


def _visible_ticket(request, pk):
    return get_object_or_404(permissions.visible(request.user, ServiceTicket.objects.select_related(
        "customer", "owner")), pk=pk)


def _ticket_page(request, ticket, form=None, resolve_form=None, status=200):
    return render(request, "sales/work/ticket_detail.html", {
        "ticket": ticket,
        "overdue": is_overdue(ticket),
        "form": form or TicketForm(instance=ticket, user=request.user),
        "resolve_form": resolve_form or ResolveForm(),
        "can_change": permissions.can(request.user, "sales.change"),
        "is_open": ticket.status in UNRESOLVED,
        "history": history_for(ticket),
    }, status=status)


@login_required
def ticket_detail(request, pk):
    """The ticket with its edit form (status, owner, due…) and, while open, the resolve form."""
    permissions.require(request.user, "sales.view")
    ticket = _visible_ticket(request, pk)
    if request.method != "POST":
        return _ticket_page(request, ticket)
    permissions.require(request.user, "sales.change")
    form = TicketForm(request.POST, instance=ticket, user=request.user)
    if form.is_valid():
        try:
            ticket_services.update_ticket(actor=request.user, ticket=ticket, **form.changes())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Ticket saved."))
            return redirect("sales:ticket", pk=ticket.pk)
    return _ticket_page(request, ticket, form=form)


@login_required
@require_POST
def ticket_resolve(request, pk):
    permissions.require(request.user, "sales.change")
    ticket = _visible_ticket(request, pk)
    form = ResolveForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            ticket_services.resolve_ticket(actor=request.user, ticket=ticket, resolution=data["resolution"],
                                           csat=data["csat"], comment=data["comment"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if data["csat"] is not None:
                messages.success(request, _("Ticket resolved; the customer's satisfaction (%(score)d/5) was "
                                            "recorded.") % {"score": data["csat"]})
            else:
                messages.success(request, _("Ticket resolved."))
            return redirect("sales:ticket", pk=ticket.pk)
    return _ticket_page(request, ticket, resolve_form=form)


urlpatterns = [
    path("followups/new/", followup_create, name="followup_create"),
    path("followups/", FollowUpListView.as_view(), name="followups"),
    path("reminders/", reminder_list, name="reminders"),
    path("reminders/<int:pk>/complete/", reminder_complete, name="reminder_complete"),
    path("reminders/<int:pk>/snooze/", reminder_snooze, name="reminder_snooze"),
    path("reminders/<int:pk>/reschedule/", reminder_reschedule, name="reminder_reschedule"),
    path("tasks/", task_list, name="tasks"),
    path("tasks/new/", task_create, name="task_create"),
    path("tasks/<int:pk>/complete/", task_complete, name="task_complete"),
    path("tickets/", TicketListView.as_view(), name="tickets"),
    path("tickets/new/", ticket_create, name="ticket_create"),
    path("tickets/<int:pk>/", ticket_detail, name="ticket"),
    path("tickets/<int:pk>/resolve/", ticket_resolve, name="ticket_resolve"),
]
