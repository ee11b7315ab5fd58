"""What the marketing app adds to the apps below it: messages and event registrations in the 360
timeline, the marketing panel (suggested content with the rep's tracked links, opt-outs), saved
segments as conditions on customers (tag rules, coupon audiences), the campaigns of the coupons
dashboard and the home page's marketing panel."""

from django.utils.translation import gettext_lazy as _

from coupons.services import dashboard as coupon_dashboard
from crm import home, permissions
from customers import registry, timeline

from . import home as marketing_home
from . import selectors
from .models import Channel, ContentItem, Message, OptOut, Registration
from .services import segments


def suggested_content(customer, limit=3):
    """Active content suggested for the customer's lifecycle stage or tags, best matches first.
    The library is small (hundreds of items at most), so matching happens in Python."""
    tag_ids = set(customer.tags.values_list("pk", flat=True))
    scored = []
    for item in ContentItem.objects.filter(active=True).prefetch_related("tags").order_by("-created_at")[:300]:
        item.match_tags = [t for t in item.tags.all() if t.pk in tag_ids]
        score = (customer.lifecycle_stage in (item.stages or [])) * 2 + len(item.match_tags)
        if score:
            scored.append((score, item))
    scored.sort(key=lambda pair: pair[0], reverse=True)
    return [item for _score, item in scored[:limit]]


def _panel(customer, user):
    opted = set(OptOut.objects.filter(customer=customer).values_list("channel", flat=True))
    return {
        "content": suggested_content(customer),
        "channels": [(value, label, value in opted or OptOut.ALL in opted) for value, label in Channel.choices],
        "all_out": OptOut.ALL in opted,
        "can_change": permissions.can(user, "customers.change") or permissions.can(user, "marketing.manage"),
    }


def register():
    timeline.register(
        "marketing_message",
        _("Marketing messages"),
        lambda customer: timeline.entries(
            Message.objects.filter(customer=customer, status=Message.Status.SENT), "marketing_message", "sent_at"
        ),
        lambda ids: Message.objects.filter(pk__in=ids).select_related("campaign", "touch"),
        "marketing/timeline/message.html",
        icon="bi-send",
    )
    timeline.register(
        "registration",
        _("Event registrations"),
        lambda customer: timeline.entries(
            Registration.objects.filter(customer=customer), "registration", "registered_at"
        ),
        lambda ids: Registration.objects.filter(pk__in=ids).select_related("event", "campaign"),
        "marketing/timeline/registration.html",
        icon="bi-calendar-event",
    )
    if "marketing" in timeline.PANEL_SLOTS:
        timeline.register_panel("marketing", "marketing/panels/marketing.html", _panel)
    registry.register_segment_definitions(condition=segments.stored_definition_q, problem=segments.stored_problem)
    coupon_dashboard.register_campaign_rows(selectors.campaign_roi_rows)
    home.register("marketing", order=30, manager=marketing_home.manager_panel)
