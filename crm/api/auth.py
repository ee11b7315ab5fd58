"""Bearer tokens of integration clients, their scopes, and per-client rate limits."""

from auditlog.context import auditlog_value
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from crm.models import ApiToken, hash_token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != self.keyword.lower():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <token>'.")
        token = (
            ApiToken.objects.usable()
            .select_related("client", "client__service_user")
            .filter(token_hash=hash_token(parts[1]))
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("Unknown, revoked or expired token.")
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        user = token.client.service_user
        try:  # name the client in the audit log
            auditlog_value.get()["actor"] = user
        except LookupError:
            pass
        return user, token

    def authenticate_header(self, request):
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "crm.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}


class HasTokenScope(permissions.BasePermission):
    """The view's ``required_scope`` (or ``required_scopes`` per method) must be on the token."""

    message = "This token lacks the scope this endpoint needs."

    def has_permission(self, request, view):
        token = request.auth
        if not isinstance(token, ApiToken):
            raise exceptions.NotAuthenticated("Authentication credentials were not provided.")
        required = getattr(view, "required_scope", None)
        if required is None:
            return True
        return required in token.scopes


class ClientRateThrottle(throttling.SimpleRateThrottle):
    scope = "client"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            return self.cache_format % {"scope": self.scope, "ident": request.auth.client_id}
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
