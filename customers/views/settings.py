"""Configuration pages: tag groups and tags, tag rules, custom attributes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm import permissions

from .. import services
from ..forms.settings import CustomAttributeForm, LeadSourceForm, TagForm, TagGroupForm, TagRuleForm
from ..models import CustomAttribute, LeadSource, Tag, TagGroup, TagRule
from ..services.sources import save_source


def _require(request):
    permissions.require(request.user, "customers.configure")


@login_required
def tag_overview(request):
    _require(request)
    groups = TagGroup.objects.prefetch_related(
        Prefetch("tags", queryset=Tag.objects.annotate(customer_count=Count("customer_links")))
    )
    rules = TagRule.objects.select_related("tag", "tag__group", "segment")
    return render(request, "customers/settings/tags.html", {"groups": groups, "rules": rules})


def _simple_form(request, form_class, instance, title, success):
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, success)
        return None, form
    back = request.GET.get("back", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("customers:tags")  # never a link to another site, nor a javascript: URL
    return render(request, "crm/admin/form.html", {"form": form, "title": title, "cancel_url": back}), form


@login_required
@require_http_methods(["GET", "POST"])
def tag_group_form(request, pk=None):
    _require(request)
    instance = get_object_or_404(TagGroup, pk=pk) if pk else None
    page, form = _simple_form(
        request, TagGroupForm, instance, _("Edit tag group") if pk else _("New tag group"), _("Tag group saved.")
    )
    return page or redirect("customers:tags")


@login_required
@require_http_methods(["GET", "POST"])
def tag_form(request, pk=None):
    _require(request)
    instance = get_object_or_404(Tag, pk=pk) if pk else Tag(group_id=request.GET.get("group") or None)
    page, form = _simple_form(request, TagForm, instance, _("Edit tag") if pk else _("New tag"), _("Tag saved."))
    return page or redirect("customers:tags")


@login_required
@require_POST
def tag_delete(request, pk):
    _require(request)
    tag = get_object_or_404(Tag, pk=pk)
    tag.delete()
    messages.success(request, _("Tag %(name)s deleted.") % {"name": tag.name})
    return redirect("customers:tags")


@login_required
@require_http_methods(["GET", "POST"])
def tag_rule_form(request, pk=None):
    _require(request)
    instance = (
        get_object_or_404(TagRule, pk=pk)
        if pk
        else TagRule(query=request.GET.get("query", ""), segment_id=request.GET.get("segment") or None)
    )
    page, form = _simple_form(
        request,
        TagRuleForm,
        instance,
        _("Edit tag rule") if pk else _("New tag rule"),
        _("Tag rule saved. It runs every night; run it now from the list."),
    )
    return page or redirect("customers:tags")


@login_required
@require_POST
def tag_rule_run(request, pk):
    _require(request)
    rule = get_object_or_404(TagRule, pk=pk)
    result = services.apply_rule(rule, actor=request.user)
    if result["error"]:
        messages.error(
            request, _("The rule's filter is not valid, so it matches nobody: %(error)s") % {"error": result["error"]}
        )
        return redirect("customers:tags")
    messages.success(
        request, _("Rule applied: %(matching)d customers match, %(added)d tagged, %(removed)d untagged.") % result
    )
    return redirect("customers:tags")


@login_required
def attribute_list(request):
    _require(request)
    return render(request, "customers/settings/attributes.html", {"attributes": CustomAttribute.objects.all()})


@login_required
@require_http_methods(["GET", "POST"])
def attribute_form(request, pk=None):
    _require(request)
    instance = get_object_or_404(CustomAttribute, pk=pk) if pk else None
    form = CustomAttributeForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Custom attribute saved."))
        return redirect("customers:attributes")
    return render(
        request,
        "crm/admin/form.html",
        {
            "form": form,
            "title": _("Edit custom attribute") if pk else _("New custom attribute"),
            "cancel_url": reverse("customers:attributes"),
        },
    )


@login_required
def source_list(request):
    _require(request)
    sources = LeadSource.objects.all()
    return render(request, "customers/settings/sources.html", {"sources": sources})


@login_required
@require_http_methods(["GET", "POST"])
def source_form(request, pk=None):
    _require(request)
    instance = get_object_or_404(LeadSource, pk=pk) if pk else None
    form = LeadSourceForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        save_source(source=form.save(commit=False))
        messages.success(request, _("Lead source saved."))
        return redirect("customers:sources")
    return render(
        request,
        "crm/admin/form.html",
        {
            "form": form,
            "title": _("Edit lead source") if pk else _("New lead source"),
            "cancel_url": reverse("customers:sources"),
        },
    )


urlpatterns = [
    path("sources/", source_list, name="sources"),
    path("sources/new/", source_form, name="source_create"),
    path("sources/<int:pk>/edit/", source_form, name="source_edit"),
    path("tags/", tag_overview, name="tags"),
    path("tags/groups/new/", tag_group_form, name="tag_group_create"),
    path("tags/groups/<int:pk>/edit/", tag_group_form, name="tag_group_edit"),
    path("tags/new/", tag_form, name="tag_create"),
    path("tags/<int:pk>/edit/", tag_form, name="tag_edit"),
    path("tags/<int:pk>/delete/", tag_delete, name="tag_delete"),
    path("tags/rules/new/", tag_rule_form, name="tag_rule_create"),
    path("tags/rules/<int:pk>/edit/", tag_rule_form, name="tag_rule_edit"),
    path("tags/rules/<int:pk>/run/", tag_rule_run, name="tag_rule_run"),
    path("attributes/", attribute_list, name="attributes"),
    path("attributes/new/", attribute_form, name="attribute_create"),
    path("attributes/<int:pk>/edit/", attribute_form, name="attribute_edit"),
]
