"""Opportunity pages (商机): the list with totals, the kanban board (drag to move, the control
points still enforced by ``services.move_stage``), the opportunity page (stage path, move,
approvals, stage history with time in each stage), create and edit, the approvals inbox, and the
stage settings."""
import datetime
from decimal import Decimal

import django_tables2 as tables
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum, Value, Window
from django.db.models.functions import Coalesce, RowNumber
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, mark_safe
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from crm import permissions
from crm.models import Role
from crm.ui import ScopedListView, history_for
from customers.selectors import customers_for

from .. import services
from ..forms_opportunities import (BoardFilterForm, DecisionForm, MoveForm, OpportunityFilter, OpportunityForm,
                                   StageForm)
from ..models import Opportunity, OpportunityStage, StageApproval
from ..services.opportunities import ensure_default_stages

BOARD_LIMIT = 50  # cards per column; the rest are in the list
BOARD_CLOSED_DAYS = 30  # won / lost columns show what closed recently
ROLE_LABELS = dict(Role.choices)
MONEY = DecimalField(max_digits=14, decimal_places=2)


def opportunities_for(user):
    """The opportunities a user may open and act on (their data scope)."""
    return permissions.visible(user, Opportunity.objects.select_related("customer", "owner", "stage"))


def with_figures(queryset):
    """Annotate the win probability in use (override or the stage's) and the weighted amount."""
    probability = Coalesce("probability", "stage__probability")
    return queryset.annotate(
        win_prob=probability,
        weighted=ExpressionWrapper(F("amount") * probability * Value(Decimal("0.01")), output_field=MONEY),
    )


def format_duration(delta):
    """"3 d 4 h", "5 h 12 min", "7 min"."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


def days_since(moment, now=None):
    return max(((now or timezone.now()) - moment).days, 0)


def _form_errors(form, exc):
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _wants_json(request):
    return "application/json" in request.headers.get("Accept", "")


def may_decide(user, approval):
    """Whether ``user`` may approve or reject (the record being in their scope is checked by the caller)."""
    return approval.status == StageApproval.Status.PENDING and (user.is_superuser or user.role == approval.role)


# TODO(lead): move into sales/services/opportunities.py and re-export as services.update_opportunity;
# this task may not edit the services, and no service edits an opportunity's fields yet.
EDITABLE_FIELDS = ("name", "amount", "probability", "expected_close", "products")


@transaction.atomic
def update_opportunity(*, actor, opportunity, **changes):
    """Edit the name, amount, probability override, expected close and products. The stage changes
    only through ``move_stage`` (control points), the owner only through re-assignment."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"update_opportunity does not change {', '.join(sorted(unknown))}")
    opportunity = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    for name, value in changes.items():
        setattr(opportunity, name, value)
    opportunity.full_clean(exclude=["department", "lead"])
    opportunity.save(update_fields=list(changes))
    return opportunity


# --- the list -------------------------------------------------------------------------------

class OpportunityTable(tables.Table):
    name = tables.Column(linkify=True)
    customer = tables.Column(order_by=("customer__name",))
    owner = tables.Column(order_by=("owner__last_name", "owner__first_name"))
    stage = tables.Column(order_by=("stage__position",))
    amount = tables.Column(attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}})
    win_prob = tables.Column(verbose_name=gettext_lazy("Win probability"),
                             attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}})
    weighted = tables.Column(verbose_name=gettext_lazy("Weighted amount"),
                             attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}})
    expected_close = tables.DateColumn(format="Y-m-d")
    days_in_stage = tables.Column(accessor="stage_entered_at", verbose_name=gettext_lazy("Days in stage"),
                                  order_by=("-stage_entered_at",), attrs={"td": {"class": "text-end"}})

    class Meta:
        model = Opportunity
        fields = ("name", "customer", "owner", "stage", "amount", "win_prob", "weighted", "expected_close",
                  "days_in_stage")
        attrs = {"class": "table table-hover align-middle mb-0"}
        empty_text = gettext_lazy("No opportunities match.")
        order_by = ("expected_close",)

    def __init__(self, *args, **kwargs):
        self.now = timezone.now()
        super().__init__(*args, **kwargs)

    def render_stage(self, record):
        stage = record.stage
        css = "text-bg-success" if stage.is_won else "text-bg-danger" if stage.is_lost else "text-bg-light border"
        lock = '<i class="bi bi-lock-fill ms-1" aria-hidden="true"></i>' if stage.approval_role else ""
        return format_html('<span class="badge {}">{}{}</span>', css, stage.name, mark_safe(lock))

    def value_stage(self, record):
        return record.stage.name

    def render_amount(self, value):
        return f"¥{value:,.2f}"

    def value_amount(self, value):
        return value

    def render_win_prob(self, value):
        return f"{value}%"

    def value_win_prob(self, value):
        return value

    def render_weighted(self, value):
        return f"¥{value:,.2f}"

    def value_weighted(self, value):
        return value

    def render_days_in_stage(self, value):
        return days_since(value, self.now)

    def value_days_in_stage(self, value):
        return days_since(value, self.now)


class OpportunityListView(ScopedListView):
    """商机 list: filters, totals of what is shown, export."""

    model = Opportunity
    table_class = OpportunityTable
    filterset_class = OpportunityFilter
    template_name = "sales/opportunities/list.html"
    view_action = "sales.view"
    export_action = "sales.view"
    title = gettext_lazy("Opportunities")
    export_name = "opportunities"
    empty_text = gettext_lazy("No opportunities here. Open one from a customer's page, or clear the filters.")

    def base_queryset(self):
        return with_figures(Opportunity.objects.select_related("customer", "owner", "stage"))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        totals = self.object_list.order_by().aggregate(
            total_count=Count("id"), total_amount=Sum("amount"), total_weighted=Sum("weighted"))
        context["totals"] = {"count": totals["total_count"], "amount": totals["total_amount"] or Decimal("0"),
                             "weighted": totals["total_weighted"] or Decimal("0")}
        return context


# --- the kanban board -----------------------------------------------------------------------

def _board_context(request):
    user = request.user
    now = timezone.now()
    stages = list(OpportunityStage.objects.order_by("position", "id"))
    filter_form = BoardFilterForm(request.GET or None, user=user)
    queryset = permissions.visible(user, Opportunity.objects.all())
    if filter_form.is_valid() and filter_form.cleaned_data.get("owner"):
        queryset = queryset.filter(owner=filter_form.cleaned_data["owner"])
    queryset = queryset.filter(Q(stage__is_won=False, stage__is_lost=False)
                               | Q(closed_at__gte=now - datetime.timedelta(days=BOARD_CLOSED_DAYS)))
    totals = {row["stage_id"]: row for row in
              queryset.order_by().values("stage_id").annotate(count=Count("id"), amount=Sum("amount"))}
    ranked = queryset.annotate(rank=Window(RowNumber(), partition_by=[F("stage_id")],
                                           order_by=[F("stage_entered_at").desc(), F("id").desc()]))
    cards = list(ranked.filter(rank__lte=BOARD_LIMIT).select_related("customer", "owner")
                 .order_by("-stage_entered_at", "-id"))
    waiting = set(StageApproval.objects.filter(opportunity_id__in=[c.pk for c in cards],
                                               status=StageApproval.Status.PENDING)
                  .values_list("opportunity_id", flat=True)) if cards else set()
    by_stage = {}
    for card in cards:
        card.days_in_stage = days_since(card.stage_entered_at, now)
        card.waiting = card.pk in waiting
        by_stage.setdefault(card.stage_id, []).append(card)
    list_url = reverse("sales:opportunities")
    owner = filter_form.cleaned_data.get("owner") if filter_form.is_valid() else None
    columns = []
    for stage in stages:
        row = totals.get(stage.pk, {})
        count = row.get("count", 0)
        stage_cards = by_stage.get(stage.pk, [])
        more_url = f"{list_url}?stage={stage.pk}&status={'all' if stage.is_closed else 'open'}"
        if owner:
            more_url += f"&owner={owner.pk}"
        columns.append({"stage": stage, "cards": stage_cards, "count": count,
                        "amount": row.get("amount") or Decimal("0"), "more": count - len(stage_cards),
                        "more_url": more_url, "approval_label": ROLE_LABELS.get(stage.approval_role, "")})
    return {"columns": columns, "filter_form": filter_form, "can_move": permissions.can(user, "sales.change"),
            "show_owner_filter": permissions.can(user, "sales.assign"),
            "closed_days": BOARD_CLOSED_DAYS, "limit": BOARD_LIMIT}


@login_required
def board(request):
    permissions.require(request.user, "sales.view")
    ensure_default_stages()
    context = _board_context(request)
    if request.GET.get("partial") == "1":
        return render(request, "sales/opportunities/board_columns.html", context)
    return render(request, "sales/opportunities/board.html", context)


@login_required
@require_POST
def opportunity_move(request, pk):
    """Move to a stage (the "Move to" form and the board's drop). A refusal by the rules
    (approval required, closed, lost without a reason) answers 409 with the message."""
    permissions.require(request.user, "sales.change")
    opportunity = get_object_or_404(opportunities_for(request.user), pk=pk)
    form = MoveForm(request.POST)
    if not form.is_valid():
        if _wants_json(request):
            return JsonResponse({"ok": False, "message": _("Choose a stage.")}, status=400)
        return _render_detail(request, opportunity, move_form=form, status=422)
    stage = form.cleaned_data["stage"]
    try:
        services.move_stage(actor=request.user, opportunity=opportunity, stage=stage,
                            lost_reason=form.cleaned_data["lost_reason"])
    except ValidationError as exc:
        message = " ".join(exc.messages)
        if _wants_json(request):
            return JsonResponse({"ok": False, "message": message, "code": getattr(exc, "code", None) or "",
                                 "url": opportunity.get_absolute_url()}, status=409)
        _form_errors(form, exc)
        return _render_detail(request, opportunity, move_form=form, status=409)
    message = _("%(opportunity)s moved to “%(stage)s”.") % {"opportunity": opportunity.name, "stage": stage.name}
    if _wants_json(request):
        return JsonResponse({"ok": True, "message": message, "stage": stage.pk})
    messages.success(request, message)
    return redirect(opportunity)


# --- the opportunity page -------------------------------------------------------------------

def _stage_history(opportunity, now):
    rows = []
    for entry in opportunity.stage_history.select_related("stage", "by"):
        rows.append({"entry": entry, "current": entry.left_at is None,
                     "duration": format_duration((entry.left_at or now) - entry.entered_at)})
    return rows


def _control_point(opportunity, approvals):
    """The state of the current stage's control point: None, "needed", "waiting", "rejected", "approved"."""
    stage = opportunity.stage
    if not stage.approval_role or stage.is_closed:
        return None
    for approval in approvals:  # newest first
        if approval.stage_id == stage.pk:
            if approval.status == StageApproval.Status.APPROVED:
                return {"state": "approved", "approval": approval}
            if approval.status == StageApproval.Status.PENDING:
                return {"state": "waiting", "approval": approval}
            return {"state": "rejected", "approval": approval}
    return {"state": "needed", "approval": None}


def _render_detail(request, opportunity, *, move_form=None, decision_form=None, decision_for=None, status=200):
    user = request.user
    now = timezone.now()
    can_change = permissions.can(user, "sales.change")
    stages = list(OpportunityStage.objects.order_by("position", "id"))
    approvals = list(opportunity.approvals.select_related("stage", "requested_by", "decided_by"))
    approved = {a.stage_id for a in approvals if a.status == StageApproval.Status.APPROVED}
    current = opportunity.stage
    path_steps = [{"stage": s, "state": "current" if s.pk == current.pk else
                   "done" if s.position < current.position else "todo",
                   "approved": s.pk in approved, "role": ROLE_LABELS.get(s.approval_role, "")}
                  for s in stages if not s.is_lost or s.pk == current.pk]
    control = _control_point(opportunity, approvals)
    decisions = []
    for approval in approvals:
        approval.role_label = ROLE_LABELS.get(approval.role, approval.role)
        if may_decide(user, approval):
            bound = decision_form if decision_for == approval.pk else None
            decisions.append({"approval": approval, "form": bound or DecisionForm()})
    return render(request, "sales/opportunity_detail.html", {
        "opportunity": opportunity,
        "path_steps": path_steps,
        "control": control,
        "control_role": ROLE_LABELS.get(current.approval_role, ""),
        "approvals": approvals,
        "decisions": decisions,
        "stage_history": _stage_history(opportunity, now),
        "days_in_stage": days_since(opportunity.stage_entered_at, now),
        "time_in_stage": format_duration(now - opportunity.stage_entered_at),
        "weighted": (opportunity.amount * opportunity.win_probability / Decimal("100")).quantize(Decimal("0.01")),
        "history": history_for(opportunity),
        "can_change": can_change,
        "can_move": can_change and not current.is_closed,
        "can_request": can_change and control is not None and control["state"] in ("needed", "rejected"),
        "move_form": move_form or MoveForm(opportunity=opportunity, stages=stages),
    }, status=status)


@login_required
def opportunity_detail(request, pk):
    permissions.require(request.user, "sales.view")
    opportunity = get_object_or_404(opportunities_for(request.user), pk=pk)
    return _render_detail(request, opportunity)


@login_required
@require_POST
def opportunity_request_approval(request, pk):
    """Ask the current stage's role to approve moving past it; the approvers are notified."""
    permissions.require(request.user, "sales.change")
    opportunity = get_object_or_404(opportunities_for(request.user), pk=pk)
    try:
        services.request_approval(actor=request.user, opportunity=opportunity)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Approval requested from: %(role)s. They have been notified.")
                         % {"role": ROLE_LABELS.get(opportunity.stage.approval_role, opportunity.stage.approval_role)})
    return redirect(opportunity)


@login_required
@require_POST
def approval_decide(request, pk):
    """Approve or reject a control point. Out of scope: 404; not the approver's role: 403."""
    permissions.require(request.user, "sales.view")
    approval = get_object_or_404(StageApproval.objects.select_related("stage"), pk=pk)
    opportunity = get_object_or_404(opportunities_for(request.user), pk=approval.opportunity_id)
    if not (request.user.is_superuser or request.user.role == approval.role):
        raise PermissionDenied
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
        return redirect(opportunity)
    approve = form.cleaned_data["decision"] == "approve"
    try:
        services.decide_approval(actor=request.user, approval=approval, approve=approve,
                                 comment=form.cleaned_data["comment"])
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            _form_errors(form, exc)
            return _render_detail(request, opportunity, decision_form=form, decision_for=approval.pk, status=422)
        messages.error(request, " ".join(exc.messages))
        return redirect(opportunity)
    if approve:
        messages.success(request, _("Approved: %(opportunity)s may move past “%(stage)s”.")
                         % {"opportunity": opportunity.name, "stage": approval.stage.name})
    else:
        messages.success(request, _("Rejected: %(opportunity)s stays at “%(stage)s”; the owner was told why.")
                         % {"opportunity": opportunity.name, "stage": approval.stage.name})
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect(opportunity)


# --- create and edit ------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def opportunity_create(request):
    """A new opportunity for a customer in the user's scope (?customer=<id>)."""
    user = request.user
    permissions.require(user, "sales.change")
    customer_id = request.GET.get("customer", "")
    if not customer_id.isdigit():
        messages.info(request, _("Open the customer first, then add the opportunity from their page."))
        return redirect("customers:list")
    customer = get_object_or_404(customers_for(user), pk=customer_id)
    initial = {}
    if customer.owner_id and permissions.can(user, "sales.assign"):
        initial["owner"] = customer.owner_id
    form = OpportunityForm(request.POST or None, user=user, creating=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            opportunity = services.open_opportunity(actor=user, customer=customer, **form.open_kwargs())
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Opportunity %(name)s opened at “%(stage)s”.")
                             % {"name": opportunity.name, "stage": opportunity.stage.name})
            if opportunities_for(user).filter(pk=opportunity.pk).exists():
                return redirect(opportunity)
            return redirect(customer)
    return render(request, "sales/opportunities/form.html", {
        "form": form, "customer": customer, "opportunity": None, "cancel_url": customer.get_absolute_url()})


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_edit(request, pk):
    permissions.require(request.user, "sales.change")
    opportunity = get_object_or_404(opportunities_for(request.user), pk=pk)
    form = OpportunityForm(request.POST or None, instance=opportunity, user=request.user, creating=False)
    if request.method == "POST" and form.is_valid():
        try:
            update_opportunity(actor=request.user, opportunity=opportunity, **form.changes())
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect(opportunity)
    return render(request, "sales/opportunities/form.html", {
        "form": form, "customer": opportunity.customer, "opportunity": opportunity,
        "cancel_url": opportunity.get_absolute_url()})


# --- the approvals inbox --------------------------------------------------------------------

@login_required
def approvals(request):
    """Control points waiting for the user's role, on records in the user's scope."""
    user = request.user
    permissions.require(user, "sales.view")
    in_scope = permissions.visible(user, Opportunity.objects.all())
    pending = (StageApproval.objects.filter(status=StageApproval.Status.PENDING, opportunity__in=in_scope)
               .select_related("opportunity__customer", "opportunity__owner", "opportunity__stage", "stage",
                               "requested_by")
               .order_by("requested_at", "id"))
    to_decide = pending if user.is_superuser else pending.filter(role=user.role)
    page = Paginator(to_decide, 50).get_page(request.GET.get("page"))
    for approval in page:
        approval.role_label = ROLE_LABELS.get(approval.role, approval.role)
    mine = list(pending.filter(requested_by=user).exclude(pk__in=[a.pk for a in page])[:20])
    for approval in mine:
        approval.role_label = ROLE_LABELS.get(approval.role, approval.role)
    return render(request, "sales/opportunities/approvals.html", {
        "page": page, "mine": mine, "decision_form": DecisionForm(), "next": request.get_full_path()})


# --- stage settings -------------------------------------------------------------------------

@login_required
def stages(request):
    permissions.require(request.user, "sales.configure")
    ensure_default_stages()
    rows = OpportunityStage.objects.annotate(
        open_count=Count("opportunities", filter=Q(opportunities__closed_at__isnull=True)),
    ).order_by("position", "id")
    for stage in rows:
        stage.role_label = ROLE_LABELS.get(stage.approval_role, "")
    return render(request, "sales/opportunities/stages.html", {"stages": rows})


@login_required
@require_http_methods(["GET", "POST"])
def stage_form(request, pk=None):
    permissions.require(request.user, "sales.configure")
    instance = get_object_or_404(OpportunityStage, pk=pk) if pk else None
    form = StageForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()  # configuration, like the other sales rules
        messages.success(request, _("Stage %(name)s saved.") % {"name": form.instance.name})
        return redirect("sales:stages")
    return render(request, "crm/admin/form.html", {
        "form": form, "cancel_url": reverse("sales:stages"),
        "title": _("Edit stage") if pk else _("New stage")})


urlpatterns = [
    path("opportunities/", OpportunityListView.as_view(), name="opportunities"),
    path("opportunities/board/", board, name="board"),
    path("opportunities/new/", opportunity_create, name="opportunity_create"),
    path("opportunities/stages/", stages, name="stages"),
    path("opportunities/stages/new/", stage_form, name="stage_create"),
    path("opportunities/stages/<int:pk>/edit/", stage_form, name="stage_edit"),
    path("opportunities/<int:pk>/", opportunity_detail, name="opportunity"),
    path("opportunities/<int:pk>/edit/", opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:pk>/move/", opportunity_move, name="opportunity_move"),
    path("opportunities/<int:pk>/request-approval/", opportunity_request_approval,
         name="opportunity_request_approval"),
    path("approvals/", approvals, name="approvals"),
    path("approvals/<int:pk>/decide/", approval_decide, name="approval_decide"),
]
