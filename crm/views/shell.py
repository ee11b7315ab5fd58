"""The shell: home pages, global search, notifications, the user's own settings, error pages."""

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.paginator import Paginator
from django.db.models import Sum
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from .. import home as home_panels
from .. import notifications, outbound
from .. import search as search_sources
from ..models import Notification, Role, User
from ..ui import StyledFormMixin, search_text


class LoginForm(StyledFormMixin, AuthenticationForm):
    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if user.is_service:
            raise forms.ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


def address_failures(address):
    """Failed logins from ``address`` (any usernames) within the lockout time."""
    from axes.models import AccessAttempt
    from django.conf import settings

    since = timezone.now() - settings.AXES_COOLOFF_TIME
    total = AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=since).aggregate(
        n=Sum("failures_since_start")
    )["n"]
    return total or 0


class LoginView(auth_views.LoginView):
    """Sign-in. Wrong passwords lock the (username, address) pair (django-axes); an address with
    ``LOGIN_ADDRESS_FAILURE_LIMIT`` failures across any usernames is refused for the lockout time,
    whatever it tries. Neither stops a user from signing in from another address."""

    template_name = "registration/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        from django.conf import settings

        address = request.META.get("REMOTE_ADDR")
        if address and address_failures(address) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
            return render(
                request,
                "registration/locked_out.html",
                {"cooloff_minutes": minutes, "address_locked": True},
                status=429,
            )
        return super().post(request, *args, **kwargs)


class PasswordChangeForm(StyledFormMixin, auth_views.PasswordChangeForm):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    form_class = PasswordChangeForm

    def form_valid(self, form):
        messages.success(self.request, _("Your password was changed."))
        return super().form_valid(form)

    def get_success_url(self):
        return "/"


@login_required
def home(request):
    """A home page per role: a rep's workbench, a manager's team view, an admin's overview. The
    panels come from the apps (crm.home)."""
    user = request.user
    manager = user.role in (Role.MANAGER, Role.DIRECTOR, Role.ADMIN, Role.MARKETING) or user.is_superuser
    context = {"recent_notifications": Notification.objects.filter(recipient=user)[:6]}
    context.update(home_panels.panels_context(user, now=timezone.now(), manager=manager))
    template = "crm/home_manager.html" if manager else "crm/home_rep.html"
    return render(request, template, context)


@login_required
def ping(request):
    """A signed-in check with nothing behind it: the floor every page is measured against
    (``make bench`` prints each page's time as a multiple of this one's), and a session keep-alive."""
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


@login_required
def search(request):
    """Global search: name or mobile, over the records the user may see."""
    query = search_text(request)
    results = search_sources.results_for(request.user, query) if query else []
    return render(request, "crm/search.html", {"query": query, "results": results})


@login_required
def notification_list(request):
    show = request.GET.get("show", "all")
    qs = Notification.objects.filter(recipient=request.user)
    if show == "unread":
        qs = qs.filter(read_at__isnull=True)
    page = Paginator(qs, 20).get_page(request.GET.get("page"))
    return render(request, "crm/notifications.html", {"page": page, "show": show})


@login_required
def notification_open(request, pk):
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    if notification.read_at is None:
        notifications.mark_read(user=request.user, ids=[notification.pk])
    target = notification.url
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("notifications")


@login_required
@require_POST
def notification_mark_read(request):
    ids = [int(pk) for pk in request.POST.getlist("id") if pk.isdigit()] or None
    count = notifications.mark_read(user=request.user, ids=ids)
    if request.headers.get("HX-Request"):
        return notification_badge(request)
    messages.success(request, _("%(count)d notifications marked as read.") % {"count": count})
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "notifications"  # only back to a page of this site
    return redirect(target)


@login_required
def notification_badge(request):
    unread = Notification.objects.filter(recipient=request.user, read_at__isnull=True).count()
    return render(request, "includes/bell_badge.html", {"unread_count": unread})


class PreferencesForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "email", "mobile", "notify_by_email", "notify_by_wecom", "wecom_webhook"]

    def clean_wecom_webhook(self):
        """The server will POST to this URL: only an allowed host, over https, at a public address."""
        url = self.cleaned_data.get("wecom_webhook", "")
        outbound.validate_url(url)
        return url


@login_required
def preferences(request):
    form = PreferencesForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your settings were saved."))
        return redirect("preferences")
    return render(request, "crm/preferences.html", {"form": form})


def error_403(request, exception=None):
    return render(request, "errors/403.html", status=403)


def error_404(request, exception=None):
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse({"error": {"code": "not_found", "message": "Not found."}}, status=404)
    return render(request, "errors/404.html", status=404)


def error_500(request):
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse({"error": {"code": "server_error", "message": "Internal error."}}, status=500)
    from django.http import HttpResponseServerError
    from django.template.loader import render_to_string

    # without the request: its context processors need the database, which may be what failed
    return HttpResponseServerError(render_to_string("errors/500.html"))


def csrf_failure(request, reason=""):
    return render(
        request,
        "errors/403.html",
        {"reason": gettext_lazy("Your form expired. Go back, reload the page and try again.")},
        status=403,
    )
