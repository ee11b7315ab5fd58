"""Shared pieces of API views: the ``Idempotency-Key`` handling of writes."""

import functools
import hashlib
import json

from django.db import IntegrityError, transaction
from rest_framework import exceptions
from rest_framework.response import Response

from crm.errors import Conflict
from crm.models import IdempotencyRecord

IDEMPOTENCY_KEY_MAX_LENGTH = 255


def _request_hash(request):
    canonical = json.dumps(request.data, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def idempotent(handler):
    """Make a write view honour ``Idempotency-Key``: the same key and body return the first
    (successful) response again without running the write; the same key with another body is
    409 ``idempotency_conflict``. The key row is written in the write's own transaction, so a
    concurrent duplicate waits on the unique index and then replays the committed response."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return handler(view, request, *args, **kwargs)
        if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
            raise exceptions.ValidationError({"Idempotency-Key": ["At most 255 characters."]})
        if not key.isprintable():  # a control character (NUL cannot even be stored by PostgreSQL)
            raise exceptions.ValidationError({"Idempotency-Key": ["Only printable characters."]})
        client = request.auth.client
        digest = _request_hash(request)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        client=client, key=key, method=request.method, path=request.path, request_hash=digest
                    )
            except IntegrityError as exc:
                record = IdempotencyRecord.objects.get(client=client, key=key)
                if record.request_hash != digest:
                    raise Conflict(
                        "idempotency_conflict", "This Idempotency-Key was used with a different request."
                    ) from exc
                response = Response(record.response_body, status=record.status_code)
                response["Idempotent-Replayed"] = "true"
                return response
            response = handler(view, request, *args, **kwargs)
            if response.status_code >= 400:
                transaction.set_rollback(True)
                return response
            record.status_code = response.status_code
            record.response_body = response.data
            record.save(update_fields=["status_code", "response_body"])
            return response

    wrapper.accepts_idempotency_key = True  # the schema documents the header on this write
    return wrapper
