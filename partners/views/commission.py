"""Commission pages: the rules (返佣规则)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from crm import permissions

from ..forms import CommissionRuleForm
from ..models import CommissionRule


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "partners.configure")
    rules = CommissionRule.objects.select_related("sku", "category")[:200]
    return render(request, "partners/rule_list.html", {"rules": rules, "title": _("Commission rules")})


@login_required
def rule_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    permissions.require(request.user, "partners.configure")
    rule = get_object_or_404(CommissionRule, pk=pk) if pk else CommissionRule()
    form = CommissionRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Commission rule saved."))
        return redirect("partners:rules")
    return render(
        request,
        "partners/rule_form.html",
        {"form": form, "title": _("Edit commission rule") if pk else _("New commission rule")},
        status=422 if form.errors else 200,
    )


urlpatterns = [
    path("rules/", rule_list, name="rules"),
    path("rules/new/", rule_form, name="rule_create"),
    path("rules/<int:pk>/", rule_form, name="rule_edit"),
]
