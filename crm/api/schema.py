"""The OpenAPI description of the API's error answers (the contract in shared API.md): every
operation documents the errors it can give, each with the one error shape
``{"error": {"code", "message", "fields"}}`` and the codes that status can carry."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from .base import IDEMPOTENCY_KEY_MAX_LENGTH

ERROR_COMPONENT = ResolvedComponent(
    name="Error",
    type=ResolvedComponent.SCHEMA,
    object="Error",
    schema={
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": {"type": "string", "description": "Stable machine code."},
                    "message": {"type": "string", "description": "For people; may change."},
                    "fields": {
                        "type": "object",
                        "additionalProperties": {"type": "array", "items": {"type": "string"}},
                        "description": "Messages per field (`non_field_errors` for the request as a whole).",
                    },
                },
                "required": ["code", "message"],
            }
        },
        "required": ["error"],
    },
)


def error_schema(codes, *, fields=False):
    """The error body of one answer: ``codes`` are the machine codes it can carry."""
    detail = {"type": "object", "properties": {"code": {"enum": sorted(set(codes))}}}
    if fields:
        detail["required"] = ["fields"]
    return {"allOf": [ERROR_COMPONENT.ref, {"type": "object", "properties": {"error": detail}}]}


def _codes(schema):
    return schema["allOf"][1]["properties"]["error"]["properties"]["code"]


class ErrorResponse(OpenApiResponse):
    """An error answer of one status with the codes it can carry, for ``extend_schema(responses=…)``."""

    def __init__(self, *codes, description="", fields=False):
        self.codes = codes
        super().__init__(response=error_schema(codes, fields=fields), description=description)

    def as_openapi(self):
        return {"description": self.description, "content": {"application/json": {"schema": self.response}}}


def conflict(*codes, description="A business rule refuses the request."):
    """The 409 answer of a view, with the contract's codes for it."""
    return ErrorResponse(*codes, description=description)


def not_found(description="Unknown object."):
    return ErrorResponse("not_found", description=description)


def is_idempotent_write(view, method):
    return getattr(getattr(view, method.lower(), None), "accepts_idempotency_key", False)


#: what each operation does, in one line ("METHOD path" → summary); a new operation needs one here
#: (or ``extend_schema(summary=…)``), the docs test fails otherwise
SUMMARIES = {
    "GET /api/v1/ping": "Check a token",
    "GET /api/v1/customers": "Find customers by mobile",
    "GET /api/v1/customers/{id}": "Read a customer's summary",
    "POST /api/v1/leads": "Capture a lead",
    "POST /api/v1/orders": "Record an order",
    "POST /api/v1/orders/{external_id}/cancel": "Cancel an order",
    "POST /api/v1/coupons/claim": "Claim a coupon for a customer",
    "POST /api/v1/coupons/redeem": "Redeem a coupon on an order",
    "POST /api/v1/events/{id}/registrations": "Register a person for an event",
    "GET /api/v1/lead-sources": "List the active lead sources",
}
CREATED = "Created: the first time this request was received."
REPEATED = "Nothing new was created: the same request was received before (same key and body); the first answer again."


class ApiAutoSchema(AutoSchema):
    """Adds what every operation of the API has in common: the bearer token's 401 and (for a
    scoped endpoint) 403, 429, and for writes 400, 415, 422 and the ``Idempotency-Key`` header."""

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if is_idempotent_write(self.view, self.method):
            parameters.append(
                OpenApiParameter(
                    "Idempotency-Key",
                    {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
                    OpenApiParameter.HEADER,
                    description="The same key with the same body returns the first result again and changes nothing; "
                    "with another body it is 409 `idempotency_conflict`.",
                )
            )
        return parameters

    def _common_errors(self):
        errors = {
            401: ErrorResponse("unauthorized", description="Missing, unknown, revoked or expired token."),
            429: ErrorResponse("rate_limited", description="Too many requests from this client."),
        }
        if getattr(self.view, "required_scope", None):
            errors[403] = ErrorResponse(
                "forbidden", description=f"The token lacks the scope `{self.view.required_scope}`."
            )
        if self.method in ("POST", "PUT", "PATCH"):
            errors[400] = ErrorResponse("malformed", description="The body is not valid JSON.")
            errors[415] = ErrorResponse("unsupported_media_type", description="The body is not `application/json`.")
        if self.method in ("POST", "PUT", "PATCH") or self._has_query_parameters():
            errors[422] = ErrorResponse("invalid", fields=True, description="A field fails validation.")
        if is_idempotent_write(self.view, self.method):
            errors[409] = conflict("idempotency_conflict")
        if "{" in self.path:
            errors[404] = not_found()
        return errors

    def _has_query_parameters(self):
        return any(
            isinstance(parameter, OpenApiParameter) and parameter.location == OpenApiParameter.QUERY
            for parameter in self.get_override_parameters()
        )

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        self.registry.register_on_missing(ERROR_COMPONENT)
        if not operation.get("summary"):
            summary = SUMMARIES.get(f"{self.method} {self.path}")
            if summary:
                operation["summary"] = summary
        scope = getattr(self.view, "required_scope", None)
        if scope:
            operation["x-required-scope"] = scope
            note = f"**Scope:** `{scope}`."
            operation["description"] = f"{note}\n\n{operation.get('description', '')}".strip()
        responses = operation.setdefault("responses", {})
        if "201" in responses:
            responses["201"]["description"] = CREATED
            if "200" in responses:
                responses["200"]["description"] = REPEATED
        elif "200" in responses and not responses["200"].get("description"):
            responses["200"]["description"] = "OK: done; nothing new was created."
        for status, error in self._common_errors().items():
            own = responses.get(str(status))
            if own is None:
                responses[str(status)] = error.as_openapi()
            else:  # the view's own answer for this status: it can carry the common codes too
                code = _codes(own["content"]["application/json"]["schema"])
                code["enum"] = sorted(set(code["enum"]) | set(error.codes))
        operation["responses"] = dict(sorted(responses.items()))
        return operation
