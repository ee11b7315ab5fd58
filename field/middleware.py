"""Inside WeCom's browser the sign-in page hands over to WeCom's OAuth (when WeCom is configured)."""

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

from . import wecom


class WeComLoginMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.method == "GET"
            and "wxwork" in request.headers.get("User-Agent", "").lower()
            and "password" not in request.GET
            and request.path == reverse("login")
            and not request.user.is_authenticated
            and wecom.configured()
        ):
            query = urlencode({"next": request.GET["next"]}) if request.GET.get("next") else ""
            return redirect(reverse("field:wecom_start") + (f"?{query}" if query else ""))
        return self.get_response(request)
