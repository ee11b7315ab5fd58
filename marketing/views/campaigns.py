"""Campaign pages: the comparison list, the campaign with its funnel, events and touches, approval,
registrations and check-in, sending with a preview of who is held back."""

import csv
import io
import itertools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from coupons.models import Batch, BudgetAccount
from crm import permissions
from crm.approvals import selectors as approval_selectors
from crm.labels import labelled
from crm.ui import ScopedListView, add_domain_error
from crm.uploads import UploadRefused, read_upload
from customers.selectors import may_see_mobile

from ..filters import CampaignFilter
from ..forms import CampaignForm, EventForm, RegistrationForm, RegistrationImportForm, RejectForm, TouchForm
from ..models import Campaign, CampaignStats, Event, Registration, Touch
from ..selectors import campaigns_for, events_for, segments_for, touches_for
from ..services import campaigns as campaign_rules
from ..services import sending, stats
from ..tables import CampaignTable


class CampaignListView(ScopedListView):
    """The campaigns, each with its figures: the comparison table across campaigns."""

    model = Campaign
    table_class = CampaignTable
    filterset_class = CampaignFilter
    view_action = "marketing.view"
    export_action = "marketing.view"
    create_url = reverse_lazy("marketing:campaign_create")
    create_action = "marketing.manage"
    title = gettext_lazy("Marketing campaigns")
    export_name = "campaigns"
    empty_text = gettext_lazy("No campaigns yet. Create one for a segment: an open day, a live stream, a push.")

    def base_queryset(self):
        return Campaign.objects.select_related("owner", "stats")


def _form_querysets(user):
    return {
        "segments": segments_for(user),
        "accounts": permissions.visible(user, BudgetAccount.objects.select_related("period", "department")),
        "batches": permissions.visible(user, Batch.objects.select_related("campaign"))
        .exclude(status__in=["rejected", "ended"])
        .order_by("-created_at"),
    }


@login_required
@require_http_methods(["GET", "POST"])
def campaign_form(request, pk=None):
    permissions.require(request.user, "marketing.manage")
    campaign = get_object_or_404(campaigns_for(request.user), pk=pk) if pk else Campaign()
    initial = {}
    if not pk and request.GET.get("segment"):
        initial["segment"] = request.GET["segment"]
    form = CampaignForm(request.POST or None, instance=campaign, initial=initial, **_form_querysets(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                campaign = campaign_rules.save_campaign(
                    actor=request.user, campaign=form.save(commit=False), batches=list(form.cleaned_data["batches"])
                )
        except ValidationError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Campaign saved. Add events and touches, then submit it for approval."))
            return redirect(campaign)
    return render(
        request,
        "crm/admin/form.html",
        {
            "form": form,
            "title": campaign.name if pk else _("New campaign"),
            "cancel_url": campaign.get_absolute_url() if pk else reverse("marketing:campaigns"),
        },
    )


def funnel_chart(figures):
    steps = [
        (_("Reached"), figures.get("reached", 0)),
        (_("Opened"), figures.get("opened", 0)),
        (_("Clicked"), figures.get("clicked", 0)),
        (_("Registered"), figures.get("registered", 0)),
        (_("Attended"), figures.get("attended", 0)),
        (_("Leads"), figures.get("leads", 0)),
        (_("Deals"), figures.get("deals", 0)),
    ]
    top = max([v for _label, v in steps] + [1])
    return {
        "tooltip": {"trigger": "item", "formatter": labelled("{b}", "{c}")},
        "series": [
            {
                "type": "funnel",
                "sort": "none",
                "min": 0,
                "max": top,
                "gap": 2,
                "left": "10%",
                "width": "80%",
                "label": {"show": True, "position": "inside", "formatter": "{b} {c}"},
                "data": [{"name": str(label), "value": value} for label, value in steps],
            }
        ],
    }


@login_required
def campaign_detail(request, pk):
    """The campaign; also open to the approver it was routed to (a director outside its scope)."""
    permissions.require(request.user, "marketing.view")
    campaign = get_object_or_404(
        permissions.visible_or_reviewing(
            request.user,
            Campaign.objects.select_related("owner", "department", "segment", "budget_account", "approved_by"),
        ),
        pk=pk,
    )
    pending = campaign_rules.pending_request(campaign) if campaign.status == Campaign.Status.SUBMITTED else None
    record = CampaignStats.objects.filter(campaign=campaign).first()
    figures = record.figures if record else {}
    events = list(campaign.events.all())
    by_event = figures.get("by_event", {})
    for event in events:
        event.figures = by_event.get(str(event.pk), {})
    can_manage = permissions.can(request.user, "marketing.manage")
    return render(
        request,
        "marketing/campaigns/detail.html",
        {
            "campaign": campaign,
            "figures": figures,
            "refreshed_at": record.refreshed_at if record else None,
            "funnel": funnel_chart(figures) if figures else None,
            "events": events,
            "touches": campaign.touches.select_related("event", "content"),
            "batches": campaign.batches.select_related("campaign"),
            "plans": campaign.nurture_plans.all(),
            "by_channel": figures.get("by_channel", {}),
            "channel_labels": dict(Touch._meta.get_field("channel").choices),
            "can_manage": can_manage,
            "reject_form": RejectForm(),
            "can_approve": pending is not None and approval_selectors.may_decide(request.user, pending),
            "next_approvers": [str(u) for u in approval_selectors.next_approvers(pending)] if pending else [],
            "attribution_days": stats.MarketingSettings.current().attribution_days,
        },
    )


@login_required
@require_POST
def campaign_action(request, pk, action):
    queryset = Campaign.objects.all()
    campaign = get_object_or_404(
        permissions.visible_or_reviewing(request.user, queryset)
        if action in ("approve", "reject")
        else campaigns_for(request.user),
        pk=pk,
    )
    if action not in ("approve", "reject", "refresh") and action not in campaign_rules.TRANSITIONS:
        raise PermissionDenied
    try:
        if action == "refresh":
            permissions.require(request.user, "marketing.view")
            stats.attribute()
            stats.refresh(campaign.pk)
            messages.success(request, _("Figures refreshed."))
        else:
            if action not in ("approve", "reject"):
                permissions.require(request.user, "marketing.manage")
            campaign = campaign_rules.change_status(
                actor=request.user, campaign=campaign, action=action, reason=request.POST.get("reason", "")
            )
            messages.success(
                request, _("The campaign is now %(status)s.") % {"status": campaign.get_status_display().lower()}
            )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(campaign)


# -- events and registrations ---------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def event_form(request, campaign_pk=None, pk=None):
    permissions.require(request.user, "marketing.manage")
    if pk:
        event = get_object_or_404(events_for(request.user), pk=pk)
        campaign = event.campaign
    else:
        campaign = get_object_or_404(campaigns_for(request.user), pk=campaign_pk)
        event = Event(campaign=campaign)
    form = EventForm(request.POST or None, instance=event)
    if request.method == "POST" and form.is_valid():
        try:
            event = campaign_rules.save_event(event=form.save(commit=False))
        except ValidationError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Event saved."))
            return redirect(event)
    return render(
        request,
        "crm/admin/form.html",
        {
            "form": form,
            "title": event.name if pk else _("New event for %(c)s") % {"c": campaign.name},
            "cancel_url": campaign.get_absolute_url(),
        },
    )


@login_required
def event_detail(request, pk):
    permissions.require(request.user, "marketing.view")
    event = get_object_or_404(events_for(request.user), pk=pk)
    status = request.GET.get("status", "")
    registrations = event.registrations.select_related("customer", "lead").order_by("-registered_at")
    if status in Registration.Status.values:
        registrations = registrations.filter(status=status)
    page = Paginator(registrations, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "marketing/campaigns/event.html",
        {
            "event": event,
            "campaign": event.campaign,
            "registrations": page.object_list,
            "page": page,
            "status": status,
            "statuses": Registration.Status.choices,
            "form": RegistrationForm(),
            "import_form": RegistrationImportForm(),
            "touches": event.touches.all(),
            "show_mobile": may_see_mobile(request.user),
            "can_manage": permissions.can(request.user, "marketing.manage"),
        },
    )


@login_required
@require_POST
def registration_add(request, pk):
    permissions.require(request.user, "marketing.manage")
    event = get_object_or_404(events_for(request.user), pk=pk)
    form = RegistrationForm(request.POST)
    if form.is_valid():
        try:
            registration = campaign_rules.register(
                event=event,
                mobile=form.cleaned_data["mobile"],
                name=form.cleaned_data["name"],
                attended=form.cleaned_data["attended"],
                actor=request.user,
            )
        except ValidationError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s is %(status)s.")
                % {"name": registration.name, "status": registration.get_status_display().lower()},
            )
            return redirect(event)
    return render(
        request,
        "marketing/campaigns/event.html",
        {
            "event": event,
            "campaign": event.campaign,
            "registrations": event.registrations.all()[:50],
            "statuses": Registration.Status.choices,
            "form": form,
            "import_form": RegistrationImportForm(),
            "touches": event.touches.all(),
            "show_mobile": may_see_mobile(request.user),
            "can_manage": True,
        },
        status=422,
    )


@login_required
@require_POST
def registration_action(request, pk, action):
    permissions.require(request.user, "marketing.manage")
    registration = get_object_or_404(Registration.objects.filter(event__in=events_for(request.user)), pk=pk)
    try:
        if action == "check_in":
            campaign_rules.check_in(registration=registration)
            messages.success(request, _("%(name)s checked in.") % {"name": registration.name})
        elif action == "cancel":
            campaign_rules.cancel_registration(registration=registration)
            messages.success(request, _("Registration of %(name)s cancelled.") % {"name": registration.name})
        else:
            raise PermissionDenied
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(registration.event)


def _truthy(value):
    return str(value or "").strip().lower() in ("1", "y", "yes", "true", "是", "已到", "到", "签到")


#: every row registers someone (and may capture a lead) inside the request and its one transaction
#: (about 10 ms a row): a large event's list fits, a bigger file is refused before anything is written
MAX_REGISTRATION_ROWS = 2_000
MAX_REGISTRATION_BYTES = 5 * 1024 * 1024


def read_registration_rows(data):
    """Rows of a registration CSV (UTF-8 with or without BOM, or GBK) as dicts. Raises
    ``ValidationError`` for a file that cannot be read, has no rows or too many."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationError(_("The file is neither UTF-8 nor GBK text."))
    reader = csv.DictReader(io.StringIO(text))
    try:
        headers = {h.strip().lower(): h for h in reader.fieldnames or []}
        # streamed and stopped one row past the cap (crm.uploads): a huge file is never read whole
        rows = list(itertools.islice(reader, MAX_REGISTRATION_ROWS + 1))
    except csv.Error as exc:  # e.g. a cell longer than the csv module accepts
        raise ValidationError(_("The CSV file cannot be read: %(error)s") % {"error": exc}) from exc
    aliases = {
        "mobile": ("mobile", "手机", "手机号"),
        "name": ("name", "姓名"),
        "attended": ("attended", "签到", "到场"),
    }
    columns = {}
    for key, names in aliases.items():
        for name in names:
            if name in headers:
                columns[key] = headers[name]
                break
    if "mobile" not in columns:
        raise ValidationError(_("The file needs a mobile column."))
    if not rows:
        raise ValidationError(_("The file has a header but no data rows."))
    if len(rows) > MAX_REGISTRATION_ROWS:
        raise ValidationError(
            _("The file has more than %(max)s rows; split it into smaller files.")
            % {"max": f"{MAX_REGISTRATION_ROWS:,}"}
        )
    return [{key: (row.get(column) or "").strip() for key, column in columns.items()} for row in rows]


@login_required
@require_POST
def registration_import(request, pk):
    """All or nothing: every row is registered, or none and the errors are listed by row."""
    permissions.require(request.user, "marketing.manage")
    event = get_object_or_404(events_for(request.user), pk=pk)
    form = RegistrationImportForm(request.POST, request.FILES)
    errors = []
    if form.is_valid():
        try:
            rows = read_registration_rows(read_upload(form.cleaned_data["file"], max_bytes=MAX_REGISTRATION_BYTES))
        except UploadRefused as exc:
            errors.append(str(exc))
            rows = []
        except ValidationError as exc:
            errors.append(" ".join(exc.messages))
            rows = []
        try:
            with transaction.atomic():
                for number, row in enumerate(rows, start=2):
                    try:
                        with transaction.atomic():
                            campaign_rules.register(
                                event=event,
                                mobile=row.get("mobile", ""),
                                name=row.get("name", ""),
                                attended=_truthy(row.get("attended")),
                                source=Registration.Source.IMPORT,
                                actor=request.user,
                            )
                    except ValidationError as exc:
                        detail = (
                            "; ".join(labelled(field, " ".join(msgs)) for field, msgs in exc.message_dict.items())
                            if hasattr(exc, "error_dict")
                            else " ".join(exc.messages)
                        )
                        errors.append(_("Row %(n)s: %(detail)s") % {"n": number, "detail": detail})
                if errors:
                    raise ValidationError("rollback")
        except ValidationError:
            pass
        if not errors:
            messages.success(request, _("%(n)s rows imported.") % {"n": len(rows)})
            return redirect(event)
    else:
        errors.append(" ".join(e for errs in form.errors.values() for e in errs))
    messages.error(request, _("Nothing was imported. Fix these rows and upload the file again:"))
    for error in errors[:50]:
        messages.error(request, error)
    return redirect(event)


# -- touches ------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def touch_form(request, campaign_pk=None, pk=None):
    permissions.require(request.user, "marketing.manage")
    if pk:
        touch = get_object_or_404(touches_for(request.user), pk=pk)
        campaign = touch.campaign
        if touch.status not in (Touch.Status.DRAFT, Touch.Status.SCHEDULED):
            messages.error(request, _("A touch that went out cannot be changed."))
            return redirect(campaign)
    else:
        campaign = get_object_or_404(campaigns_for(request.user), pk=campaign_pk)
        touch = Touch(campaign=campaign, created_by=request.user, channel=(campaign.channels or ["sms"])[0])
        if request.GET.get("event", "").isdigit():  # opened from an event's page
            touch.event = campaign.events.filter(pk=request.GET["event"]).first()
    form = TouchForm(request.POST or None, instance=touch, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        touch = form.save(commit=False)
        touch.status = Touch.Status.SCHEDULED if touch.scheduled_at else Touch.Status.DRAFT
        touch.save()
        messages.success(
            request,
            _("Touch saved.")
            + " "
            + (
                _("It goes out at the scheduled time once the campaign is approved.")
                if touch.scheduled_at
                else _("Press Send when you are ready.")
            ),
        )
        return redirect(campaign)
    return render(
        request,
        "crm/admin/form.html",
        {"form": form, "title": _("Touch for %(c)s") % {"c": campaign.name}, "cancel_url": campaign.get_absolute_url()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def touch_send(request, pk):
    """GET: exactly who would get it and who is held back, and why. POST: send to exactly the
    people previewed (or explain what changed since and show the new preview)."""
    permissions.require(request.user, "marketing.manage")
    touch = get_object_or_404(touches_for(request.user), pk=pk)
    changed = None
    if request.method == "POST":
        try:
            touch = sending.start_send(actor=request.user, touch=touch, preview_token=request.POST.get("preview", ""))
        except sending.PreviewChanged as exc:
            changed = exc
            messages.error(request, " ".join(exc.messages))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(touch.campaign)
        else:
            messages.success(
                request, _("Sending to %(n)s people; the figures update as it goes.") % {"n": touch.recipients}
            )
            return redirect(touch.campaign)
    try:
        preview = sending.preview(touch)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(touch.campaign)
    held = [(sending.HOLD_REASONS[k], v) for k, v in preview["held_counts"].items()]
    return render(
        request,
        "marketing/campaigns/send.html",
        {
            "touch": touch,
            "campaign": touch.campaign,
            "preview": preview,
            "held": held,
            "changed": changed,
            "show_mobile": may_see_mobile(request.user),
            "can_send": touch.campaign.can_send and touch.status in (Touch.Status.DRAFT, Touch.Status.SCHEDULED),
        },
        status=409 if changed else 200,
    )


urlpatterns = [
    path("", CampaignListView.as_view(), name="campaigns"),
    path("campaigns/new/", campaign_form, name="campaign_create"),
    path("campaigns/<int:pk>/", campaign_detail, name="campaign"),
    path("campaigns/<int:pk>/edit/", campaign_form, name="campaign_edit"),
    path("campaigns/<int:pk>/<str:action>/", campaign_action, name="campaign_action"),
    path("campaigns/<int:campaign_pk>/events/new/", event_form, name="event_create"),
    path("events/<int:pk>/", event_detail, name="event"),
    path("events/<int:pk>/edit/", event_form, name="event_edit"),
    path("events/<int:pk>/register/", registration_add, name="registration_add"),
    path("events/<int:pk>/import/", registration_import, name="registration_import"),
    path("registrations/<int:pk>/<str:action>/", registration_action, name="registration_action"),
    path("campaigns/<int:campaign_pk>/touches/new/", touch_form, name="touch_create"),
    path("touches/<int:pk>/edit/", touch_form, name="touch_edit"),
    path("touches/<int:pk>/send/", touch_send, name="touch_send"),
]
