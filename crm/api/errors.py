"""The error shape of the API contract: ``{"error": {"code", "message", "fields"}}``.

Services raise :class:`crm.errors.DomainError`; this handler maps it (and DRF's own exceptions)
to the contract's shape and status."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from crm.errors import Conflict, DomainError

#: A business rule refuses the request: 409 with a stable code (``sold_out``, …). The name API
#: views have always raised; it is the domain's ``Conflict``, so the one handler maps both.
BusinessRuleError = Conflict


def error_body(code, message, fields=None):
    body = {"error": {"code": code, "message": str(message)}}
    if fields:
        body["error"]["fields"] = fields
    return body


def _messages(detail, path=""):
    """Readable messages of a field's errors; a nested field's carry its path (``mobile: …``,
    ``[1].price: …``) instead of the repr of DRF's nested error structure."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):
                name = f"{path}[{key}]"
            elif key == api_settings.NON_FIELD_ERRORS_KEY:
                name = path
            else:
                name = f"{path}.{key}" if path else str(key)
            yield from _messages(value, name)
    elif isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        for index, item in enumerate(detail):  # one entry per list item, empty for a valid one
            yield from _messages(item, f"{path}[{index}]")
    else:
        for message in detail if isinstance(detail, list) else [detail]:
            yield f"{path}: {message}" if path else str(message)


def _flatten(detail):
    """``{"field": [messages]}`` keyed by the request's top-level fields."""
    if isinstance(detail, dict):
        return {str(key): list(_messages(value)) for key, value in detail.items()}
    return {api_settings.NON_FIELD_ERRORS_KEY: list(_messages(detail))}


def domain_error_response(exc):
    """The contract's answer to a :class:`DomainError`: its status, code, message and fields."""
    return Response(error_body(exc.code, exc.message, exc.fields or None), status=exc.status)


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        set_rollback()  # as DRF does for its own exceptions: the request's atomic block rolls back
        return domain_error_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
        body = error_body("invalid", "Some fields are not valid.", _flatten(exc.detail))
    elif isinstance(exc, exceptions.ParseError):
        body = error_body("malformed", exc.detail)
    elif isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response.status_code = status.HTTP_401_UNAUTHORIZED
        body = error_body("unauthorized", exc.detail)
    elif isinstance(exc, exceptions.PermissionDenied):
        body = error_body("forbidden", exc.detail)
    elif isinstance(exc, exceptions.NotFound):
        body = error_body("not_found", exc.detail)
    elif isinstance(exc, exceptions.Throttled):
        body = error_body("rate_limited", exc.detail)
    elif isinstance(exc, exceptions.MethodNotAllowed):
        body = error_body("method_not_allowed", exc.detail)
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        body = error_body("unsupported_media_type", exc.detail)
    else:
        body = error_body(getattr(exc, "default_code", "error"), getattr(exc, "detail", str(exc)))
    response.data = body
    return response


def api_404(request, exception=None):
    return Response(error_body("not_found", "Not found."), status=404)
