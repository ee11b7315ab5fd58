"""The 360 view (360度视图) of one customer, and what is edited from it: relations, tags, satisfaction."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm import permissions, privacy
from crm.phone import mask_mobile
from crm.ui import history_for

from .. import services, timeline
from ..forms.detail import RelationForm, SatisfactionForm, TagsForm, candidate_label, candidates
from ..models import (
    READINGS,
    SYMMETRIC_KINDS,
    CustomAttribute,
    CustomerRelation,
    CustomerTag,
    RelationKind,
    Tag,
)
from ..selectors import customers_for, may_see_mobile

RECENT_SATISFACTION = 5
REFERRALS_SHOWN = 20


def _customer_or_404(request, pk):
    return get_object_or_404(customers_for(request.user), pk=pk)


def _person(customer, *, visible, show_mobile):
    """How one other customer is shown: a link and the mobile (masked unless allowed) when the
    viewer may see them, the name only and a masked mobile when not."""
    return {
        "pk": customer.pk,
        "name": customer.name,
        "kind": customer.kind,
        "visible": visible,
        "url": customer.get_absolute_url() if visible else "",
        "mobile": customer.mobile if (visible and show_mobile) else mask_mobile(customer.mobile),
    }


def _household(customer, links, visible_ids, *, show_mobile, can_change):
    """The household as a list (each member with what they are to this customer, or to the member
    through whom they are reached) and as an ECharts graph option."""
    people = {customer.pk: customer}
    neighbours = {}
    for link in links:
        people[link.from_customer_id] = link.from_customer
        people[link.to_customer_id] = link.to_customer
        neighbours.setdefault(link.from_customer_id, []).append(link)
        neighbours.setdefault(link.to_customer_id, []).append(link)
    members, seen, frontier = [], {customer.pk}, [customer.pk]
    while frontier:  # breadth first: direct relatives first, then their relatives
        following = []
        for current in frontier:
            for link in sorted(neighbours.get(current, []), key=lambda x: x.pk):
                other, reading = link.reading_for(current)
                if other.pk in seen:
                    continue
                seen.add(other.pk)
                following.append(other.pk)
                direct = current == customer.pk
                members.append(
                    {
                        **_person(other, visible=other.pk in visible_ids, show_mobile=show_mobile),
                        "reading": reading,
                        "via": None if direct else people[current].name,
                        "relation_pk": link.pk if direct else None,
                        "can_unlink": direct and can_change and other.pk in visible_ids,
                    }
                )
        frontier = following
    graph = None
    if members:
        nodes = []
        for pk, person in people.items():
            if pk not in seen:
                continue
            is_self = pk == customer.pk
            nodes.append(
                {
                    "id": str(pk),
                    "name": _graph_text(person.name),
                    "symbolSize": 44 if is_self else 30,
                    "itemStyle": {"color": "#1f6feb" if is_self else ("#64748b" if pk in visible_ids else "#cbd5e1")},
                    "label": {"show": True, "fontWeight": "bold" if is_self else "normal"},
                }
            )
        edges = []
        for link in links:
            symmetric = link.kind in SYMMETRIC_KINDS
            edges.append(
                {
                    "source": str(link.from_customer_id),
                    "target": str(link.to_customer_id),
                    "symbol": ["none", "none" if symmetric else "arrow"],
                    "label": {"show": True, "formatter": _graph_text(str(READINGS[link.kind][1]))},
                }
            )
        graph = {
            "animationDurationUpdate": 300,
            "series": [
                {
                    "type": "graph",
                    "layout": "force",
                    "roam": True,
                    "draggable": True,
                    "force": {"repulsion": 260, "edgeLength": [70, 120]},
                    "edgeSymbolSize": 8,
                    "label": {"position": "bottom", "fontSize": 12},
                    "edgeLabel": {"fontSize": 11, "color": "#475569"},
                    "lineStyle": {"color": "#94a3b8", "width": 1.5, "curveness": 0.08},
                    "data": nodes,
                    "links": edges,
                }
            ],
        }
    return members, graph


def _graph_text(text):
    # ECharts reads {a}, {b}... in label strings as placeholders
    return text.replace("{", "(").replace("}", ")")


def _referrals(customer, relations, visible_ids, *, show_mobile, can_change):
    referred_by, brought = [], []
    for relation in relations:
        if relation.to_customer_id == customer.pk:
            other, bucket = relation.from_customer, referred_by
        else:
            other, bucket = relation.to_customer, brought
        bucket.append(
            {
                **_person(other, visible=other.pk in visible_ids, show_mobile=show_mobile),
                "relation_pk": relation.pk,
                "can_unlink": can_change and other.pk in visible_ids,
            }
        )
    return referred_by, brought


def _detail_context(request, customer, *, relation_form=None, tag_form=None, satisfaction_form=None):
    user = request.user
    show_mobile = may_see_mobile(user)
    can_change = permissions.can(user, "customers.change")
    visible_customers = customers_for(user)

    if can_change:  # every tag (for the editor), each marked whether the customer holds it: one query
        all_tags = list(
            Tag.objects.select_related("group").annotate(
                held=Exists(CustomerTag.objects.filter(customer=customer, tag=OuterRef("pk")))
            )
        )
        current_tags = [tag for tag in all_tags if tag.held]
    else:
        current_tags = list(customer.tags.select_related("group"))
    tag_groups = {}
    for tag in current_tags:
        tag_groups.setdefault(tag.group_id, (tag.group, []))[1].append(tag)

    attributes = [(attribute, customer.custom.get(attribute.key)) for attribute in CustomAttribute.objects.all()]

    household_ids, family_links = services.household(customer.pk)
    referral_links = list(
        CustomerRelation.objects.filter(kind=RelationKind.REFERRER)
        .filter(Q(from_customer=customer) | Q(to_customer=customer))
        .select_related("from_customer", "to_customer")
        .order_by("-created_at", "-pk")[: REFERRALS_SHOWN + 1]
    )
    others = (
        set(household_ids) | {r.from_customer_id for r in referral_links} | {r.to_customer_id for r in referral_links}
    ) - {customer.pk}
    visible_ids = set(visible_customers.filter(pk__in=others).values_list("pk", flat=True)) if others else set()
    visible_ids.add(customer.pk)
    members, graph = _household(customer, family_links, visible_ids, show_mobile=show_mobile, can_change=can_change)
    referred_by, brought = _referrals(
        customer, referral_links, visible_ids, show_mobile=show_mobile, can_change=can_change
    )

    kind = request.GET.get("kind", "")
    if kind not in {s.kind for s in timeline.sources()}:
        kind = ""

    context = {
        "customer": customer,
        "contact": privacy.contact(customer, revealed=show_mobile),
        "revealed": show_mobile,
        "can_reveal": privacy.may_reveal(user) and not customer.anonymized_at,
        "can_manage_privacy": permissions.can(user, "privacy.manage"),
        "show_mobile": show_mobile,
        "can_change": can_change,
        "can_delete": permissions.can(user, "customers.delete"),
        "tag_groups": list(tag_groups.values()),
        "attributes": attributes,
        "days_since_last_order": (timezone.now() - customer.last_order_at).days if customer.last_order_at else None,
        "household": members,
        "household_graph": graph,
        "referred_by": referred_by,
        "brought": brought[:REFERRALS_SHOWN],
        "referral_total": services.referral_count(customer.pk) if brought else 0,
        "satisfaction_records": list(customer.satisfaction_records.select_related("recorded_by")[:RECENT_SATISFACTION]),
        "timeline": timeline.page(customer, kind=kind),
        "timeline_sources": timeline.sources(),
        "panels": {slot: _panel(slot, customer, user) for slot in timeline.PANEL_SLOTS},
        "header_actions": timeline.actions(),
        "history": history_for(customer, limit=10),
    }
    if can_change:
        context["tag_form"] = tag_form or TagsForm(tags=all_tags, current=current_tags)
        context["relation_form"] = relation_form or RelationForm(
            customer=customer,
            customers=visible_customers,
            show_mobile=show_mobile,
            candidates_url=reverse("customers:relation_candidates", args=[customer.pk]),
        )
        context["satisfaction_form"] = satisfaction_form or SatisfactionForm()
    return context


def _panel(slot, customer, user):
    registered = timeline.panel(slot)
    if registered is None:
        return None
    extra = registered.context_fn(customer, user) if registered.context_fn else {}
    return {"template_name": registered.template_name, "context": extra}


def _render_detail(request, customer, status=200, **forms):
    return render(request, "customers/detail.html", _detail_context(request, customer, **forms), status=status)


def _add_service_errors(form, exc, mapping):
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, messages_ in errors.items():
        target = mapping.get(field, field)
        form.add_error(target if target in form.fields else None, messages_)


@login_required
@require_GET
def customer_detail(request, pk):
    permissions.require(request.user, "customers.view")
    customer = _customer_or_404(request, pk)
    privacy.log_access(action=privacy.Action.VIEW, subject=privacy.Subject.CUSTOMER, ids=[customer.pk], request=request)
    return _render_detail(request, customer)


@login_required
@require_GET
def customer_timeline(request, pk):
    """A page of the timeline (the "Load more" button and the kind filter fetch it with htmx)."""
    permissions.require(request.user, "customers.view")
    customer = _customer_or_404(request, pk)
    kind = request.GET.get("kind", "")
    if kind not in {s.kind for s in timeline.sources()}:
        kind = ""
    try:
        offset = max(int(request.GET.get("offset", 0)), 0)
    except ValueError:
        offset = 0
    card = request.GET.get("card") == "1"  # the kind filter swaps the whole card, "Load more" adds entries
    return render(
        request,
        "customers/detail/timeline_card.html" if card else "customers/detail/timeline_items.html",
        {
            "customer": customer,
            "timeline": timeline.page(customer, offset=0 if card else offset, kind=kind),
            "timeline_sources": timeline.sources(),
            "show_mobile": may_see_mobile(request.user),
        },
    )


@login_required
@require_GET
def relation_candidates(request, pk):
    """The <option>s of the "other customer" select, filtered by name or mobile (htmx)."""
    permissions.require(request.user, "customers.change")
    customer = _customer_or_404(request, pk)
    show_mobile = may_see_mobile(request.user)
    found = candidates(
        customers_for(request.user), exclude_pk=customer.pk, query=request.GET.get("q", ""), user=request.user
    )
    return render(
        request,
        "customers/detail/relation_options.html",
        {
            "options": [(c.pk, candidate_label(c, show_mobile=show_mobile)) for c in found],
        },
    )


@login_required
@require_POST
def relation_add(request, pk):
    permissions.require(request.user, "customers.change")
    customer = _customer_or_404(request, pk)
    visible_customers = customers_for(request.user)
    form = RelationForm(
        request.POST,
        customer=customer,
        customers=visible_customers,
        show_mobile=may_see_mobile(request.user),
        options=[],
    )
    valid = form.is_valid()
    chosen = form.cleaned_data.get("other")  # before a service error takes it out of cleaned_data
    if valid:
        from_customer, to_customer, kind = form.link_arguments()
        try:
            services.link_customers(
                actor=request.user,
                from_customer=from_customer,
                to_customer=to_customer,
                kind=kind,
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            _add_service_errors(form, exc, {"to_customer": "other", "from_customer": "other", "kind": "role"})
        else:
            other = form.cleaned_data["other"]
            messages.success(
                request,
                _("%(other)s linked as %(role)s.")
                % {"other": other.name, "role": dict(form.fields["role"].choices)[form.cleaned_data["role"]]},
            )
            return redirect(customer)
    # shown again with the customer that was chosen still selected
    options = candidates(visible_customers, exclude_pk=customer.pk)
    if chosen is not None and chosen not in options:
        options.insert(0, chosen)
    form.set_options(options)
    messages.error(request, _("The relation was not added; see the form."))
    return _render_detail(request, customer, relation_form=form)


@login_required
@require_POST
def relation_delete(request, pk):
    """Remove a link. Both customers must be in the user's scope (as when linking)."""
    permissions.require(request.user, "customers.change")
    relation = get_object_or_404(CustomerRelation.objects.select_related("from_customer", "to_customer"), pk=pk)
    ends = {relation.from_customer_id, relation.to_customer_id}
    if customers_for(request.user).filter(pk__in=ends).count() != 2:
        raise Http404
    back = request.POST.get("customer", "")
    back_pk = int(back) if back.isdigit() and int(back) in ends else relation.from_customer_id
    other, reading = relation.reading_for(back_pk)
    services.unlink(relation=relation)
    messages.success(request, _("Link to %(other)s (%(reading)s) removed.") % {"other": other.name, "reading": reading})
    return redirect("customers:detail", pk=back_pk)


@login_required
@require_POST
def tags_edit(request, pk):
    permissions.require(request.user, "customers.change")
    customer = _customer_or_404(request, pk)
    current = list(customer.tags.select_related("group"))
    form = TagsForm(request.POST, tags=list(Tag.objects.select_related("group")), current=current)
    if form.is_valid():
        try:
            services.set_customer_tags(customer=customer, tags=form.selected_tags(), actor=request.user)
        except ValidationError as exc:
            _add_service_errors(form, exc, {})
        else:
            messages.success(request, _("Tags saved."))
            return redirect(customer)
    messages.error(request, _("The tags were not saved; see the form."))
    return _render_detail(request, customer, tag_form=form)


@login_required
@require_POST
def satisfaction_add(request, pk):
    permissions.require(request.user, "customers.change")
    customer = _customer_or_404(request, pk)
    form = SatisfactionForm(request.POST)
    if form.is_valid():
        try:
            services.record_satisfaction(customer=customer, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_service_errors(form, exc, {})
        else:
            messages.success(request, _("Satisfaction recorded."))
            return redirect(customer)
    messages.error(request, _("The satisfaction record was not saved; see the form."))
    return _render_detail(request, customer, satisfaction_form=form)


urlpatterns = [
    path("<int:pk>/", customer_detail, name="detail"),
    path("<int:pk>/timeline/", customer_timeline, name="timeline"),
    path("<int:pk>/relations/add/", relation_add, name="relation_add"),
    path("<int:pk>/relations/candidates/", relation_candidates, name="relation_candidates"),
    path("relations/<int:pk>/delete/", relation_delete, name="relation_delete"),
    path("<int:pk>/tags/", tags_edit, name="tags_edit"),
    path("<int:pk>/satisfaction/add/", satisfaction_add, name="satisfaction_add"),
]
