"""Sales rules for directors and admins (``sales.configure``): lead scoring, grade thresholds and
contact protection, lead assignment, and the public-pool rules of each department."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm import permissions

from .. import metrics
from ..forms.leads import AssignmentRuleForm, PoolRuleForm, SalesSettingsForm, ScoreExampleForm, ScoringRuleForm
from ..models import AssignmentRule, PoolRule, SalesSettings, ScoringRule
from ..services.leads import grade_of, score_of
from ..services.opportunities import ensure_default_stages
from ..services.scoring import RUNNING, request_rescore, rescore_status


def _require(request):
    permissions.require(request.user, "sales.configure")


@login_required
def rules(request):
    _require(request)
    settings = SalesSettings.current()
    scoring = list(ScoringRule.objects.all())
    active = [rule for rule in scoring if rule.is_active]
    example_form = ScoreExampleForm(request.GET if "source" in request.GET else None)
    example_lead = example_form.example_lead()
    example_score = score_of(example_lead, active)
    return render(
        request,
        "sales/rules/rules.html",
        {
            "settings": settings,
            "amount_source": metrics.source(settings.target_amount_source),
            "scoring_rules": scoring,
            "example_form": example_form,
            "example_score": example_score,
            "example_grade": grade_of(example_score, settings),
            "best_score": sum(rule.points for rule in active if rule.points > 0),
            "assignment_rules": AssignmentRule.objects.select_related("team", "user"),
            "pool_rules": PoolRule.objects.select_related("department", "exempt_stage").order_by("department__path"),
            **_rescore_context(),
        },
    )


def _rescore_context():
    """The state of the last rescore of the open leads, for the scoring card."""
    status = dict(rescore_status() or {})
    for key in ("requested_at", "finished_at"):
        if status.get(key):
            status[key] = datetime.datetime.fromisoformat(status[key])
    total = status.get("total") or 0
    status["percent"] = min(100, int(100 * (status.get("processed") or 0) / total)) if total else 0
    return {"rescore": status or None, "rescore_running": status.get("state") in RUNNING}


@login_required
def rescore_progress(request):
    """The rescore status alone, polled by htmx while the rescore runs."""
    _require(request)
    return render(request, "sales/rules/rescore_status.html", _rescore_context())


def _form_page(request, form_class, instance, *, title, success, anchor, after_save=None):
    back = reverse("sales:rules") + anchor
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        if after_save is not None:
            after_save(form)
        messages.success(request, success)
        return redirect(back)
    return render(request, "crm/admin/form.html", {"form": form, "title": title, "cancel_url": back})


def _delete(request, model, pk, *, success, anchor):
    instance = get_object_or_404(model, pk=pk)
    instance.delete()
    messages.success(request, success)
    return redirect(reverse("sales:rules") + anchor)


@login_required
@require_http_methods(["GET", "POST"])
def scoring_rule_form(request, pk=None):
    _require(request)
    instance = get_object_or_404(ScoringRule, pk=pk) if pk else None
    return _form_page(
        request,
        ScoringRuleForm,
        instance,
        anchor="#scoring",
        title=_("Edit scoring rule") if pk else _("New scoring rule"),
        success=_("Scoring rule saved. The open leads are being rescored."),
    )


@login_required
@require_POST
def scoring_rule_delete(request, pk):
    _require(request)
    return _delete(
        request,
        ScoringRule,
        pk,
        success=_("Scoring rule deleted. The open leads are being rescored."),
        anchor="#scoring",
    )


@login_required
@require_http_methods(["GET", "POST"])
def settings_form(request):
    _require(request)

    def regrade(form):
        if {"grade_a", "grade_b", "grade_c"} & set(form.changed_data):
            request_rescore()  # new thresholds: the open leads are regraded

    return _form_page(
        request,
        SalesSettingsForm,
        SalesSettings.current(),
        anchor="#settings",
        title=_("Grades and contact protection"),
        success=_("Settings saved."),
        after_save=regrade,
    )


@login_required
@require_http_methods(["GET", "POST"])
def assignment_rule_form(request, pk=None):
    _require(request)
    if pk:
        instance = get_object_or_404(AssignmentRule, pk=pk)
    else:
        last = AssignmentRule.objects.order_by("-position").values_list("position", flat=True).first()
        instance = AssignmentRule(position=(last or 0) + 10)
    return _form_page(
        request,
        AssignmentRuleForm,
        instance,
        anchor="#assignment",
        title=_("Edit assignment rule") if pk else _("New assignment rule"),
        success=_("Assignment rule saved."),
    )


@login_required
@require_POST
def assignment_rule_delete(request, pk):
    _require(request)
    return _delete(request, AssignmentRule, pk, success=_("Assignment rule deleted."), anchor="#assignment")


@login_required
@require_http_methods(["GET", "POST"])
def pool_rule_form(request, pk=None):
    _require(request)
    ensure_default_stages()  # the exempt stage is chosen among them
    instance = get_object_or_404(PoolRule, pk=pk) if pk else None
    return _form_page(
        request,
        PoolRuleForm,
        instance,
        anchor="#pool",
        title=_("Edit public pool rule") if pk else _("New public pool rule"),
        success=_("Public pool rule saved."),
    )


@login_required
@require_POST
def pool_rule_delete(request, pk):
    _require(request)
    return _delete(request, PoolRule, pk, success=_("Public pool rule deleted."), anchor="#pool")


urlpatterns = [
    path("rules/", rules, name="rules"),
    path("rules/rescore/", rescore_progress, name="rescore_progress"),
    path("rules/scoring/new/", scoring_rule_form, name="scoring_rule_create"),
    path("rules/scoring/<int:pk>/edit/", scoring_rule_form, name="scoring_rule_edit"),
    path("rules/scoring/<int:pk>/delete/", scoring_rule_delete, name="scoring_rule_delete"),
    path("rules/settings/", settings_form, name="sales_settings"),
    path("rules/assignment/new/", assignment_rule_form, name="assignment_rule_create"),
    path("rules/assignment/<int:pk>/edit/", assignment_rule_form, name="assignment_rule_edit"),
    path("rules/assignment/<int:pk>/delete/", assignment_rule_delete, name="assignment_rule_delete"),
    path("rules/pool/new/", pool_rule_form, name="pool_rule_create"),
    path("rules/pool/<int:pk>/edit/", pool_rule_form, name="pool_rule_edit"),
    path("rules/pool/<int:pk>/delete/", pool_rule_delete, name="pool_rule_delete"),
]
