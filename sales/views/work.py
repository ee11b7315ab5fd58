"""Daily work: follow-ups, reminders, tasks, after-sales tickets. The workbench panels of the home
pages are in ``sales/home.py``."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm import permissions
from crm.privacy import search_name_or_mobile
from crm.ui import ScopedListView, history_for, search_text
from customers.selectors import customers_for

from .. import services
from ..filters import FollowUpFilter
from ..forms.work import (
    FollowUpForm,
    RescheduleForm,
    ResolveForm,
    TaskForm,
    TicketFilter,
    TicketForm,
    apply_service_errors,
)
from ..home import end_of_today, reminder_panel
from ..models import FollowUp, Lead, Opportunity, Reminder, ServiceTicket, Task
from ..services import tickets as ticket_services
from ..tables import UNRESOLVED, FollowUpTable, TicketTable, is_overdue, iso_or_none


def _is_htmx(request):
    return request.headers.get("HX-Request") == "true"


def _next_or(request, default):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


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
        return None, get_object_or_404(
            permissions.visible(request.user, Lead.objects.select_related("owner")), pk=lead_id
        )
    return None, None


# --- workbench panels (home pages) ----------------------------------------------------------

# --- follow-ups -----------------------------------------------------------------------------


@login_required
def followup_create(request):
    """Record a touch with a customer (?customer=) or a lead (?lead=), optionally on an
    opportunity (&opportunity=). Shows the last touches and the contact-protection state first."""
    permissions.require(request.user, "sales.change")
    customer, lead = _open_subject(request)
    if customer is None and lead is None:
        raise Http404
    opportunities = permissions.visible(
        request.user, Opportunity.objects.filter(stage__is_won=False, stage__is_lost=False)
    ).select_related("stage")
    opportunities = opportunities.filter(customer=customer) if customer else opportunities.filter(lead=lead)
    initial = {}
    back = None  # written from an opportunity's page: back to that page, not the customer's
    opportunity_id = request.GET.get("opportunity", "")
    if opportunity_id:
        if not opportunity_id.isdigit():
            raise Http404
        chosen = get_object_or_404(permissions.visible(request.user, Opportunity.objects.all()), pk=opportunity_id)
        if (customer and chosen.customer_id != customer.pk) or (lead and chosen.lead_id != lead.pk):
            raise Http404  # an opportunity of another record
        initial["opportunity"] = back = chosen
    form = FollowUpForm(request.POST or None, initial=initial, opportunities=opportunities)
    subject = customer or lead
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.record_followup(
                actor=request.user,
                customer=customer,
                lead=lead,
                opportunity=data.get("opportunity"),
                content=data["content"],
                channel=data["channel"],
                direction=data["direction"],
                outcome=data["outcome"],
                next_followup_at=data["next_followup_at"],
                reminder_offsets=data["reminder_offsets"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc, {"offsets": "reminder_offsets", "customer": None})
        else:
            if data["next_followup_at"]:
                messages.success(
                    request,
                    _("Follow-up recorded; you will be reminded on %(when)s.")
                    % {"when": timezone.localtime(data["next_followup_at"]).strftime("%Y-%m-%d %H:%M")},
                )
            else:
                messages.success(request, _("Follow-up recorded."))
            return redirect((back or subject).get_absolute_url())
    return render(
        request,
        "sales/work/followup_form.html",
        {
            "form": form,
            "customer": customer,
            "lead": lead,
            "subject": subject,
            "back": back or subject,
            "recent": subject.followups.select_related("created_by", "opportunity")[:5],
            "contact": services.contact_status(customer) if customer is not None else None,
        },
    )


# --- reminders ------------------------------------------------------------------------------


@login_required
def reminder_list(request):
    """My open reminders: overdue first, then today's, then later ones."""
    now = timezone.now()
    end = end_of_today()
    qs = (
        Reminder.objects.filter(owner=request.user, status=Reminder.Status.OPEN)
        .select_related("customer", "lead", "task")
        .order_by("due_at", "id")
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    rows = []
    for reminder in page.object_list:
        section = "overdue" if reminder.due_at < now else "today" if reminder.due_at < end else "later"
        rows.append((section, reminder))
    return render(request, "sales/work/reminders.html", {"page": page, "rows": rows, "now": now})


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
        messages.success(
            request, _("Snoozed until %(when)s.") % {"when": timezone.localtime(due_at).strftime("%Y-%m-%d %H:%M")}
        )
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
        messages.success(
            request,
            _("Moved to %(when)s.")
            % {"when": timezone.localtime(form.cleaned_data["due_at"]).strftime("%Y-%m-%d %H:%M")},
        )
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
    return render(
        request,
        "sales/work/tasks.html",
        {
            "page": page,
            "mine": mine,
            "now": timezone.now(),
            "team_view": permissions.can(request.user, "sales.assign"),
        },
    )


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
            form.add_error(
                "assignee", _("%(user)s cannot open %(record)s.") % {"user": data["assignee"], "record": subject}
            )
        else:
            try:
                task = services.create_task(
                    actor=request.user,
                    assignee=data["assignee"],
                    title=data["title"],
                    due_at=data["due_at"],
                    priority=data["priority"],
                    description=data["description"],
                    customer=customer,
                    lead=lead,
                )
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
            ticket = ticket_services.open_ticket(
                actor=request.user,
                customer=customer,
                kind=data["kind"],
                title=data["title"],
                description=data["description"],
                owner=data.get("owner"),
                due_at=data["due_at"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Ticket opened: %(title)s") % {"title": ticket.title})
            return redirect("sales:ticket", pk=ticket.pk)
    return render(request, "sales/work/ticket_form.html", {"form": form, "customer": customer})


def _visible_ticket(request, pk):
    return get_object_or_404(
        permissions.visible(request.user, ServiceTicket.objects.select_related("customer", "owner")), pk=pk
    )


def _ticket_page(request, ticket, form=None, resolve_form=None, status=200):
    return render(
        request,
        "sales/work/ticket_detail.html",
        {
            "ticket": ticket,
            "overdue": is_overdue(ticket),
            "form": form or TicketForm(instance=ticket, user=request.user),
            "resolve_form": resolve_form or ResolveForm(),
            "can_change": permissions.can(request.user, "sales.change"),
            "is_open": ticket.status in UNRESOLVED,
            "history": history_for(ticket),
        },
        status=status,
    )


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
            ticket_services.resolve_ticket(
                actor=request.user,
                ticket=ticket,
                resolution=data["resolution"],
                csat=data["csat"],
                comment=data["comment"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if data["csat"] is not None:
                messages.success(
                    request,
                    _("Ticket resolved; the customer's satisfaction (%(score)d/5) was recorded.")
                    % {"score": data["csat"]},
                )
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
