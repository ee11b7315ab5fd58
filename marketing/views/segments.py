"""The segment builder (live count and sample while editing), segment list and detail."""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm import permissions
from crm.labels import labelled
from crm.models import Department
from customers import region_field
from customers.models import Tag
from customers.selectors import may_see_mobile

from ..forms import SegmentForm
from ..models import Campaign, CampaignStats, Segment
from ..selectors import segments_for
from ..services import segments as rules

CONDITION_KEY = re.compile(r"^g(\d+)-c(\d+)-field$")
GROUP_KEY = re.compile(r"^g(\d+)-match$")
LIST_VALUES = ("choices", "tags", "users", "departments")


# -- the builder --------------------------------------------------------------------------------


def parse_builder(data, subject):
    """The definition the builder's inputs describe, with the edit action applied."""
    fields = rules.fields_for(subject)
    group_ids = sorted({int(m.group(1)) for key in data for m in [GROUP_KEY.match(key)] if m})
    groups = []
    for i in group_ids:
        condition_ids = sorted(
            {int(m.group(2)) for key in data for m in [CONDITION_KEY.match(key)] if m and int(m.group(1)) == i}
        )
        conditions = []
        for j in condition_ids:
            prefix = f"g{i}-c{j}-"
            name = data.get(prefix + "field", "")
            spec = fields.get(name)
            op = data.get(prefix + "op", "")
            if spec is not None and op not in spec.ops:
                op = spec.ops[0]
            values = [v for v in data.getlist(prefix + "value") if v != ""]
            if spec is not None and spec.value == "region":  # the picker's three selects: the deepest pick
                value = region_field.deepest(values)
            else:
                value = values if spec is None or spec.value in LIST_VALUES else (values[0] if values else "")
            conditions.append({"field": name, "op": op, "value": value, "key": f"g{i}-c{j}"})
        groups.append({"match": data.get(f"g{i}-match", "all"), "conditions": conditions, "key": f"g{i}"})
    action = data.get("builder_action", "")
    if action == "add_group" or not groups:
        groups.append({"match": "all", "conditions": [], "key": f"g{len(group_ids)}"})
        action = "add:" + groups[-1]["key"]
    if action.startswith("add:"):
        for group in groups:
            if group["key"] == action[4:]:
                group["conditions"].append({"field": "", "op": "", "value": "", "key": ""})
    elif action.startswith("remove:"):
        for group in groups:
            group["conditions"] = [c for c in group["conditions"] if c["key"] != action[7:]]
        groups = [g for g in groups if g["conditions"]] or groups[:1]
    return {"match": data.get("match", "all"), "groups": groups}


def _strip(definition):
    return {
        "match": definition["match"],
        "groups": [
            {"match": g["match"], "conditions": [{k: c[k] for k in ("field", "op", "value")} for c in g["conditions"]]}
            for g in definition["groups"]
        ],
    }


def _options(user, subject):
    """What value pickers offer: tags, people and departments in the user's scope, campaigns."""
    scope_users = permissions.assignable_users(user)
    return {
        "tags": [
            (t.pk, labelled(t.group.name, t.name))
            for t in Tag.objects.select_related("group").order_by("group__name", "name")
        ],
        "users": [(u.pk, str(u)) for u in scope_users.order_by("username")],
        "departments": [(d.pk, d.name) for d in Department.objects.order_by("path")],
        "campaigns": [(c.pk, c.name) for c in permissions.visible(user, Campaign.objects.order_by("-start"))[:200]],
    }


def builder_context(user, subject, definition, *, errors=None, with_preview=True):
    """Rows for the template: each condition with its field list, operators and value picker."""
    fields = rules.fields_for(subject)
    options = _options(user, subject)
    rows_groups, valid_groups = [], []
    for i, group in enumerate(definition["groups"]):
        rows, valid = [], []
        for j, condition in enumerate(group["conditions"]):
            spec = fields.get(condition["field"])
            key = f"g{i}-c{j}"
            row = {
                "key": key,
                "field": condition["field"],
                "op": condition["op"],
                "spec": spec,
                "ops": [(op, rules.OPS[op]) for op in spec.ops] if spec else [],
                "error": (errors or {}).get(key),
            }
            if spec is not None:
                row["multiple"] = spec.value in LIST_VALUES
                selected = condition["value"] if isinstance(condition["value"], list) else [condition["value"]]
                row["selected"] = [str(v) for v in selected]
                row["value"] = "" if isinstance(condition["value"], list) else condition["value"]
                row["choices"] = spec.choices if spec.value == "choices" else options.get(spec.value, [])
                row["input"] = (
                    "select"
                    if spec.value in LIST_VALUES + ("campaigns",)
                    else "number"
                    if spec.value in ("int", "days", "decimal")
                    else "region"
                    if spec.value == "region"
                    else "text"
                )
                if spec.value == "region":
                    row["levels"] = region_field.levels(str(condition["value"] or ""))
                try:
                    valid.append(rules.clean_condition(subject, condition, fields))
                except ValidationError as exc:
                    row["incomplete"] = exc.messages[0]
            rows.append(row)
        rows_groups.append({"key": f"g{i}", "match": group["match"], "rows": rows})
        if valid:
            valid_groups.append({"match": "any" if group["match"] == "any" else "all", "conditions": valid})
    context = {
        "groups": rows_groups,
        "match": definition["match"],
        "subject": subject,
        "fields": [(name, spec.label) for name, spec in fields.items()],
    }
    if with_preview:
        counted = {
            "match": definition["match"] if definition["match"] in ("all", "any") else "all",
            "groups": valid_groups,
        }
        context["preview"] = rules.preview(user, subject=subject, definition=counted)
        context["show_mobile"] = may_see_mobile(user)
    return context


def _definition_for_display(definition):
    return {
        "match": definition.get("match", "all"),
        "groups": [
            {
                "match": g["match"],
                "conditions": [dict(c, key=f"g{i}-c{j}") for j, c in enumerate(g["conditions"])],
                "key": f"g{i}",
            }
            for i, g in enumerate(definition.get("groups", []))
        ],
    }


@login_required
@require_POST
def builder(request):
    """htmx: re-render the builder with the live count after any change."""
    permissions.require(request.user, "marketing.manage")
    subject = request.POST.get("subject") or Segment.Subject.CUSTOMERS
    if subject not in Segment.Subject.values:
        subject = Segment.Subject.CUSTOMERS
    definition = parse_builder(request.POST, subject)
    return render(request, "marketing/segments/_builder.html", builder_context(request.user, subject, definition))


@login_required
@require_http_methods(["GET", "POST"])
def segment_form(request, pk=None):
    permissions.require(request.user, "marketing.manage")
    segment = get_object_or_404(segments_for(request.user), pk=pk) if pk else Segment()
    form = SegmentForm(request.POST or None, instance=segment)
    errors = None
    if request.method == "POST":
        subject = (
            request.POST.get("subject") if request.POST.get("subject") in Segment.Subject.values else (segment.subject)
        )
        definition = parse_builder(request.POST, subject)
        if form.is_valid():
            try:
                segment = rules.save_segment(
                    actor=request.user, segment=form.save(commit=False), definition=_strip(definition)
                )
            except ValidationError as exc:
                errors = exc.message_dict
                form.add_error(None, _("Some conditions need fixing; see the marks below."))
            else:
                messages.success(request, _("Segment saved: %(n)s people match today.") % {"n": segment.size})
                return redirect(segment)
    else:
        subject = segment.subject
        definition = (
            _definition_for_display(segment.definition) if segment.pk else parse_builder(request.GET.copy(), subject)
        )
    return render(
        request,
        "marketing/segments/form.html",
        {
            "form": form,
            "segment": segment,
            "builder": builder_context(request.user, subject, definition, errors=errors),
        },
    )


@login_required
def segment_list(request):
    permissions.require(request.user, "marketing.view")
    items = list(
        segments_for(request.user).annotate(n_campaigns=Count("campaigns", distinct=True)).order_by("-updated_at")
    )
    for item, summary in zip(items, rules.describe_many(items)):
        item.summary = summary
    return render(
        request,
        "marketing/segments/list.html",
        {"segments": items, "can_manage": permissions.can(request.user, "marketing.manage")},
    )


@login_required
def segment_detail(request, pk):
    permissions.require(request.user, "marketing.view")
    segment = get_object_or_404(segments_for(request.user), pk=pk)
    sizes = list(segment.sizes.order_by("-day")[:90])[::-1]
    chart = {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 50, "right": 20, "top": 20, "bottom": 30},
        "xAxis": {"type": "category", "data": [s.day.isoformat() for s in sizes]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {"type": "line", "name": _("Size"), "data": [s.size for s in sizes], "smooth": True, "areaStyle": {}}
        ],
    }
    campaigns = list(segment.campaigns.order_by("-start")[:20])
    stats = {s.campaign_id: s.figures for s in CampaignStats.objects.filter(campaign__in=campaigns)}
    for campaign in campaigns:
        campaign.figures = stats.get(campaign.pk, {})
    problem = rules.stored_problem(segment.subject, segment.definition)
    # checked just above: only a definition no longer valid needs the stored path (matches nobody)
    sample = rules.preview(request.user, subject=segment.subject, definition=segment.definition, stored=bool(problem))
    return render(
        request,
        "marketing/segments/detail.html",
        {
            "segment": segment,
            "problem": problem,
            "summary": rules.describe(segment),
            "chart": chart,
            "campaigns": campaigns,
            "plans": segment.nurture_plans.all(),
            "preview": sample,
            "show_mobile": may_see_mobile(request.user),
            "can_manage": permissions.can(request.user, "marketing.manage"),
            "history": permissions.can(request.user, "marketing.manage"),
        },
    )


@login_required
@require_POST
def segment_recount(request, pk):
    permissions.require(request.user, "marketing.manage")
    segment = get_object_or_404(segments_for(request.user), pk=pk)
    rules.record_size(segment)
    messages.success(request, _("%(n)s people match today.") % {"n": segment.size})
    return redirect(segment)


urlpatterns = [
    path("segments/", segment_list, name="segments"),
    path("segments/new/", segment_form, name="segment_create"),
    path("segments/builder/", builder, name="segment_builder"),
    path("segments/<int:pk>/", segment_detail, name="segment"),
    path("segments/<int:pk>/edit/", segment_form, name="segment_edit"),
    path("segments/<int:pk>/recount/", segment_recount, name="segment_recount"),
]
