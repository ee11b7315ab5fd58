"""Domain errors: what a service raises when a rule refuses a request.

A service raises ``DomainError(code, message, fields=…)`` with a stable machine ``code``
(``sold_out``, ``not_owner``, …); it never knows whether a page, the API, an import or a task
called it. The API's exception handler (``crm.api.errors``) turns it into the contract's shape
``{"error": {"code", "message", "fields"}}`` with the class's ``status``; a page puts ``fields``
beside the form's fields (``crm.ui.add_domain_error``). Nothing here imports DRF.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class DomainError(Exception):
    """A business rule refuses the request (HTTP 409 through the API unless a subclass says otherwise).

    ``fields`` maps a field name to its messages (``{"coupon_code": ["This coupon has expired."]}``);
    a page shows each beside its field, the API returns them under ``error.fields``."""

    status = 409

    def __init__(self, code: str, message: str, *, fields: Mapping[str, Iterable[str] | str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = {
            name: [str(m) for m in ([msgs] if isinstance(msgs, str) else msgs)] for name, msgs in (fields or {}).items()
        }

    @property
    def error_code(self) -> str:
        """The stable code (the name the API's exception had: kept for callers that read it)."""
        return self.code

    @property
    def detail(self) -> str:
        return self.message

    def __str__(self) -> str:
        return str(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {str(self.message)!r})"


class Conflict(DomainError):
    """A business rule refuses: 409 (``sold_out``, ``already_redeemed``, …)."""

    status = 409


class NotFound(DomainError):
    """The object the request names does not exist (for the caller): 404."""

    status = 404

    def __init__(self, message: str, *, code: str = "not_found", fields=None):
        super().__init__(code, message, fields=fields)


class Invalid(DomainError):
    """A field fails validation that needs the database: 422 ``invalid`` with the fields."""

    status = 422

    def __init__(self, message: str = "Some fields are not valid.", *, code: str = "invalid", fields=None):
        super().__init__(code, message, fields=fields)
