"""The content library, reps' tracked links, nurture plans, opt-outs, settings — and the public
pages a tracked link opens (no login): click, open pixel, event sign-up, unsubscribe."""

import base64

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm import permissions
from customers.selectors import customers_for

from .. import tracking
from ..forms import ContentForm, NurturePlanForm, SettingsForm, StepFormSet
from ..models import ContentItem, Enrollment, MarketingSettings, Message, NurturePlan, Registration, TrackingLink
from ..selectors import campaigns_for, plans_for, segments_for
from ..services import campaigns as campaign_rules
from ..services import nurture

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


# -- content library ----------------------------------------------------------------------------


@login_required
def content_list(request):
    permissions.require(request.user, "marketing.view")
    items = ContentItem.objects.prefetch_related("tags").annotate(n_links=Count("links")).order_by("-created_at")
    kind = request.GET.get("kind", "")
    if kind in ContentItem.Kind.values:
        items = items.filter(kind=kind)
    return render(
        request,
        "marketing/content/list.html",
        {
            "items": items[:200],
            "kind": kind,
            "kinds": ContentItem.Kind.choices,
            "can_manage": permissions.can(request.user, "marketing.manage"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def content_form(request, pk=None):
    permissions.require(request.user, "marketing.manage")
    item = get_object_or_404(ContentItem, pk=pk) if pk else ContentItem(created_by=request.user)
    form = ContentForm(request.POST or None, instance=item)
    if request.method == "POST" and form.is_valid():
        item = form.save()
        messages.success(request, _("Content saved."))
        return redirect(item)
    return render(
        request,
        "crm/admin/form.html",
        {
            "form": form,
            "title": item.title if pk else _("New content"),
            "cancel_url": reverse("marketing:content_list"),
        },
    )


@login_required
def content_detail(request, pk):
    permissions.require(request.user, "marketing.view")
    item = get_object_or_404(ContentItem.objects.prefetch_related("tags"), pk=pk)
    links = permissions.visible(request.user, TrackingLink.objects.filter(content=item))
    by_rep = (
        links.values("rep__username", "rep__first_name", "rep__last_name")
        .annotate(n=Count("pk"), clicks=Count("pk", filter=Q(clicks__gt=0)))
        .order_by("-clicks")[:20]
    )
    return render(
        request,
        "marketing/content/detail.html",
        {
            "item": item,
            "by_rep": by_rep,
            "touches": item.touches.select_related("campaign")[:20],
            "my_link": _absolute(request, _rep_link(item, request.user, None).get_absolute_url()),
            "can_manage": permissions.can(request.user, "marketing.manage"),
        },
    )


def _rep_link(item, rep, customer):
    code = tracking.encode("r", item.pk, rep.pk, customer.pk if customer else 0)
    link, _created = TrackingLink.objects.get_or_create(
        code=code, defaults={"content": item, "rep": rep, "customer": customer}
    )
    return link


def _absolute(request, url):
    return request.build_absolute_uri(url)


@login_required
@require_POST
def share(request, pk, customer_pk):
    """A rep's own tracked link to this content for this customer (shown once, kept for reuse)."""
    item = get_object_or_404(ContentItem, pk=pk, active=True)
    customer = get_object_or_404(customers_for(request.user), pk=customer_pk)
    link = _rep_link(item, request.user, customer)
    messages.success(
        request,
        _("Your link for %(name)s: %(url)s — clicks are counted for you.")
        % {"name": customer.name, "url": _absolute(request, link.get_absolute_url())},
    )
    return redirect(customer)


@login_required
@require_POST
def opt(request, customer_pk):
    """Switch a customer's marketing opt-out for a channel (or all)."""
    if not (permissions.can(request.user, "customers.change") or permissions.can(request.user, "marketing.manage")):
        raise Http404
    customer = get_object_or_404(customers_for(request.user), pk=customer_pk)
    channel = request.POST.get("channel", "")
    try:
        if request.POST.get("state") == "out":
            campaign_rules.opt_out(customer=customer, channel=channel, actor=request.user)
            messages.success(
                request, _("%(name)s will get no more marketing on this channel.") % {"name": customer.name}
            )
        else:
            campaign_rules.opt_in(customer=customer, channel=channel)
            messages.success(
                request, _("Marketing on this channel is allowed again for %(name)s.") % {"name": customer.name}
            )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(customer)


# -- nurture plans ------------------------------------------------------------------------------


@login_required
def plan_list(request):
    permissions.require(request.user, "marketing.view")
    plans = plans_for(request.user).annotate(
        steps_n=Count("steps", distinct=True),
        active_n=Count("enrollments", filter=Q(enrollments__status=Enrollment.Status.ACTIVE), distinct=True),
    )
    return render(
        request,
        "marketing/nurture/list.html",
        {"plans": plans, "can_manage": permissions.can(request.user, "marketing.manage")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_form(request, pk=None):
    permissions.require(request.user, "marketing.manage")
    plan = (
        get_object_or_404(plans_for(request.user), pk=pk)
        if pk
        else NurturePlan(owner=request.user, department_id=request.user.department_id)
    )
    form = NurturePlanForm(
        request.POST or None, instance=plan, segments=segments_for(request.user), campaigns=campaigns_for(request.user)
    )
    formset = StepFormSet(request.POST or None, instance=plan, prefix="steps")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        kept = [f for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if not kept:
            form.add_error(None, _("Add at least one step."))
        else:
            with transaction.atomic():
                plan = form.save()
                formset.instance = plan
                formset.save()
            messages.success(
                request,
                _("Nurture plan saved.") + ("" if plan.active else " " + _("Start it when the steps are ready.")),
            )
            return redirect(plan)
    return render(request, "marketing/nurture/form.html", {"form": form, "formset": formset, "plan": plan})


@login_required
def plan_detail(request, pk):
    permissions.require(request.user, "marketing.view")
    plan = get_object_or_404(plans_for(request.user), pk=pk)
    counts = {row["status"]: row["n"] for row in plan.enrollments.values("status").annotate(n=Count("pk"))}
    reasons = {
        row["stop_reason"]: row["n"]
        for row in plan.enrollments.filter(status=Enrollment.Status.STOPPED)
        .values("stop_reason")
        .annotate(n=Count("pk"))
    }
    steps = list(plan.steps.select_related("content"))
    sent = {
        row["step_index"]: row
        for row in Message.objects.filter(enrollment__plan=plan)
        .values("step_index")
        .annotate(
            n=Count("pk", filter=Q(status=Message.Status.SENT)), clicked=Count("pk", filter=Q(clicked_at__isnull=False))
        )
    }
    for index, step in enumerate(steps):
        step.sent = sent.get(index, {}).get("n", 0)
        step.clicked = sent.get(index, {}).get("clicked", 0)
    return render(
        request,
        "marketing/nurture/detail.html",
        {
            "plan": plan,
            "steps": steps,
            "counts": counts,
            "reasons": [(Enrollment.StopReason(k).label, v) for k, v in reasons.items() if k],
            "recent": plan.enrollments.select_related("customer").order_by("-enrolled_at")[:20],
            "can_manage": permissions.can(request.user, "marketing.manage"),
        },
    )


@login_required
@require_POST
def plan_action(request, pk, action):
    permissions.require(request.user, "marketing.manage")
    plan = get_object_or_404(plans_for(request.user), pk=pk)
    try:
        if action == "start":
            nurture.start(plan=plan)
            messages.success(
                request,
                _("The plan is running: %(n)s people enrolled.")
                % {"n": plan.enrollments.filter(status=Enrollment.Status.ACTIVE).count()},
            )
        elif action == "stop":
            nurture.stop(plan=plan)
            messages.success(request, _("The plan is stopped; nobody gets further steps."))
        else:
            raise Http404
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(plan)


@login_required
@require_http_methods(["GET", "POST"])
def settings_form(request):
    permissions.require(request.user, "marketing.manage")
    form = SettingsForm(request.POST or None, instance=MarketingSettings.current())
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Settings saved."))
        return redirect("marketing:settings")
    return render(
        request,
        "crm/admin/form.html",
        {"form": form, "title": _("Marketing settings"), "cancel_url": reverse("marketing:campaigns")},
    )


# -- public pages (no login) ----------------------------------------------------------------------


def _message_or_404(token):
    ids = tracking.decode("m", token)
    if not ids:
        raise Http404
    message = (
        Message.objects.select_related("touch__content", "touch__event", "customer", "lead", "enrollment__plan")
        .filter(pk=ids[0])
        .first()
    )
    if message is None:
        raise Http404
    return message


def _content_of(message):
    if message.touch_id and message.touch.content_id:
        return message.touch.content
    if message.enrollment_id and message.step_index is not None:
        steps = list(message.enrollment.plan.steps.select_related("content"))
        if message.step_index < len(steps):
            return steps[message.step_index].content
    return None


def open_message(request, token):
    """A recipient clicks their link: count it, then go to the content or the event page."""
    message = _message_or_404(token)
    now = timezone.now()
    Message.objects.filter(pk=message.pk, clicked_at__isnull=True).update(clicked_at=now)
    Message.objects.filter(pk=message.pk, opened_at__isnull=True).update(opened_at=now)
    content = _content_of(message)
    if content is not None:
        ContentItem.objects.filter(pk=content.pk).update(clicks=F("clicks") + 1)
        return redirect(content.url)
    event = message.touch.event if message.touch_id else None
    return render(
        request,
        "marketing/public/landing.html",
        {
            "message": message,
            "event": event,
            "token": token,
            "registered": event is not None
            and Registration.objects.filter(event=event, customer=message.customer_id)
            .exclude(status=Registration.Status.CANCELLED)
            .exists()
            if message.customer_id
            else False,
        },
    )


def open_pixel(request, token):
    ids = tracking.decode("m", token)
    if ids:
        Message.objects.filter(pk=ids[0], opened_at__isnull=True).update(opened_at=timezone.now())
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def sign_up(request, token):
    """The invitation's landing page: the recipient registers for the event with one press."""
    message = _message_or_404(token)
    event = message.touch.event if message.touch_id else None
    if event is None:
        raise Http404
    person = message.customer or message.lead
    try:
        campaign_rules.register(
            event=event,
            customer=message.customer,
            mobile=person.mobile,
            name=person.name,
            source=Registration.Source.LINK,
        )
        done = _("You are registered for %(event)s. See you there!") % {"event": event.name}
    except ValidationError as exc:
        done = " ".join(exc.messages)
    return render(request, "marketing/public/done.html", {"text": done})


@require_http_methods(["GET", "POST"])
def stop_messages(request, token):
    """Unsubscribe from the channel the message came on (GET asks, POST does it)."""
    message = _message_or_404(token)
    if request.method == "POST":
        if message.customer_id:
            campaign_rules.opt_out(customer=message.customer, channel=message.channel, source="link")
        return render(
            request, "marketing/public/done.html", {"text": _("Done: you will get no more of these messages.")}
        )
    return render(request, "marketing/public/stop.html", {"message": message})


def rep_link(request, code):
    """A rep's tracked link to content: count the click and go to the content."""
    link = TrackingLink.objects.select_related("content").filter(code=code).first()
    if link is None or tracking.decode("r", code, parts=3) is None:
        raise Http404
    TrackingLink.objects.filter(pk=link.pk).update(clicks=F("clicks") + 1, last_clicked_at=timezone.now())
    ContentItem.objects.filter(pk=link.content_id).update(clicks=F("clicks") + 1)
    return redirect(link.content.url)


urlpatterns = [
    path("content/", content_list, name="content_list"),
    path("content/new/", content_form, name="content_create"),
    path("content/<int:pk>/", content_detail, name="content"),
    path("content/<int:pk>/edit/", content_form, name="content_edit"),
    path("content/<int:pk>/share/<int:customer_pk>/", share, name="share"),
    path("customers/<int:customer_pk>/opt/", opt, name="opt"),
    path("plans/", plan_list, name="plans"),
    path("plans/new/", plan_form, name="plan_create"),
    path("plans/<int:pk>/", plan_detail, name="plan"),
    path("plans/<int:pk>/edit/", plan_form, name="plan_edit"),
    path("plans/<int:pk>/<str:action>/", plan_action, name="plan_action"),
    path("settings/", settings_form, name="settings"),
]

public_urlpatterns = [
    path("m/<str:token>", open_message, name="open"),
    path("m/<str:token>/o.gif", open_pixel, name="pixel"),
    path("m/<str:token>/signup", sign_up, name="signup"),
    path("m/<str:token>/stop", stop_messages, name="stop"),
    path("r/<str:code>", rep_link, name="link"),
]
