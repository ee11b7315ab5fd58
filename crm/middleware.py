from django.conf import settings


class ContentSecurityPolicyMiddleware:
    """Pages load scripts, styles, fonts and images from this host only; no inline scripts."""

    POLICY = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(settings, "CSP_ENABLED", True) and "Content-Security-Policy" not in response:
            if not request.path.startswith("/api/docs") and not request.path.startswith("/django-admin"):
                response["Content-Security-Policy"] = self.POLICY
        return response
