import threading
import time

from django.core.signals import setting_changed
from django.db.models import Count, F, Subquery
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from . import permissions
from .models import ApprovalAssignee, Notification, User


def _url(name):
    """A sidebar entry whose page is not installed is left out."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def _nav(user):
    """The sidebar: sections by app, each entry shown only to roles that may use it."""
    sections = [
        (
            _("Workspace"),
            [
                ("home", _("Home"), "bi-house", None),
                ("notifications", _("Notifications"), "bi-bell", None),
                ("approvals:inbox", _("Approvals waiting for me"), "bi-patch-check", None),
                ("field:clock", _("Clock in"), "bi-fingerprint", "field.use"),
            ],
        ),
        (
            _("Dashboards"),
            [
                ("sales:dashboard", _("Sales dashboard"), "bi-speedometer2", "sales.view"),
                ("sales:dashboard_performance", _("Performance dashboard"), "bi-bullseye", "sales.view"),
                ("customers:dashboard", _("Customer overview"), "bi-pie-chart", "customers.view"),
                ("coupons:dashboard", _("Coupons and campaigns"), "bi-graph-up", "coupons.view"),
            ],
        ),
        (
            _("Sales"),
            [
                ("sales:leads", _("Leads"), "bi-funnel", "sales.view"),
                ("sales:pool", _("Public pool"), "bi-water", "sales.view"),
                ("sales:opportunities", _("Opportunities"), "bi-briefcase", "sales.view"),
                ("sales:board", _("Pipeline board"), "bi-kanban", "sales.view"),
                ("sales:followups", _("Follow-ups"), "bi-chat-dots", "sales.view"),
                ("sales:reminders", _("Reminders"), "bi-alarm", "sales.view"),
                ("sales:tasks", _("Tasks"), "bi-check2-square", "sales.view"),
                ("sales:tickets", _("Service tickets"), "bi-life-preserver", "sales.view"),
                ("field:team_visits", _("Team visits"), "bi-geo-alt", "field.team"),
                ("field:attendance", _("Attendance"), "bi-table", "field.team"),
                ("sales:leaderboard", _("Performance"), "bi-trophy", "sales.view"),
                ("sales:reports", _("Reports"), "bi-journal-text", "sales.view"),
            ],
        ),
        (
            _("Customers"),
            [
                ("customers:list", _("Customers"), "bi-people", "customers.view"),
                ("customers:orders", _("Orders"), "bi-receipt", "customers.view"),
                ("customers:segments", _("Segmentation"), "bi-grid-3x3", "customers.view"),
                ("customers:import", _("Import"), "bi-upload", "customers.import"),
                ("cdp:merge_suggestions", _("Merge suggestions"), "bi-people", "cdp.merge"),
                ("agenda:calendar", _("Calendar"), "bi-calendar3", "calendar.view"),
            ],
        ),
        (
            _("Coupons"),
            [
                ("coupons:campaigns", _("Campaigns and batches"), "bi-ticket-perforated", "coupons.view"),
                ("coupons:budgets", _("Budgets"), "bi-piggy-bank", "coupons.view"),
                ("coupons:compensations", _("Compensation"), "bi-bandaid", "coupons.view"),
                ("coupons:monitoring", _("Monitoring"), "bi-activity", "coupons.view"),
                ("coupons:subsidy_plans", _("Subsidy plans"), "bi-calculator", "coupons.view"),
            ],
        ),
        (
            _("Products"),
            [
                ("catalog:products", _("Products"), "bi-box-seam", "catalog.view"),
                ("catalog:policies", _("Sales policies"), "bi-tags-fill", "catalog.view"),
                ("catalog:price_check", _("Price check"), "bi-calculator-fill", "catalog.view"),
                ("catalog:entitlements", _("Customer entitlements"), "bi-award", "catalog.view"),
                ("catalog:policy_effect", _("Policy effect"), "bi-graph-up", "catalog.analysis"),
                ("catalog:analysis", _("Business analysis"), "bi-bar-chart-line", "catalog.analysis"),
                ("catalog:categories", _("Categories"), "bi-diagram-2-fill", "catalog.view"),
            ],
        ),
        (
            _("Partners"),
            [
                ("partners:list", _("Partners"), "bi-building", "partners.view"),
                ("partners:board", _("Partner pipeline"), "bi-kanban", "partners.view"),
                ("partners:registrations", _("Lead registrations"), "bi-person-check", "partners.view"),
                ("partners:statements", _("Settlement statements"), "bi-receipt-cutoff", "partners.view"),
                ("partners:rules", _("Commission rules"), "bi-percent", "partners.configure"),
                ("partners:rebates", _("Rebate plans"), "bi-graph-up-arrow", "partners.configure"),
                ("partners:distribution", _("Lead distribution to partners"), "bi-shuffle", "partners.distribute"),
            ],
        ),
        (
            _("Courses and members"),
            [
                ("resources:overview", _("Courses and classes"), "bi-mortarboard", "resources.view"),
                ("resources:dashboard", _("Classes and renewals"), "bi-bar-chart-line", "resources.view"),
                ("resources:renewals", _("Renewal forecast"), "bi-hourglass-split", "resources.view"),
                ("members:list", pgettext_lazy("loyalty", "Members"), "bi-gem", "members.view"),
            ],
        ),
        (
            _("Contracts"),
            [
                ("contracts:contracts", _("Contracts"), "bi-file-earmark-text", "contracts.view"),
                ("contracts:collections", _("Collections"), "bi-cash-coin", "contracts.view"),
                ("contracts:competitors", _("Competitors"), "bi-flag", "contracts.competitors"),
            ],
        ),
        (
            _("Marketing"),
            [
                ("marketing:campaigns", _("Campaigns"), "bi-megaphone", "marketing.view"),
                ("marketing:segments", _("Audience segments"), "bi-funnel-fill", "marketing.view"),
                ("marketing:content_list", _("Content library"), "bi-collection-play", "marketing.view"),
                ("marketing:plans", _("Nurture plans"), "bi-flower1", "marketing.view"),
            ],
        ),
        (
            _("Settings"),
            [
                ("customers:tags", _("Tags"), "bi-tags", "customers.configure"),
                ("customers:attributes", _("Custom attributes"), "bi-ui-checks", "customers.configure"),
                ("customers:sources", _("Lead sources"), "bi-signpost", "customers.configure"),
                ("customers:unmatched_regions", _("Unmatched regions"), "bi-geo-alt", "customers.configure"),
                ("customers:segment_settings", _("Segmentation rules"), "bi-sliders", "org.manage"),
                ("sales:rules", _("Sales rules"), "bi-gear", "sales.configure"),
                ("sales:stages", _("Opportunity stages"), "bi-signpost-split", "sales.configure"),
                ("marketing:settings", _("Marketing settings"), "bi-sliders2", "marketing.manage"),
                ("approvals:chains", _("Approval chains"), "bi-diagram-2", "org.manage"),
                ("field:settings", _("Work sites and hours"), "bi-building-gear", "field.configure"),
                ("contracts:dunning_levels", _("Dunning levels"), "bi-bell", "contracts.configure"),
                ("members:tiers", _("Member tiers"), "bi-award", "members.configure"),
                ("members:earn_rules", _("Earning rules"), "bi-plus-circle", "members.configure"),
                ("members:offers", _("Points offers"), "bi-gift", "members.configure"),
            ],
        ),
        (
            _("Administration"),
            [
                ("org:departments", _("Departments"), "bi-diagram-3", "org.view"),
                ("org:users", _("Users"), "bi-person-badge", "org.view"),
                ("org:api_clients", _("API clients"), "bi-plug", "api.manage"),
                ("org:audit", _("Audit log"), "bi-clock-history", "audit.view"),
                ("org:privacy", _("Personal data"), "bi-shield-lock", "privacy.manage"),
            ],
        ),
    ]
    result = []
    for title, items in sections:
        visible_items = [
            {"url": url, "label": label, "icon": icon, "name": name}
            for name, label, icon, action, url in ((*item, _url(item[0])) for item in items)
            if url is not None
            if action is None or permissions.can(user, action)
        ]
        if visible_items:
            result.append({"title": title, "items": visible_items})
    return result


def _most_specific(items, path):
    """The item whose URL is the longest prefix of ``path`` ("/customers/orders/" is not also
    "/customers/"); "/" only matches itself."""
    return max(
        (item for item in items if path == item["url"] or (item["url"] != "/" and path.startswith(item["url"]))),
        key=lambda item: len(item["url"]),
        default=None,
    )


#: pages opened from 我的, so the tab stays lit on them
MINE_PREFIXES = ("/field/", "/approvals/", "/notifications/", "/preferences/", "/password/", "/search/")


def _tabs(user):
    """The phone's bottom tab bar: 工作台, 客户, 线索, 商机, 我的 (each only to roles that may use it)."""
    items = [
        ("home", _("Workbench"), "bi-grid-1x2", None),
        ("customers:list", _("Customers"), "bi-people", "customers.view"),
        ("sales:leads", _("Leads"), "bi-funnel", "sales.view"),
        ("sales:opportunities", _("Opportunities"), "bi-briefcase", "sales.view"),
        ("field:me", _("Mine"), "bi-person-circle", None),
    ]
    return [
        {"url": url, "label": label, "icon": icon, "name": name}
        for name, label, icon, action, url in ((*item, _url(item[0])) for item in items)
        if url is not None and (action is None or permissions.can(user, action))
    ]


# --- the sidebar and the tab bar, rendered once per role and language ---------------------------------
#
# What the menus show depends only on what the role may do (``permissions.can`` reads the role, the
# superuser flag and the active flag — the roles' actions are fixed in code), on the installed URLs and
# on the language: their HTML is rendered once per such key and process and kept for NAV_TTL seconds.
# A change of a user's role is a change of key, so it shows on the next page. What differs per request
# is set on the cached HTML by substituting the exact opening tag rendered for that entry: the active
# entry (class "active" and aria-current) and the approvals badge.

NAV_TTL = 300
_menus = {}
_menus_lock = threading.Lock()
_BADGE = ' <span class="badge rounded-pill text-bg-warning" data-testid="nav-approvals-count">{}</span>'


def _menu_key(user):
    return (
        bool(user.is_superuser),
        bool(user.is_active),
        getattr(user, "role", None),
        get_language(),
        get_script_prefix(),
        get_urlconf(),
    )


def _build_menus(user):
    sections = _nav(user)
    tabs = _tabs(user)
    html = render_to_string("includes/shell_menus.html", {"nav_sections": sections, "tab_items": tabs})
    sidebar, _sep, tabbar = html.partition("<!--tabbar-->")
    nav_items = [
        {
            "url": item["url"],
            "open": f'<a class="nav-link" href="{escape(item["url"])}" data-nav="{escape(item["name"])}">',
        }
        for section in sections
        for item in section["items"]
    ]
    tab_items = [
        {
            "url": tab["url"],
            "name": tab["name"],
            "open": f'<a class="tab" href="{escape(tab["url"])}" data-tab="{escape(tab["name"])}">',
        }
        for tab in tabs
    ]
    return {
        "expires": time.monotonic() + NAV_TTL,
        "sidebar": sidebar.strip(),
        "tabbar": tabbar.strip(),
        "nav_items": nav_items,
        "tab_items": tab_items,
    }


def _menus_for(user):
    key = _menu_key(user)
    menus = _menus.get(key)
    if menus is None or menus["expires"] < time.monotonic():
        menus = _build_menus(user)
        with _menus_lock:
            _menus[key] = menus
    return menus


def forget_menus(**_kwargs):
    """Render the menus again on their next use (a changed setting: the URLs, the languages)."""
    with _menus_lock:
        _menus.clear()


setting_changed.connect(forget_menus, dispatch_uid="shell-menus-forget")


def _mark(html, opening, marked):
    return html.replace(opening, marked, 1)


def _sidebar_html(menus, path, waiting):
    html = menus["sidebar"]
    active = _most_specific(menus["nav_items"], path)
    if active is not None:
        html = _mark(
            html,
            active["open"],
            active["open"].replace('class="nav-link"', 'class="nav-link active" aria-current="page"', 1),
        )
    start = html.find(' data-nav="approvals:inbox">')
    if waiting and start != -1:
        end = html.find("</a>", start)
        html = html[:end] + _BADGE.format(int(waiting)) + html[end:]
    return mark_safe(html)  # the rendered template, plus a number and fixed markup


def _tabbar_html(menus, path):
    html = menus["tabbar"]
    tabs = menus["tab_items"]
    best = _most_specific(tabs, path)
    if best is None and path.startswith(MINE_PREFIXES):  # the pages reached from 我的
        best = next((tab for tab in tabs if tab["name"] == "field:me"), None)
    if best is not None:
        html = _mark(
            html, best["open"], best["open"].replace('class="tab"', 'class="tab active" aria-current="page"', 1)
        )
    return mark_safe(html)


def shell(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or permissions.is_partner_user(user):
        return {}  # (partner users see the portal's own layout)
    cached = getattr(request, "_shell_context", None)
    if cached is None:  # computed once per request, even when a template renders a nested context
        counts = (
            User.objects.filter(pk=user.pk)
            .values(  # both badges in one query
                unread=Subquery(
                    Notification.objects.filter(recipient=user, read_at__isnull=True)
                    .order_by()
                    .values("recipient")
                    .annotate(n=Count("pk"))
                    .values("n")[:1]
                ),
                waiting=Subquery(
                    ApprovalAssignee.objects.filter(approver=user, is_open=True)
                    .order_by()
                    .values("approver")
                    .annotate(n=Count("pk"))
                    .values("n")[:1]
                ),
                department_name=F("department__name"),  # the account menu's line, in the same query
            )
            .first()
            or {}
        )
        menus = _menus_for(user)
        waiting = counts.get("waiting") or 0
        cached = request._shell_context = {
            "nav_html": _sidebar_html(menus, request.path, waiting),
            "tabbar_html": _tabbar_html(menus, request.path),
            "unread_count": counts.get("unread") or 0,
            "approvals_waiting": waiting,
            "account_department": counts.get("department_name") or "",
        }
    return cached
