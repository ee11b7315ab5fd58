"""Lead pages: the inbox (list, filters, bulk assign, export), the create and edit forms, and the
lead page with its actions (convert, release to the pool, assign). Claiming lives in pool.py."""

import datetime

from auditlog.models import LogEntry
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from crm import permissions, privacy
from crm.ui import BulkAction, ScopedListView, add_domain_error
from customers.forms.records import AssignForm, duplicate_contact
from customers.selectors import customers_for, may_see_mobile

from .. import services
from ..filters import LeadFilter
from ..forms.leads import ConvertForm, LeadForm
from ..models import Lead, PoolMove, SalesSettings, ScoringRule
from ..selectors import leads_for
from ..services.leads import score_of
from ..tables import LeadTable, iso_or_none

# --- the inbox ------------------------------------------------------------------------------


def _bulk_assign(request, queryset):
    form = AssignForm(request.POST, user=request.user)
    if not form.is_valid():
        raise ValidationError(_("Choose the new owner."))
    owner = form.cleaned_data["owner"]
    moved = services.assign_leads(actor=request.user, leads=queryset, owner=owner)
    return _("%(count)d leads assigned to %(owner)s.") % {"count": moved, "owner": owner}


class LeadListView(ScopedListView):
    """线索池 inbox: every channel's leads in one list, open ones first."""

    model = Lead
    template_name = "sales/leads/list.html"
    table_class = LeadTable
    filterset_class = LeadFilter
    view_action = "sales.view"
    export_action = "sales.view"
    access_subject = "lead"
    create_url = reverse_lazy("sales:lead_create")
    create_action = "sales.change"
    title = gettext_lazy("Leads")
    card_fields = ("name", "grade", "status", "mobile")  # the phone's cards
    export_name = "leads"
    # every column read straight from values_list (fast export); the creation time as before
    export_fields = {"created_at": ("created_at", iso_or_none)}
    paginate_by_subquery = True
    empty_text = gettext_lazy("No leads here. Add one, or clear the filters to see converted and invalid leads.")
    bulk_actions = (
        BulkAction(
            "assign",
            gettext_lazy("Assign"),
            "sales.assign",
            _bulk_assign,
            confirm=gettext_lazy("Assign the selected leads to another owner? Each move is kept in their history."),
            form_class=AssignForm,
        ),
    )

    def base_queryset(self):
        return Lead.objects.select_related("owner")

    def get_table_kwargs(self):
        kwargs = super().get_table_kwargs()
        kwargs["show_mobile"] = may_see_mobile(self.request.user)
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["perms_import"] = permissions.can(self.request.user, "sales.change")
        return context


# --- create and edit ------------------------------------------------------------------------


def _duplicate_links(user, form):
    """The existing lead / customer a duplicate warning points to, and whether the user may open it."""
    lead, customer = form.duplicate_lead, form.duplicate_customer
    lead_visible = lead is not None and leads_for(user).filter(pk=lead.pk).exists()
    customer_visible = customer is not None and customers_for(user).filter(pk=customer.pk).exists()
    return {  # a record outside the scope is never named: its team and whom to ask instead
        "duplicate_lead": lead,
        "duplicate_lead_visible": lead_visible,
        "duplicate_lead_contact": duplicate_contact(lead) if lead is not None and not lead_visible else None,
        "duplicate_customer": customer,
        "duplicate_customer_visible": customer_visible,
        "duplicate_customer_contact": (
            duplicate_contact(customer) if customer is not None and not customer_visible else None
        ),
    }


@login_required
@require_http_methods(["GET", "POST"])
def lead_form(request, pk=None):
    permissions.require(request.user, "sales.change")
    lead = get_object_or_404(leads_for(request.user), pk=pk) if pk is not None else None
    if lead is not None and request.method == "GET":  # the form shows the contact details in full
        privacy.log_access(
            action=privacy.Action.REVEAL,
            subject=privacy.Subject.LEAD,
            ids=[lead.pk],
            request=request,
            detail=_("edit form"),
        )
    form = LeadForm(request.POST or None, instance=lead, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            if lead is None:
                saved = services.capture_lead(actor=request.user, **form.capture_kwargs())
            else:
                saved = services.update_lead(lead=lead, actor=request.user, **form.update_kwargs())
        except ValidationError as exc:
            add_domain_error(form, exc)
        else:
            return _after_save(request, saved, created=lead is None)
    return render(
        request,
        "sales/leads/form.html",
        {
            "form": form,
            "lead": lead,
            "cancel_url": lead.get_absolute_url() if lead else reverse("sales:leads"),
            **_duplicate_links(request.user, form),
        },
    )


def _after_save(request, lead, *, created):
    score = {"score": lead.score, "grade": lead.grade}
    if not created:
        messages.success(request, _("Changes saved. Score %(score)d, grade %(grade)s.") % score)
        return redirect(lead)
    if lead.status == Lead.Status.DUPLICATE:
        if leads_for(request.user).filter(pk=lead.duplicate_of_id).exists():
            messages.warning(
                request,
                _("Lead %(name)s recorded as a duplicate of %(other)s; nobody new was assigned.")
                % {"name": lead.name, "other": lead.duplicate_of.name},
            )
        else:  # the earlier lead is outside the user's scope: not named
            messages.warning(
                request,
                _("Lead %(name)s recorded as a duplicate of an open lead of another team; nobody new was assigned.")
                % {"name": lead.name},
            )
    else:
        messages.success(
            request, _("Lead %(name)s created. Score %(score)d, grade %(grade)s.") % {"name": lead.name, **score}
        )
    if leads_for(request.user).filter(pk=lead.pk).exists():
        return redirect(lead)
    if lead.owner_id:
        messages.info(request, _("It went to %(owner)s, who owns the matching record.") % {"owner": lead.owner})
    return redirect("sales:leads")


# --- the lead page --------------------------------------------------------------------------


def _score_lines(lead):
    """The active scoring rules the lead meets, each with its points (``score_of`` on one rule)."""
    lines = []
    for rule in ScoringRule.objects.filter(is_active=True):
        points = score_of(lead, [rule])
        if points:
            lines.append({"rule": rule, "points": points})
    return lines


def _moves(lead):
    """The lead's moves, newest first; a move from nobody reads "public pool" only when the lead
    was in the pool before it (claimed, returned earlier, or left unassigned for a while), never
    for a lead assigned as it arrived."""
    moves = list(lead.moves.select_related("from_owner", "to_owner", "by")[:50])
    in_pool = False
    for move in reversed(moves):  # oldest first
        move.from_pool = move.from_owner_id is None and (
            in_pool
            or move.reason == PoolMove.Reason.CLAIMED
            or move.at - lead.created_at > datetime.timedelta(minutes=1)
        )
        in_pool = move.to_owner_id is None
    return moves


def _history(lead):
    """``history_for`` with the content type joined (the change display reads it per entry)."""
    return LogEntry.objects.get_for_object(lead).select_related("actor", "content_type").order_by("-timestamp")[:50]


def _contact(lead, *, revealed):
    return {**privacy.contact(lead, revealed=revealed), "revealed": revealed}


def _render_detail(request, lead, *, convert_form=None, assign_form=None, status=200):
    user = request.user
    can_change = permissions.can(user, "sales.change")
    can_assign = permissions.can(user, "sales.assign")
    visible_customers = customers_for(user)
    linked_customer_ids = [pk for pk in (lead.existing_customer_id, lead.customer_id) if pk]
    open_customers = (
        set(visible_customers.filter(pk__in=linked_customer_ids).values_list("pk", flat=True))
        if linked_customer_ids
        else set()
    )
    score_lines = _score_lines(lead)
    return render(
        request,
        "sales/lead_detail.html",
        {
            "lead": lead,
            **_contact(lead, revealed=may_see_mobile(user)),
            "can_reveal": privacy.may_reveal(user) and not lead.anonymized_at,
            "tags": lead.tags.select_related("group"),
            "score_lines": score_lines,
            "score_now": sum(line["points"] for line in score_lines),
            "thresholds": SalesSettings.current(),
            "duplicate_of": lead.duplicate_of
            if lead.duplicate_of_id and leads_for(user).filter(pk=lead.duplicate_of_id).exists()
            else None,
            "duplicates": permissions.visible(user, Lead.objects.filter(duplicate_of=lead)).only(
                "pk", "name", "created_at"
            )[:20],
            "existing_customer": lead.existing_customer,
            "existing_customer_visible": lead.existing_customer_id in open_customers,
            "customer_visible": lead.customer_id in open_customers,
            "followups": lead.followups.select_related("created_by")[:50],
            "moves": _moves(lead),
            "history": _history(lead),
            "can_change": can_change,
            "can_convert": can_change and lead.status != Lead.Status.CONVERTED,
            "can_release": lead.owner_id == user.pk and lead.is_open,
            "can_followup": can_change and lead.anonymized_at is None,
            "can_assign": can_assign and lead.is_open,
            "can_claim": can_change and lead.owner_id is None and lead.is_open,
            "convert_form": convert_form or ConvertForm(),
            "assign_form": assign_form or AssignForm(user=user),
        },
        status=status,
    )


@login_required
def lead_detail(request, pk):
    permissions.require(request.user, "sales.view")
    lead = get_object_or_404(
        leads_for(request.user).select_related("duplicate_of", "existing_customer", "customer"), pk=pk
    )
    privacy.log_access(action=privacy.Action.VIEW, subject=privacy.Subject.LEAD, ids=[lead.pk], request=request)
    return _render_detail(request, lead)


@login_required
@require_POST
def lead_reveal(request, pk):
    """Show one lead's contact details in full (htmx swaps them in) and log it."""
    permissions.require(request.user, "sales.view")
    lead = get_object_or_404(leads_for(request.user), pk=pk)
    if not privacy.may_reveal(request.user):
        raise PermissionDenied("customers.view_mobile")
    privacy.log_access(action=privacy.Action.REVEAL, subject=privacy.Subject.LEAD, ids=[lead.pk], request=request)
    return render(request, "sales/leads/_contact.html", {"lead": lead, **_contact(lead, revealed=True)})


@login_required
@require_POST
def lead_convert(request, pk):
    """Convert to a customer (and optionally an opportunity), then open the customer."""
    permissions.require(request.user, "sales.change")
    lead = get_object_or_404(leads_for(request.user), pk=pk)
    form = ConvertForm(request.POST)
    if form.is_valid():
        try:
            customer, opportunity = services.convert_lead(
                lead=lead,
                actor=request.user,
                opportunity_name=(form.cleaned_data["opportunity_name"] or "").strip(),
                opportunity_amount=form.cleaned_data["opportunity_amount"],
            )
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):  # e.g. converted already: nothing to fix in the form
                messages.error(request, " ".join(exc.messages))
                return redirect(lead)
            add_domain_error(form, exc)
        else:
            if opportunity is not None:
                messages.success(
                    request,
                    _("%(lead)s is now a customer, with the opportunity %(opportunity)s.")
                    % {"lead": lead.name, "opportunity": opportunity.name},
                )
            else:
                messages.success(request, _("%(lead)s is now a customer.") % {"lead": lead.name})
            if customers_for(request.user).filter(pk=customer.pk).exists():
                return redirect(customer)
            messages.info(
                request,
                _("The customer belongs to %(owner)s; the follow-ups and tags moved there.")
                % {"owner": customer.owner or _("the public pool")},
            )
            return redirect(lead)
    messages.error(request, _("The lead was not converted; see the form below."))
    return _render_detail(request, lead, convert_form=form, status=422)


@login_required
@require_POST
def lead_assign(request, pk):
    """A manager assigns or re-assigns one lead (within their scope)."""
    permissions.require(request.user, "sales.assign")
    leads = leads_for(request.user).filter(pk=pk)
    lead = get_object_or_404(leads)
    form = AssignForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, _("Choose the new owner."))
        return _render_detail(request, lead, assign_form=form, status=422)
    try:
        services.assign_leads(actor=request.user, leads=leads, owner=form.cleaned_data["owner"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("%(lead)s assigned to %(owner)s.") % {"lead": lead.name, "owner": form.cleaned_data["owner"]}
        )
    return redirect(lead)


urlpatterns = [
    path("leads/", LeadListView.as_view(), name="leads"),
    path("leads/new/", lead_form, name="lead_create"),
    path("leads/<int:pk>/", lead_detail, name="lead"),
    path("leads/<int:pk>/edit/", lead_form, name="lead_edit"),
    path("leads/<int:pk>/reveal/", lead_reveal, name="lead_reveal"),
    path("leads/<int:pk>/convert/", lead_convert, name="lead_convert"),
    path("leads/<int:pk>/assign/", lead_assign, name="lead_assign"),
]
