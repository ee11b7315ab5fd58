"""The permission layer: what a user may see (data scope) and do (role).

Every list, detail, edit, bulk action, export and API query asks this module:

- ``visible(user, queryset)`` narrows any queryset of a scoped model to the user's data scope;
- ``can(user, action)`` says whether the user's role allows an action at all;
- ``get_visible_or_404(user, queryset, **lookup)`` fetches one record inside the scope, so a URL
  guessed for a record outside it answers 404, never the record.

A model is scoped by declaring ``scope_owner_field`` and ``scope_department_field`` (either may be
``None``). A record belongs to a user's scope when the user owns it, or — for wider scopes — when
its department is the user's department (or one below it).

Partner users (``Role.PARTNER``, 代理商账号) belong to one partner company and see only what a model
declares as that partner's through ``scope_partner_field`` (e.g. ``"partner"``); a model without it
shows them nothing. Which partner a user belongs to is answered by the resolver the partners app
registers (``register_partner_resolver``), since this layer imports no app. They may open only the
portal's paths (``PartnerConfinementMiddleware``); every other page answers 403.
"""

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect

from . import department_tree
from .approvals.selectors import reviewing_q
from .models import DataScope, Department, Role, User

R, M, D, MK, A, P = Role.REP, Role.MANAGER, Role.DIRECTOR, Role.MARKETING, Role.ADMIN, Role.PARTNER
SALES = {R, M, D, A}
EVERYONE = {R, M, D, MK, A}

#: action -> roles allowed. Object-level access is always narrowed further by data scope.
ACTIONS = {
    # customers
    "customers.view": EVERYONE,
    "customers.add": SALES | {MK},
    "customers.change": SALES,
    "customers.delete": {M, D, A},
    "customers.export": EVERYONE,
    "customers.bulk": {M, D, A, MK},
    "customers.assign": {M, D, A},
    "customers.merge": {A},
    "customers.view_mobile": SALES,
    "customers.import": SALES | {MK},
    "customers.configure": {A, MK},  # tag groups, tag rules, custom attributes
    # sales
    "sales.view": SALES,
    "sales.change": SALES,
    "sales.assign": {M, D, A},
    "sales.configure": {D, A},
    # coupons
    "coupons.view": {M, D, MK, A},
    "coupons.manage": {MK, A},  # budgets, campaigns, batches
    "coupons.approve": {M, D, A},
    "coupons.compensate": SALES | {MK},
    # marketing
    "marketing.view": {M, D, MK, A},
    "marketing.manage": {MK, A},  # segments, campaigns, content, nurture plans
    "marketing.approve": {M, D, A},
    # products and sales policies (catalog): everyone sees prices; admins and marketing (运营)
    # edit the catalogue and the policies; a launch is approved through the approval engine;
    # reps and their managers use a customer's entitlements (inside their data scope)
    "catalog.view": EVERYONE,
    "catalog.manage": {MK, A},
    "catalog.export": {M, D, MK, A},
    "catalog.consume": SALES,
    # 政策及效果统计 and 经营分析: the orders of the customers in one's data scope
    "catalog.analysis": EVERYONE,
    # contracts and collections (合同、回款): reps sign and collect on their own contracts;
    # managers and above see their teams' collections; competitors are everyone's in sales
    "contracts.view": SALES,
    "contracts.change": SALES,
    "contracts.export": {M, D, A},
    "contracts.competitors": SALES | {MK},
    "contracts.configure": {A},  # the company's default dunning levels (催款级别)
    # field work (打卡, 外勤签到)
    "field.use": SALES,  # clock in and out, check in at customers
    "field.team": {M, D, A},  # the team's attendance and visits
    "field.configure": {A},  # work sites and hours per department
    # partners and agents (代理商及合作伙伴): channel managers are sales people; a partner is
    # scoped like a customer (its channel manager and department)
    "partners.view": SALES,
    "partners.change": SALES,  # add and edit partners, contacts, follow-ups, move through the pipeline
    "partners.grade": {M, D, A},  # set a partner's grade by hand
    "partners.export": {M, D, A},
    "partners.attribute": {M, D, A},  # attribute an order to a partner by hand (with the reason)
    "partners.configure": {D, A},  # commission rules
    "partners.distribute": {A},  # the rule that hands new leads to partners by grade
    "partners.settle": {M, D, A},  # generate, adjust and submit statements, record payments
    "partners.portal": {P},  # the partner portal: own registrations, orders, statements and grade
    # courses, classes and teachers (resources): everyone reads the timetable; sales people enrol
    # students, record attendance and book trials (their customers only); directors and admins
    # keep courses, teachers, rooms and classes
    "resources.view": EVERYONE,
    "resources.enrol": SALES,
    "resources.manage": {D, A},
    # customer data (CDP): managers and above review customers that share an identity
    "cdp.merge": {M, D, A},
    # the calendar: everyone in sales sees their own; managers see their team's
    "calendar.view": EVERYONE,
    "calendar.team": {M, D, A},
    "members.view": EVERYONE,
    "members.points": SALES,
    "members.configure": {A},  # member tiers, earning rules and points offers (会员配置)
    # organization and system
    "org.manage": {A},
    "org.view": {M, D, A},
    "audit.view": {A},
    "privacy.manage": {A},  # the personal-data access log, a customer's data export and anonymization
    "api.manage": {A},
}


#: the paths a partner user may open (the portal, signing in and out, the language switch, the API —
#: which takes tokens only); anything else answers 403, and the home page leads to the portal
PORTAL_PATH_PREFIXES = ("/portal/", "/login/", "/logout/", "/password/", "/i18n/", "/jsi18n/", "/static/", "/api/")
PORTAL_HOME = "/portal/"

_partner_resolver = None


def register_partner_resolver(resolver) -> None:
    """The partners app tells this layer which partner a user belongs to: ``resolver(user)`` returns
    the partner's id or None."""
    global _partner_resolver
    _partner_resolver = resolver


def is_partner_user(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and getattr(user, "role", None) == P and not user.is_superuser


def partner_id_of(user):
    """The id of the partner a partner user belongs to (None for anyone else), cached on the user."""
    if not is_partner_user(user):
        return None
    if not hasattr(user, "_partner_id"):
        user._partner_id = _partner_resolver(user) if _partner_resolver is not None else None
    return user._partner_id


class PartnerConfinementMiddleware:
    """Partner users stay inside the portal: the home page leads there, every other internal page
    answers 403 (so a link or a guessed URL shows nothing of the organization)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if is_partner_user(user) and not request.path.startswith(PORTAL_PATH_PREFIXES):
            if request.path == "/":
                return HttpResponseRedirect(PORTAL_HOME)
            raise PermissionDenied("partner portal only")
        return self.get_response(request)


def can(user, action):
    """Whether the user's role allows ``action`` (see ``ACTIONS``)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if action not in ACTIONS:
        raise ImproperlyConfigured(f"Unknown action {action!r}")
    if user.is_superuser:
        return True
    return user.role in ACTIONS[action]


def require(user, action):
    """Raise ``PermissionDenied`` (403) unless the role allows ``action``."""
    if not can(user, action):
        raise PermissionDenied(action)


def scope_department_ids(user):
    """Department ids whose records the user sees by department (cached on the user)."""
    cached = getattr(user, "_scope_department_ids", None)
    if cached is not None:
        return cached
    scope = effective_scope(user)
    if scope == DataScope.DEPARTMENT and user.department_id:
        ids = {user.department_id}
    elif scope == DataScope.DEPARTMENT_TREE and user.department_id:
        # the tree below the user's department, from the cached tree (no query on a warm cache)
        ids = department_tree.subtree_ids(user.department_id)
    else:
        ids = set()
    user._scope_department_ids = ids
    return ids


def effective_scope(user):
    if user.is_superuser:
        return DataScope.ALL
    return user.data_scope


def scope_q(user, *, owner_field, department_field):
    """The ``Q`` that selects the records in the user's data scope."""
    if not getattr(user, "is_authenticated", False) or not user.is_active or is_partner_user(user):
        return Q(pk__in=[])
    scope = effective_scope(user)
    if scope == DataScope.ALL:
        return Q()
    q = Q(**{owner_field: user}) if owner_field else Q(pk__in=[])
    if scope in (DataScope.DEPARTMENT, DataScope.DEPARTMENT_TREE) and department_field:
        ids = scope_department_ids(user)
        if ids:
            q |= Q(**{f"{department_field}__in": sorted(ids)})
    return q


def visible(user, queryset):
    """Narrow ``queryset`` to the records ``user`` may see."""
    model = queryset.model
    if is_partner_user(user):
        field = getattr(model, "scope_partner_field", None)
        partner_id = partner_id_of(user)
        if not user.is_active or field is None or partner_id is None:
            return queryset.none()
        return queryset.filter(**{field: partner_id})
    try:
        owner_field = model.scope_owner_field
        department_field = model.scope_department_field
    except AttributeError as exc:
        raise ImproperlyConfigured(f"{model.__name__} does not declare its scope fields") from exc
    return queryset.filter(scope_q(user, owner_field=owner_field, department_field=department_field))


def visible_or_reviewing(user, queryset):
    """``visible`` plus the records the user was asked to approve (an approver routed up the tree
    opens the record they decide on, even outside their data scope)."""
    model = queryset.model
    if is_partner_user(user):
        return visible(user, queryset)
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if effective_scope(user) == DataScope.ALL:
        return queryset  # (an empty Q or-ed with another would narrow it)
    q = scope_q(user, owner_field=model.scope_owner_field, department_field=model.scope_department_field)
    return queryset.filter(q | reviewing_q(user, model))


def get_visible_or_404(user, queryset, **lookup):
    try:
        return visible(user, queryset).get(**lookup)
    except queryset.model.DoesNotExist as exc:
        raise Http404 from exc


def is_visible(user, obj):
    return visible(user, type(obj)._default_manager.filter(pk=obj.pk)).exists()


def assignable_users(user):
    """Users a record may be handed to by ``user``: within the user's department scope."""
    qs = User.objects.filter(is_active=True, is_service=False).exclude(role=P)
    if is_partner_user(user):
        return qs.none()
    scope = effective_scope(user)
    if scope == DataScope.ALL:
        return qs
    if scope == DataScope.SELF:
        return qs.filter(pk=user.pk)
    return qs.filter(Q(pk=user.pk) | Q(department_id__in=sorted(scope_department_ids(user))))


def departments_for(user):
    """The departments a user may filter by: every one with the ALL scope, the departments of the
    scope with a department scope, and the user's own department (and those below it) otherwise."""
    scope = effective_scope(user)
    departments = Department.objects.all()
    if scope == DataScope.ALL:
        return departments
    ids = scope_department_ids(user)
    if ids:
        return departments.filter(pk__in=sorted(ids))
    if not user.department_id:
        return departments.none()
    return departments.filter(pk__in=sorted(department_tree.subtree_ids(user.department_id)))
