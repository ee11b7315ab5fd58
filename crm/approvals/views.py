"""Pages of the approval engine: the one "待我审批" inbox, a request with its steps and the
decision form, and the chains an admin configures per kind."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.forms import modelformset_factory
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from crm import permissions
from crm.models import ApprovalRequest, ApprovalRule
from crm.ui import StyledFormMixin, add_domain_error

from . import kinds, selectors, services


class DecisionForm(StyledFormMixin, forms.Form):
    """Approve or reject; a rejection needs a comment (the service says so, beside the field)."""

    decision = forms.ChoiceField(choices=[("approve", gettext_lazy("Approve")), ("reject", gettext_lazy("Reject"))])
    comment = forms.CharField(
        label=gettext_lazy("Comment"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


def label_requests(requests):
    for request in requests:
        request.kind_label = kinds.label_of(request.kind)
    return requests


def _subject_url(request):
    try:
        spec = kinds.get(request.kind)
    except KeyError:
        return ""
    obj = spec.model_class._default_manager.filter(pk=request.object_id).first()
    return spec.url(obj) if obj is not None else ""


@login_required
def inbox(request):
    """待我审批 (every kind), my requests, what I decided."""
    user = request.user
    tab = request.GET.get("tab", "todo")
    kind = request.GET.get("kind", "")
    if kind not in {spec.code for spec in kinds.all_kinds()}:
        kind = ""
    if tab == "mine":
        rows = selectors.with_steps(selectors.requested_by(user)).order_by("-requested_at", "-id")
        if kind:
            rows = rows.filter(kind=kind)
    elif tab == "done":
        rows = selectors.decided_by(user)
        if kind:
            rows = rows.filter(request__kind=kind)
    else:
        tab = "todo"
        rows = selectors.inbox_for(user)
        if kind:
            rows = rows.filter(request__kind=kind)
    page = Paginator(rows, 30).get_page(request.GET.get("page"))
    label_requests([row if tab == "mine" else row.request for row in page])
    return render(
        request,
        "crm/approvals/inbox.html",
        {
            "tab": tab,
            "page": page,
            "kind": kind,
            "kinds": kinds.all_kinds(),
            "form": DecisionForm(),
            "todo_count": selectors.inbox_count(user),
            "next": request.get_full_path(),
        },
    )


def _render_request(request, approval, *, form=None, status=200):
    step = selectors.waiting_step(approval)
    can_decide = selectors.may_decide(request.user, approval)
    label_requests([approval])
    return render(
        request,
        "crm/approvals/detail.html",
        {
            "approval": approval,
            "steps": list(approval.steps.all()),
            "waiting": step,
            "next_approvers": selectors.next_approvers(approval),
            "can_decide": can_decide,
            "form": form or DecisionForm(),
            "subject_url": _subject_url(approval),
        },
        status=status,
    )


def _get_request(request, pk):
    approval = get_object_or_404(
        selectors.with_steps(ApprovalRequest.objects.select_related("requested_by", "decided_by", "department")), pk=pk
    )
    if not selectors.may_view(request.user, approval):
        raise Http404
    return approval


@login_required
def detail(request, pk):
    return _render_request(request, _get_request(request, pk))


@login_required
@require_POST
def decide(request, pk):
    """Approve or reject the waiting step. Not the user's decision: 403; a rejection without a
    comment: the page again with the error beside the comment."""
    approval = _get_request(request, pk)
    form = DecisionForm(request.POST)
    step = selectors.waiting_step(approval)
    if step is None:
        messages.error(request, _("This request was decided already."))
        return redirect("approvals:detail", pk=approval.pk)
    if not selectors.may_decide(request.user, approval):
        raise services.NotYourDecision
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        try:
            services.decide(step=step, actor=request.user, approve=approve, comment=form.cleaned_data["comment"])
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                add_domain_error(form, exc)
            else:
                messages.error(request, " ".join(exc.messages))
                return redirect("approvals:detail", pk=approval.pk)
        else:
            messages.success(
                request, (_("Approved: %(what)s.") if approve else _("Rejected: %(what)s.")) % {"what": approval.title}
            )
            target = request.POST.get("next", "")
            if target and url_has_allowed_host_and_scheme(
                target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                return redirect(target)
            return redirect("approvals:detail", pk=approval.pk)
    return _render_request(request, _get_request(request, pk), form=form)


# --- the chains -----------------------------------------------------------------------------


class RuleForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = ApprovalRule
        fields = ["position", "relation", "role", "min_amount"]

    def clean(self):
        data = super().clean()
        if data.get("relation") == "role" and not data.get("role"):
            self.add_error("role", _("Choose the role asked at this step."))
        return data


RuleFormSet = modelformset_factory(ApprovalRule, form=RuleForm, extra=1, can_delete=True)


@login_required
def chains(request):
    permissions.require(request.user, "org.manage")
    rows = []
    for spec in kinds.all_kinds():
        rows.append({"kind": spec, "rules": services.chain_for(spec.code)})
    return render(request, "crm/approvals/chains.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def chain_edit(request, approval_kind):
    permissions.require(request.user, "org.manage")
    kind = approval_kind
    try:
        spec = kinds.get(kind)
    except KeyError as exc:
        raise Http404 from exc
    services.chain_for(kind)
    queryset = ApprovalRule.objects.filter(kind=kind).order_by("position", "id")
    formset = RuleFormSet(request.POST or None, queryset=queryset, prefix="rules")
    if request.method == "POST" and formset.is_valid():
        kept = [form for form in formset.forms if form.has_changed() or form.instance.pk]
        if not [f for f in kept if not (formset.can_delete and formset._should_delete_form(f))]:
            formset._non_form_errors = formset.error_class([_("A chain needs at least one step.")])
        else:
            for rule in formset.save(commit=False):
                rule.kind = kind
                rule.save()
            for rule in formset.deleted_objects:
                rule.delete()
            messages.success(
                request, _("Approval chain of %(kind)s saved; new requests follow it.") % {"kind": spec.label}
            )
            return redirect("approvals:chains")
    return render(request, "crm/approvals/chain_form.html", {"formset": formset, "kind": spec})


urlpatterns = [
    path("", inbox, name="inbox"),
    path("chains/", chains, name="chains"),
    path("chains/<slug:approval_kind>/", chain_edit, name="chain_edit"),
    path("<int:pk>/", detail, name="detail"),
    path("<int:pk>/decide/", decide, name="decide"),
]
