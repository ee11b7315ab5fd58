"""Contact from the phone: call a customer or a lead (a ``tel:`` link, then the call is logged
as a follow-up), copy the WeChat id. Opening the page shows the full number, so it is logged as a
reveal, as the record's "Reveal" button does."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from crm import permissions, privacy
from crm.maps import map_link_for
from customers.selectors import customers_for
from sales.models import FollowUp, Lead, Opportunity
from sales.services.followups import record_followup

from ..forms import CallLogForm, apply_service_errors


def _subject(request, kind, pk):
    if kind == "customer":
        return get_object_or_404(customers_for(request.user), pk=pk), privacy.Subject.CUSTOMER
    if kind == "lead":
        return get_object_or_404(permissions.visible(request.user, Lead.objects.all()), pk=pk), privacy.Subject.LEAD
    raise Http404


@login_required
def contact(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """打电话 / 复制微信号 for a customer or a lead (&opportunity= to log the call on it)."""
    permissions.require(request.user, "sales.change")
    if not privacy.may_reveal(request.user):
        raise PermissionDenied("customers.view_mobile")
    subject, subject_kind = _subject(request, kind, pk)
    if subject.anonymized_at:
        raise Http404
    opportunity = None
    if request.GET.get("opportunity"):
        if not request.GET["opportunity"].isdigit():
            raise Http404
        opportunity = get_object_or_404(
            permissions.visible(request.user, Opportunity.objects.all()), pk=request.GET["opportunity"]
        )
        owner_id = opportunity.customer_id if kind == "customer" else opportunity.lead_id
        if owner_id != subject.pk:
            raise Http404  # an opportunity of another record
    form = CallLogForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            record_followup(
                actor=request.user,
                content=form.cleaned_data["content"],
                customer=subject if kind == "customer" else None,
                lead=subject if kind == "lead" else None,
                opportunity=opportunity,
                channel=FollowUp.Channel.PHONE,
                outcome=form.cleaned_data["outcome"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The call was logged as a follow-up."))
            return redirect(opportunity.get_absolute_url() if opportunity else subject.get_absolute_url())
    if request.method == "GET":
        privacy.log_access(
            action=privacy.Action.REVEAL, subject=subject_kind, ids=[subject.pk], request=request, detail="phone"
        )
    return render(
        request,
        "field/contact.html",
        {
            "subject": subject,
            "kind": kind,
            "form": form,
            "opportunity": opportunity,
            "mobile": subject.mobile,
            "wechat_id": getattr(subject, "wechat_id", ""),
            "map_url": map_link_for(subject),
        },
    )
