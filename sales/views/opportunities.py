"""Opportunity pages (商机): the list with totals, the kanban board (drag to move, the control
points still enforced by ``services.move_stage``; a drop that needs an approval offers to ask for
it), the opportunity page (stage path, move, approvals through ``crm.approvals``, stage history
with time in each stage), create and edit, and the stage settings."""

import datetime
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum, Value, Window
from django.db.models.functions import Coalesce, RowNumber
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import Context
from django.template.base import render_value_in_context
from django.template.defaultfilters import floatformat
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST
from django_tables2 import RequestConfig
from django_tables2.data import TableQuerysetData

from crm import permissions
from crm.approvals import selectors as approval_selectors
from crm.models import ApprovalRequest, Role
from crm.ui import ScopedListView, _NotExportable, add_domain_error, export_plan, export_values, history_for
from customers.selectors import customers_for

from .. import opportunity_page, services
from ..approvals import KIND, stage_key
from ..forms.opportunities import BoardFilterForm, DecisionForm, MoveForm, OpportunityFilter, OpportunityForm, StageForm
from ..models import Opportunity, OpportunityStage
from ..selectors import opportunities_for
from ..services.opportunities import approval_requests, ensure_default_stages
from ..services.stages import move_stage_position, reorder_stages, save_stage
from ..tables import OpportunityTable, days_since

BOARD_LIMIT = 50  # cards per column; the rest are in the list
BOARD_CLOSED_DAYS = 30  # won / lost columns show what closed recently
ROLE_LABELS = dict(Role.choices)
MONEY = DecimalField(max_digits=14, decimal_places=2)


def with_figures(queryset):
    """Annotate the win probability in use (override or the stage's) and the weighted amount."""
    probability = Coalesce("probability", "stage__probability")
    return queryset.annotate(
        win_prob=probability,
        weighted=ExpressionWrapper(F("amount") * probability * Value(Decimal("0.01")), output_field=MONEY),
    )


def format_duration(delta):
    """ "3 d 4 h", "5 h 12 min", "7 min"."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


def _wants_json(request):
    return "application/json" in request.headers.get("Accept", "")


# --- the list -------------------------------------------------------------------------------


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
    card_fields = ("name", "customer", "stage", "amount")  # the phone's cards
    empty_text = gettext_lazy("No opportunities here. Open one from a customer's page, or clear the filters.")

    #: the fast export (values_list); the two annotated figures are read by their annotation names
    export_fields = {
        "stage": ("stage__name", lambda value: value),
        "win_prob": ("probability", None),
        "weighted": ("amount", None),
    }
    ANNOTATED = ("win_prob", "weighted")

    def base_queryset(self):
        return with_figures(Opportunity.objects.select_related("customer", "owner", "stage"))

    def _totals(self):
        totals = self.object_list.order_by().aggregate(
            total_count=Count("id"), total_amount=Sum("amount"), total_weighted=Sum("weighted")
        )
        return {
            "count": totals["total_count"],
            "amount": totals["total_amount"] or Decimal("0"),
            "weighted": totals["total_weighted"] or Decimal("0"),
        }

    def get_table(self, **kwargs):
        """The table, paginated with the row count of the totals' aggregate (not a second COUNT
        over the same rows)."""
        self.totals = self._totals()
        table = self.get_table_class()(data=self.get_table_data(), **kwargs)
        if isinstance(table.data, TableQuerysetData):
            table.data._length = self.totals["count"]
        return RequestConfig(self.request, paginate=self.get_table_pagination(table)).configure(table)

    def export_row_values(self, table, queryset):
        """``export_plan`` reads model fields only: plan the two annotated columns on a stand-in
        field, then read the annotations themselves (the same values the table exports)."""
        ordered = getattr(table.data, "data", None)
        if isinstance(ordered, QuerySet):
            try:
                headers, paths, converters, related = export_plan(table, ordered, self.export_fields)
            except _NotExportable:
                pass
            else:
                names = [
                    bound.name
                    for bound in table.columns.iterall()
                    if not bound.column.exclude_from_export and bound.name not in ("selection", "actions")
                ]
                for index, name in enumerate(names):
                    if name in self.ANNOTATED:
                        paths[index], converters[index] = name, (None, None)
                return export_values(ordered, headers, paths, converters, related)
        return super().export_row_values(table, queryset)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["totals"] = self.totals
        return context


# --- the kanban board -----------------------------------------------------------------------


def _board_cards(queryset, stage_ids):
    """The newest ``BOARD_LIMIT`` cards of each stage. On PostgreSQL: one UNION ALL of a LIMIT
    per stage (each reads the newest rows of its stage and stops), then the cards by id; else a
    row number over the stages (which numbers every opportunity in scope first)."""
    order = ("-stage_entered_at", "-id")
    if stage_ids and connection.features.supports_slicing_ordering_in_compound:
        per_stage = [
            queryset.filter(stage_id=pk).order_by(*order).values_list("pk", flat=True)[:BOARD_LIMIT] for pk in stage_ids
        ]
        ids = list(per_stage[0].union(*per_stage[1:], all=True)) if len(per_stage) > 1 else list(per_stage[0])
        return list(
            Opportunity.objects.filter(pk__in=ids)
            .select_related("customer", "owner")
            .only(*CARD_FIELDS)
            .order_by(*order)
        )
    ranked = queryset.annotate(
        rank=Window(RowNumber(), partition_by=[F("stage_id")], order_by=[F("stage_entered_at").desc(), F("id").desc()])
    )
    return list(
        ranked.filter(rank__lte=BOARD_LIMIT).select_related("customer", "owner").only(*CARD_FIELDS).order_by(*order)
    )


#: what a card shows (the customer has ~30 columns; a full board is 300 cards)
CARD_FIELDS = (
    "id",
    "name",
    "amount",
    "stage_id",
    "stage_entered_at",
    "customer__name",
    "owner__first_name",
    "owner__last_name",
    "owner__username",
)

#: a card of the board, the same HTML as the template loop rendered (``board_columns.html``) but
#: built in Python: 300 cards through the template engine cost more than the board's SQL
CARD_HTML = (
    '<article class="kanban-card card"{draggable} data-id="{pk}" data-move-url="{move_url}">\n'
    '      <div class="card-body p-2">\n'
    '        <a class="fw-semibold d-block text-truncate" href="{url}" draggable="false" id="opp-{pk}">{name}</a>\n'
    '        <div class="small text-muted text-truncate">{customer}</div>\n'
    '        <div class="d-flex justify-content-between small mt-1">\n'
    "          <span>¥{amount}</span>\n"
    '          <span class="text-muted" title="{days_title}"><i class="bi bi-hourglass-split"></i> {days_label}</span>\n'
    "        </div>\n"
    '        <div class="small text-muted text-truncate"><i class="bi bi-person"></i> {owner}{waiting}</div>\n'
    "{move}"
    "      </div>\n"
    "    </article>"
)
#: the keyboard's way to move a card (the board's "move to" dialog), on the cards the user may move
CARD_MOVE = (
    '        <button type="button" class="btn btn-sm btn-light border mt-1 kanban-move" data-move'
    ' aria-describedby="opp-{pk}">{move_label}</button>\n'
)
CARD_WAITING = (
    ' <span class="badge text-bg-warning" title="{waiting_title}"><i class="bi bi-hourglass"></i> '
    "{approval_label}</span>"
)


def _card_html(card, *, draggable, labels, context):
    def out(value):
        return render_value_in_context(value, context)

    waiting = CARD_WAITING.format(**labels) if card.waiting else ""
    return mark_safe(
        CARD_HTML.format(
            draggable=' draggable="true"' if draggable else "",
            pk=out(card.pk),
            move_url=out(card.move_url),
            url=out(card.url),
            name=out(card.name),
            customer=out(card.customer.name),
            amount=out(floatformat(card.amount, "2g")),
            days_title=labels["days_title"],
            days_label=out(card.days_label),
            owner=out(card.owner),
            waiting=waiting,
            move=CARD_MOVE.format(pk=out(card.pk), move_label=labels["move_label"]) if draggable else "",
        )
    )


def _board_context(request):
    user = request.user
    now = timezone.now()
    stages = list(OpportunityStage.objects.order_by("position", "id"))
    filter_form = BoardFilterForm(request.GET or None, user=user)
    queryset = permissions.visible(user, Opportunity.objects.all())
    if filter_form.is_valid() and filter_form.cleaned_data.get("owner"):
        queryset = queryset.filter(owner=filter_form.cleaned_data["owner"])
    # open stages, and what closed recently; by stage id (the stages are loaded above), so that
    # the totals and the cards read sales_opportunity alone, without a join to the stages
    open_ids = [stage.pk for stage in stages if not stage.is_closed]
    closed_ids = [stage.pk for stage in stages if stage.is_closed]
    queryset = queryset.filter(
        Q(stage_id__in=open_ids)
        | Q(stage_id__in=closed_ids, closed_at__gte=now - datetime.timedelta(days=BOARD_CLOSED_DAYS))
    )
    totals = {
        row["stage_id"]: row
        for row in queryset.order_by().values("stage_id").annotate(count=Count("id"), amount=Sum("amount"))
    }
    cards = _board_cards(queryset, [stage.pk for stage in stages])
    waiting = (
        set(
            ApprovalRequest.objects.filter(
                kind=KIND, object_id__in=[c.pk for c in cards], status=ApprovalRequest.Status.PENDING
            ).values_list("object_id", flat=True)
        )
        if cards
        else set()
    )
    by_stage = {}
    # the two links of a card, reversed once (not twice per card: 600 reverses on a full board)
    detail_url, move_url = reverse("sales:opportunity", args=[0]), reverse("sales:opportunity_move", args=[0])
    for card in cards:
        card.days_in_stage = days_since(card.stage_entered_at, now)
        card.days_label = ngettext("%(days)s d", "%(days)s d", card.days_in_stage) % {"days": card.days_in_stage}
        card.url = detail_url.replace("/0/", f"/{card.pk}/")
        card.move_url = move_url.replace("/0/", f"/{card.pk}/")
        card.waiting = card.pk in waiting
        by_stage.setdefault(card.stage_id, []).append(card)
    context = Context()
    labels = {
        "days_title": render_value_in_context(_("days in stage"), context),
        "waiting_title": render_value_in_context(_("An approval is waiting"), context),
        "approval_label": render_value_in_context(_("approval"), context),
        "move_label": render_value_in_context(_("Move to…"), context),
    }
    can_move = permissions.can(user, "sales.change")
    closed_stages = {stage.pk for stage in stages if stage.is_closed}
    for card in cards:
        card.html = _card_html(
            card, draggable=can_move and card.stage_id not in closed_stages, labels=labels, context=context
        )
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
        columns.append(
            {
                "stage": stage,
                "cards": stage_cards,
                "count": count,
                "amount": row.get("amount") or Decimal("0"),
                "more": count - len(stage_cards),
                "more_url": more_url,
                "approval_label": ROLE_LABELS.get(stage.approval_role, ""),
            }
        )
    return {
        "columns": columns,
        "filter_form": filter_form,
        "can_move": can_move,
        "show_owner_filter": permissions.can(user, "sales.assign"),
        "closed_days": BOARD_CLOSED_DAYS,
        "limit": BOARD_LIMIT,
    }


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
        services.move_stage(
            actor=request.user, opportunity=opportunity, stage=stage, lost_reason=form.cleaned_data["lost_reason"]
        )
    except ValidationError as exc:
        message = " ".join(exc.messages)
        if _wants_json(request):
            answer = {
                "ok": False,
                "message": message,
                "code": getattr(exc, "code", None) or "",
                "url": opportunity.get_absolute_url(),
            }
            if answer["code"] == "approval_required":
                answer.update(_approval_offer(request.user, opportunity, stage))
            return JsonResponse(answer, status=409)
        add_domain_error(form, exc)
        return _render_detail(request, opportunity, move_form=form, status=409)
    message = _("%(opportunity)s moved to “%(stage)s”.") % {"opportunity": opportunity.name, "stage": stage.name}
    if _wants_json(request):
        return JsonResponse({"ok": True, "message": message, "stage": stage.pk})
    messages.success(request, message)
    return redirect(opportunity)


def _approval_offer(user, opportunity, target):
    """What the board offers when a drop needs an approval: ask for it there, or see the request
    already waiting (and who decides next)."""
    blocker = services.opportunities.blocking_approval(opportunity, target)
    if blocker is None:
        return {}
    waiting = approval_selectors.with_steps(
        approval_requests(opportunity).filter(key=stage_key(blocker), status=ApprovalRequest.Status.PENDING)
    ).first()
    offer = {"stage_name": blocker.name, "waiting": waiting is not None}
    if waiting is not None:
        offer["next_approvers"] = [str(u) for u in approval_selectors.next_approvers(waiting)]
        offer["request_page"] = reverse("approvals:detail", args=[waiting.pk])
    elif blocker.pk == opportunity.stage_id and permissions.can(user, "sales.change"):
        offer["request_url"] = reverse("sales:opportunity_request_approval", args=[opportunity.pk])
    return offer


# --- the opportunity page -------------------------------------------------------------------


def _stage_history(opportunity, now):
    rows = []
    for entry in opportunity.stage_history.select_related("stage", "by"):
        rows.append(
            {
                "entry": entry,
                "current": entry.left_at is None,
                "duration": format_duration((entry.left_at or now) - entry.entered_at),
            }
        )
    return rows


def _control_point(opportunity, approvals):
    """The state of the current stage's control point: None, "needed", "waiting", "rejected", "approved"."""
    stage = opportunity.stage
    if not stage.approval_role or stage.is_closed:
        return None
    key = stage_key(stage)
    for approval in approvals:  # newest first
        if approval.key == key and approval.status != ApprovalRequest.Status.WITHDRAWN:
            if approval.status == ApprovalRequest.Status.APPROVED:
                return {"state": "approved", "approval": approval}
            if approval.status == ApprovalRequest.Status.PENDING:
                return {
                    "state": "waiting",
                    "approval": approval,
                    "next": [str(u) for u in approval_selectors.next_approvers(approval)],
                }
            return {"state": "rejected", "approval": approval}
    return {"state": "needed", "approval": None}


def _render_detail(request, opportunity, *, move_form=None, status=200):
    user = request.user
    now = timezone.now()
    can_change = permissions.can(user, "sales.change") and permissions.is_visible(user, opportunity)
    stages = list(OpportunityStage.objects.order_by("position", "id"))
    approvals = approval_selectors.history_for(opportunity, KIND)
    approved = {a.key for a in approvals if a.status == ApprovalRequest.Status.APPROVED}
    current = opportunity.stage
    # a lost opportunity passed only the stages it was in, never the won stage
    visited = set(opportunity.stage_history.values_list("stage_id", flat=True)) if current.is_lost else None

    def passed(s):
        return s.pk in visited if visited is not None else s.position < current.position

    path_steps = [
        {
            "stage": s,
            "state": "current" if s.pk == current.pk else "done" if passed(s) else "todo",
            "approved": stage_key(s) in approved,
            "role": ROLE_LABELS.get(s.approval_role, ""),
        }
        for s in stages
        if not s.is_lost or s.pk == current.pk
    ]
    control = _control_point(opportunity, approvals)
    decisions = [
        {"approval": approval, "form": DecisionForm()}
        for approval in approvals
        if approval_selectors.may_decide(user, approval)
    ]
    return render(
        request,
        "sales/opportunity_detail.html",
        {
            "opportunity": opportunity,
            "path_steps": path_steps,
            "control": control,
            "control_role": ROLE_LABELS.get(current.approval_role, ""),
            "approval_history": approvals,
            "decisions": decisions,
            "stage_history": _stage_history(opportunity, now),
            "days_in_stage": days_since(opportunity.stage_entered_at, now),
            "time_in_stage": format_duration(now - opportunity.stage_entered_at),
            "weighted": (opportunity.amount * opportunity.win_probability / Decimal("100")).quantize(Decimal("0.01")),
            "history": history_for(opportunity),
            "followups": opportunity.followups.select_related("created_by")[:5],
            "can_change": can_change,
            "can_move": can_change and not current.is_closed,
            "can_request": can_change and control is not None and control["state"] in ("needed", "rejected"),
            "move_form": move_form or MoveForm(opportunity=opportunity, stages=stages),
            "extra_panels": opportunity_page.contributions_for(opportunity, user, opportunity_page.PANEL),
            "extra_actions": opportunity_page.contributions_for(opportunity, user, opportunity_page.ACTION),
        },
        status=status,
    )


@login_required
def opportunity_detail(request, pk):
    """The opportunity; also open to an approver routed to it from outside their scope."""
    permissions.require(request.user, "sales.view")
    opportunity = get_object_or_404(
        permissions.visible_or_reviewing(
            request.user, Opportunity.objects.select_related("customer", "owner", "stage")
        ),
        pk=pk,
    )
    return _render_detail(request, opportunity)


@login_required
@require_POST
def opportunity_request_approval(request, pk):
    """Ask for the current stage's control point (the page's button and the board's drop); the
    answer names who approves next."""
    permissions.require(request.user, "sales.change")
    opportunity = get_object_or_404(opportunities_for(request.user), pk=pk)
    try:
        approval = services.request_approval(actor=request.user, opportunity=opportunity)
    except ValidationError as exc:
        if _wants_json(request):
            return JsonResponse({"ok": False, "message": " ".join(exc.messages)}, status=409)
        messages.error(request, " ".join(exc.messages))
        return redirect(opportunity)
    approval = approval_selectors.with_steps(ApprovalRequest.objects.filter(pk=approval.pk)).get()
    names = "、".join(str(u) for u in approval_selectors.next_approvers(approval))
    message = _("Approval requested; next approver: %(names)s. They have been notified.") % {"names": names}
    if _wants_json(request):
        return JsonResponse(
            {"ok": True, "message": message, "request_page": reverse("approvals:detail", args=[approval.pk])}
        )
    messages.success(request, message)
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
            add_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("Opportunity %(name)s opened at “%(stage)s”.")
                % {"name": opportunity.name, "stage": opportunity.stage.name},
            )
            if opportunities_for(user).filter(pk=opportunity.pk).exists():
                return redirect(opportunity)
            return redirect(customer)
    return render(
        request,
        "sales/opportunities/form.html",
        {"form": form, "customer": customer, "opportunity": None, "cancel_url": customer.get_absolute_url()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_edit(request, pk):
    permissions.require(request.user, "sales.change")
    opportunity = get_object_or_404(opportunities_for(request.user), pk=pk)
    form = OpportunityForm(request.POST or None, instance=opportunity, user=request.user, creating=False)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_opportunity(actor=request.user, opportunity=opportunity, **form.changes())
        except ValidationError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect(opportunity)
    return render(
        request,
        "sales/opportunities/form.html",
        {
            "form": form,
            "customer": opportunity.customer,
            "opportunity": opportunity,
            "cancel_url": opportunity.get_absolute_url(),
        },
    )


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
        save_stage(stage=form.save(commit=False))  # configuration, like the other sales rules
        messages.success(request, _("Stage %(name)s saved.") % {"name": form.instance.name})
        return redirect("sales:stages")
    return render(
        request,
        "crm/admin/form.html",
        {"form": form, "cancel_url": reverse("sales:stages"), "title": _("Edit stage") if pk else _("New stage")},
    )


@login_required
@require_POST
def stage_order(request):
    """The stages page's drag and drop: the ids in their new order (JSON answer), or one stage a
    step up or down (the buttons, for keyboards and phones)."""
    permissions.require(request.user, "sales.configure")
    try:
        if request.POST.get("stage"):
            stage = (
                get_object_or_404(OpportunityStage, pk=request.POST["stage"])
                if request.POST["stage"].isdigit()
                else None
            )
            if stage is None:
                raise Http404
            move_stage_position(stage=stage, step=-1 if request.POST.get("direction") == "up" else 1)
        else:
            reorder_stages(ids=request.POST.getlist("order"))
    except ValidationError as exc:
        if _wants_json(request):
            return JsonResponse({"ok": False, "message": " ".join(exc.messages), "code": exc.code}, status=409)
        messages.error(request, " ".join(exc.messages))
        return redirect("sales:stages")
    if _wants_json(request):
        return JsonResponse({"ok": True, "message": _("Stage order saved.")})
    messages.success(request, _("Stage order saved."))
    return redirect("sales:stages")


urlpatterns = [
    path("opportunities/", OpportunityListView.as_view(), name="opportunities"),
    path("opportunities/stages/order/", stage_order, name="stage_order"),
    path("opportunities/board/", board, name="board"),
    path("opportunities/new/", opportunity_create, name="opportunity_create"),
    path("opportunities/stages/", stages, name="stages"),
    path("opportunities/stages/new/", stage_form, name="stage_create"),
    path("opportunities/stages/<int:pk>/edit/", stage_form, name="stage_edit"),
    path("opportunities/<int:pk>/", opportunity_detail, name="opportunity"),
    path("opportunities/<int:pk>/edit/", opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:pk>/move/", opportunity_move, name="opportunity_move"),
    path("opportunities/<int:pk>/request-approval/", opportunity_request_approval, name="opportunity_request_approval"),
]
