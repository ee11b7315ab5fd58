"""What the sales app adds to the apps below it: follow-ups, opportunities and tickets in the 360
timeline, the open opportunities and reminders/tasks panels, won opportunities as deals, the
workbench panels of the home pages and the re-queuing of lead imports a broker outage lost."""

from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext_lazy as _

from crm import home
from crm import tasks as crm_tasks
from customers import deals, registry, timeline

from . import home as sales_home
from . import imports
from .models import FollowUp, Opportunity, Reminder, ServiceTicket, Task
from .services.tasks import create_task


def _opportunities_panel(customer, user):
    open_ones = list(
        Opportunity.objects.filter(customer=customer, closed_at__isnull=True).select_related("stage", "owner")[:10]
    )
    return {"items": open_ones, "customer": customer}


def _tasks_panel(customer, user):
    return {
        "reminders": list(
            Reminder.objects.filter(customer=customer, status=Reminder.Status.OPEN)
            .select_related("owner")
            .order_by("due_at")[:10]
        ),
        "tasks": list(
            Task.objects.filter(customer=customer, status=Task.Status.OPEN)
            .select_related("assignee")
            .order_by("due_at")[:10]
        ),
        "customer": customer,
    }


def _latest_won_opportunity():
    return Subquery(
        Opportunity.objects.filter(customer=OuterRef("pk"), stage__is_won=True, closed_at__isnull=False)
        .order_by("-closed_at")
        .values("closed_at")[:1]
    )


def register():
    deals.register("won_opportunity", _latest_won_opportunity)
    timeline.register(
        "follow_up",
        _("Follow-ups"),
        lambda customer: timeline.entries(FollowUp.objects.filter(customer=customer), "follow_up", "at"),
        lambda ids: FollowUp.objects.filter(pk__in=ids).select_related("created_by", "opportunity"),
        "sales/timeline/follow_up.html",
        icon="bi-chat-dots",
    )
    timeline.register(
        "opportunity",
        _("Opportunities"),
        lambda customer: timeline.entries(Opportunity.objects.filter(customer=customer), "opportunity", "created_at"),
        lambda ids: Opportunity.objects.filter(pk__in=ids).select_related("stage", "owner"),
        "sales/timeline/opportunity.html",
        icon="bi-briefcase",
    )
    timeline.register(
        "ticket",
        _("Service tickets"),
        lambda customer: timeline.entries(ServiceTicket.objects.filter(customer=customer), "ticket", "created_at"),
        lambda ids: ServiceTicket.objects.filter(pk__in=ids).select_related("owner"),
        "sales/timeline/ticket.html",
        icon="bi-life-preserver",
    )
    timeline.register_panel("opportunities", "sales/panels/opportunities.html", _opportunities_panel)
    timeline.register_panel("tasks", "sales/panels/tasks.html", _tasks_panel)
    timeline.register_action("followup", "sales/panels/customer_actions.html")
    home.register("sales", order=20, manager=sales_home.manager_panel, rep=sales_home.rep_panel)
    crm_tasks.register_requeue("lead_imports", imports.requeue_waiting)
    registry.register_task_creator(_create_task)


def _create_task(*, assignee, title, description="", customer=None, due_at=None, by_rule=""):
    """Tasks asked for by apps that do not import sales (e.g. the catalogue's renewal tasks)."""
    return create_task(
        actor=None,
        assignee=assignee,
        title=title,
        description=description,
        customer=customer,
        due_at=due_at,
        by_rule=by_rule,
    )


__all__ = ["register"]
