"""WeCom pages: sign-in through WeCom's OAuth, the chat sidebar, and the contact callback."""

import secrets

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from crm import permissions
from crm.privacy import mobile_search_q
from crm.ui import search_text
from customers.selectors import customers_for

from .. import wecom
from ..services import wecom as wecom_services
from ..tasks import process_wecom_event

STATE_KEY = "wecom_oauth_state"
NEXT_KEY = "wecom_oauth_next"
PICK_LIMIT = 20


def wecom_start(request: HttpRequest) -> HttpResponse:
    """Send the browser to WeCom's authorize page with a one-time state kept in the session."""
    if not wecom.configured():
        raise Http404
    state = secrets.token_urlsafe(24)
    request.session[STATE_KEY] = state
    next_url = request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        request.session[NEXT_KEY] = next_url
    return redirect(wecom.oauth_url(redirect_uri=request.build_absolute_uri(reverse("field:wecom_oauth")), state=state))


def wecom_oauth(request: HttpRequest) -> HttpResponse:
    """WeCom's redirect back: check the state, exchange the code for a userid, sign the user in."""
    if not wecom.configured():
        raise Http404
    expected = request.session.pop(STATE_KEY, None)
    state = request.GET.get("state", "")
    if not expected or not secrets.compare_digest(expected, state):
        return render(
            request,
            "field/wecom_refused.html",
            {"error": _("The sign-in link has expired or was not started here. Open the app from WeCom again.")},
            status=400,
        )
    try:
        user = wecom_services.sign_in_user(request.GET.get("code", ""))
    except ValidationError as exc:
        return render(
            request,
            "field/wecom_refused.html",
            {"error": " ".join(message for messages_ in exc.message_dict.values() for message in messages_)},
            status=403,
        )
    next_url = request.session.pop(NEXT_KEY, "") or reverse("home")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect(next_url)


def _external(request):
    return (request.POST.get("external_userid") or request.GET.get("external_userid") or "").strip()[:128]


@login_required
def sidebar(request: HttpRequest) -> HttpResponse:
    """The chat sidebar (聊天工具栏): the bound customer's 360 view, or find / create one to bind."""
    permissions.require(request.user, "field.use")
    external = _external(request)
    context = {"external_userid": external, "jssdk_url": wecom.setting("WECOM_JSSDK_URL") if wecom.configured() else ""}
    if context["jssdk_url"] and not external:
        try:  # wx.config and wx.agentConfig, signed for this page's URL
            context["jssdk_config"] = wecom.jssdk_config(request.build_absolute_uri())
        except wecom.WeComError:
            context["jssdk_url"] = ""  # the search still works
    if external:
        identity = wecom_services.identity_for_external(external)
        if identity is not None:
            if permissions.is_visible(request.user, identity.customer):
                return redirect("customers:detail", identity.customer_id)
            context["bound_elsewhere"] = True
            return render(request, "field/wecom_sidebar.html", context)
        if wecom.configured():  # the same person met through another app: its unionid is bound already
            customer = wecom_services.bind_by_unionid(external_userid=external, actor=request.user)
            if customer is not None and permissions.is_visible(request.user, customer):
                return redirect("customers:detail", customer.pk)
    query = search_text(request)
    found = []
    if external and query:
        q = Q(name__icontains=query)
        by_mobile = mobile_search_q(request.user, query)
        if by_mobile is not None:
            q |= by_mobile
        found = list(customers_for(request.user).filter(q).order_by("name", "id")[:PICK_LIMIT])
    context.update(query=query, found=found)
    return render(request, "field/wecom_sidebar.html", context)


@login_required
@require_POST
def sidebar_bind(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "field.use")
    external = _external(request)
    customer_id = request.POST.get("customer", "")
    if not customer_id.isdigit():
        raise Http404
    customer = get_object_or_404(customers_for(request.user), pk=customer_id)
    try:
        wecom_services.bind_external(customer=customer, actor=request.user, external_userid=external)
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
        return redirect(f"{reverse('field:wecom_sidebar')}?external_userid={external}")
    messages.success(request, _("Bound the WeChat contact to %(name)s.") % {"name": customer.name})
    return redirect("customers:detail", customer.pk)


@login_required
@require_POST
def sidebar_create(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "field.use")
    permissions.require(request.user, "customers.add")
    external = _external(request)
    name, mobile = (request.POST.get("name") or "").strip()[:100], (request.POST.get("mobile") or "").strip()[:11]
    if not name:
        messages.error(request, _("Name: enter the customer's name."))
        return redirect(f"{reverse('field:wecom_sidebar')}?external_userid={external}")
    try:
        customer = wecom_services.create_and_bind(
            actor=request.user, external_userid=external, name=name, mobile=mobile
        )
    except ValidationError as exc:
        messages.error(request, " ".join(f"{m}" for ms in exc.message_dict.values() for m in ms))
        return redirect(f"{reverse('field:wecom_sidebar')}?external_userid={external}")
    messages.success(request, _("Created %(name)s and bound the WeChat contact.") % {"name": customer.name})
    return redirect("customers:detail", customer.pk)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def callback(request: HttpRequest) -> HttpResponse:
    """WeCom's customer-contact callback. GET: the URL check (echo the decrypted echostr). POST: an
    event, verified and decrypted, stored once and processed by a task after the answer."""
    params = {
        "msg_signature": request.GET.get("msg_signature", ""),
        "timestamp": request.GET.get("timestamp", ""),
        "nonce": request.GET.get("nonce", ""),
    }
    try:
        if request.method == "GET":
            return HttpResponse(
                wecom.verify_and_decrypt(encrypted=request.GET.get("echostr", ""), **params), content_type="text/plain"
            )
        envelope = wecom.parse_xml(request.body[: 64 * 1024])
        plain = wecom.verify_and_decrypt(encrypted=envelope.get("Encrypt", ""), **params)
        message = wecom.parse_xml(plain)
    except wecom.SignatureError:
        return HttpResponseForbidden("forbidden", content_type="text/plain")
    event, created = wecom_services.store_event(message, plain)
    if created:
        transaction.on_commit(lambda: process_wecom_event.delay(event.pk))
    return HttpResponse("success", content_type="text/plain")


ACCOUNTS_PAGE = 50


@login_required
def accounts(request: HttpRequest) -> HttpResponse:
    """Admins link users to the WeCom members they sign in as (as ``manage.py wecom_link`` does):
    one row per active user (?q= by name or username), the userid to set or clear."""
    permissions.require(request.user, "field.configure")
    users = (
        get_user_model()
        .objects.filter(is_active=True, department__in=permissions.departments_for(request.user))
        .select_related("department", "wecom_account")
        .order_by("department__path", "username", "id")
    )
    if request.method == "POST":
        user_id = request.POST.get("user", "")
        if not user_id.isdigit():
            raise Http404
        user = get_object_or_404(users, pk=user_id)
        try:
            account = wecom_services.link_account(user=user, userid=request.POST.get("userid", "")[:64])
        except ValidationError as exc:
            messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
        else:
            if account is None:
                messages.success(request, _("%(user)s is no longer linked to WeCom.") % {"user": user.display_name})
            else:
                messages.success(
                    request,
                    _("%(user)s signs in from WeCom as %(userid)s.")
                    % {"user": user.display_name, "userid": account.userid},
                )
        return redirect(request.get_full_path())
    query = search_text(request, limit=50)
    if query:
        users = users.filter(
            Q(username__icontains=query) | Q(first_name__icontains=query) | Q(last_name__icontains=query)
        )
    page = Paginator(users, ACCOUNTS_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "field/wecom_accounts.html",
        {"page": page, "query": query, "configured": bool(wecom.setting("WECOM_CORP_ID"))},
    )
