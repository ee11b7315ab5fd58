"""Partner pages: the list, the pipeline's kanban, a partner's page with its contacts and
follow-ups, and the forms that call ``services.partners``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm import permissions
from crm.errors import DomainError
from crm.labels import labelled
from crm.ui import ScopedListView, add_domain_error, history_for
from customers.models import Order

from .. import selectors
from ..filters import PartnerFilter
from ..forms import AttributeForm, ContactForm, FollowUpForm, GradeForm, MoveForm, PartnerForm, PortalUserForm
from ..models import Attribution, Partner, PartnerContact
from ..services import commission, portal
from ..services import partners as services
from ..tables import PartnerTable


class PartnerListView(ScopedListView):
    model = Partner
    table_class = PartnerTable
    filterset_class = PartnerFilter
    template_name = "partners/partner_list.html"
    view_action = "partners.view"
    export_action = "partners.export"
    export_name = "partners"
    create_url = reverse_lazy("partners:create")
    create_action = "partners.change"
    title = gettext_lazy("Partners")
    empty_text = gettext_lazy("No partners yet. Add the first prospect.")

    def get_queryset(self):
        return selectors.partners_for(self.request.user)


@login_required
def board(request: HttpRequest) -> HttpResponse:
    """合作伙伴开发看板: the pipeline's columns; each card moves by its own small form."""
    permissions.require(request.user, "partners.view")
    columns = selectors.board(request.user)
    return render(
        request,
        "partners/board.html",
        {
            "columns": columns,
            "can_change": permissions.can(request.user, "partners.change"),
            "title": _("Partner pipeline"),
        },
    )


def _partner(request, pk) -> Partner:
    return permissions.get_visible_or_404(request.user, Partner.objects.select_related("owner", "department"), pk=pk)


def _render_detail(request, partner, *, status=200, **forms_):
    user = request.user
    context = {
        "partner": partner,
        "contacts": list(selectors.contacts_for(user, partner)[:50]),
        "follow_ups": list(selectors.follow_ups_for(user, partner)[:50]),
        "changes": list(partner.status_changes.select_related("actor")[:20]),
        "can_change": permissions.can(user, "partners.change"),
        "can_grade": permissions.can(user, "partners.grade"),
        "move_form": forms_.get("move_form") or MoveForm(partner=partner),
        "contact_form": forms_.get("contact_form") or ContactForm(),
        "follow_up_form": forms_.get("follow_up_form") or FollowUpForm(),
        "grade_form": forms_.get("grade_form") or GradeForm(initial={"grade": partner.grade}),
        "history": history_for(partner),
        "can_attribute": permissions.can(user, "partners.attribute"),
        "attribute_form": forms_.get("attribute_form") or AttributeForm(),
        "attributions": list(partner.attributions.select_related("order__customer", "by").order_by("-at")[:20]),
        "grade_history": list(partner.grades.all()[:12]),
        "portal_users": list(partner.users.select_related("user").filter(user__is_service=False)),
        "portal_user_form": forms_.get("portal_user_form") or PortalUserForm(),
        "store_count": partner.stores.count(),
    }
    return render(request, "partners/partner_detail.html", context, status=status)


@login_required
@require_POST
def portal_user_add(request: HttpRequest, pk: int) -> HttpResponse:
    """A sign-in to the portal for someone at the partner."""
    permissions.require(request.user, "partners.change")
    partner = _partner(request, pk)
    form = PortalUserForm(request.POST)
    if form.is_valid():
        try:
            portal.create_portal_user(partner=partner, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Portal user created."))
            return redirect(partner)
    return _render_detail(request, partner, status=422, portal_user_form=form)


@login_required
def partner_detail(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "partners.view")
    return _render_detail(request, _partner(request, pk))


@login_required
def partner_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    permissions.require(request.user, "partners.change")
    partner = _partner(request, pk) if pk else Partner()
    form = PartnerForm(request.POST or None, instance=partner, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            partner = services.save_partner(partner=form.instance, actor=request.user)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Partner saved."))
            return redirect(partner)
    title = _("Edit partner") if pk else _("New partner")
    return render(
        request,
        "partners/partner_form.html",
        {"form": form, "title": title, "partner": partner},
        status=422 if form.errors else 200,
    )


@login_required
@require_POST
def partner_move(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "partners.change")
    partner = _partner(request, pk)
    form = MoveForm(request.POST, partner=partner)
    if form.is_valid():
        try:
            services.move_partner(
                partner=partner,
                to_status=form.cleaned_data["status"],
                actor=request.user,
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            if request.POST.get("from") == "board":
                messages.error(request, labelled(partner.name, _(exc.message)))
                return redirect("partners:board")
            add_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s moved to %(status)s.") % {"name": partner.name, "status": partner.get_status_display()},
            )
            return redirect("partners:board" if request.POST.get("from") == "board" else partner)
    return _render_detail(request, partner, status=422, move_form=form)


@login_required
@require_POST
def partner_grade(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "partners.grade")
    partner = _partner(request, pk)
    form = GradeForm(request.POST)
    if form.is_valid():
        services.set_grade(partner=partner, grade=form.cleaned_data["grade"], actor=request.user)
        messages.success(request, _("Grade saved."))
        return redirect(partner)
    return _render_detail(request, partner, status=422, grade_form=form)


@login_required
@require_POST
def contact_add(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "partners.change")
    partner = _partner(request, pk)
    form = ContactForm(request.POST, instance=PartnerContact(partner=partner))
    if form.is_valid():
        services.save_contact(contact=form.instance, actor=request.user)
        messages.success(request, _("Contact added."))
        return redirect(partner)
    return _render_detail(request, partner, status=422, contact_form=form)


@login_required
@require_POST
def follow_up_add(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "partners.change")
    partner = _partner(request, pk)
    form = FollowUpForm(request.POST)
    if form.is_valid():
        try:
            services.add_follow_up(
                partner=partner,
                actor=request.user,
                kind=form.cleaned_data["kind"],
                content=form.cleaned_data["content"],
                next_at=form.cleaned_data["next_at"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Follow-up saved."))
            return redirect(partner)
    return _render_detail(request, partner, status=422, follow_up_form=form)


@login_required
@require_POST
def attribute(request: HttpRequest, pk: int) -> HttpResponse:
    """Attribute an order (one the user may see) to this partner by hand, with the reason."""
    permissions.require(request.user, "partners.attribute")
    partner = permissions.get_visible_or_404(request.user, Partner.objects.all(), pk=pk)
    form = AttributeForm(request.POST)
    if form.is_valid():
        order = permissions.visible(request.user, Order.objects.filter(pk=form.cleaned_data["order"])).first()
        if order is None:
            form.add_error("order", _("No order with this number."))
        else:
            try:
                commission.attribute_order(
                    order=order,
                    partner=partner,
                    reason=Attribution.Reason.MANUAL,
                    actor=request.user,
                    note=form.cleaned_data["note"],
                )
            except DomainError as exc:
                add_domain_error(form, exc, "order")
            else:
                messages.success(request, _("Order attributed."))
                return redirect(partner)
    return _render_detail(request, partner, status=422, attribute_form=form)


urlpatterns = [
    path("", PartnerListView.as_view(), name="list"),
    path("board/", board, name="board"),
    path("new/", partner_form, name="create"),
    path("<int:pk>/", partner_detail, name="detail"),
    path("<int:pk>/edit/", partner_form, name="edit"),
    path("<int:pk>/move/", partner_move, name="move"),
    path("<int:pk>/grade/", partner_grade, name="grade"),
    path("<int:pk>/contacts/", contact_add, name="contact_add"),
    path("<int:pk>/follow-ups/", follow_up_add, name="follow_up_add"),
    path("<int:pk>/attribute/", attribute, name="attribute"),
    path("<int:pk>/portal-users/", portal_user_add, name="portal_user_add"),
]
