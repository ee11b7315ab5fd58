"""The API's JSON parser: the body size and the nesting depth are capped, and anything that is not
well-formed JSON within them is the contract's 400 ``malformed`` (a body of 5,000 ``[`` was a 500:
the decoder ran out of stack). A body over ``API_MAX_BODY_BYTES`` is 413 ``too_large``."""

import json

from django.conf import settings
from rest_framework import exceptions, parsers, status


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The request body is too large."


def depth_of(value):
    """How deeply lists and objects nest in a decoded JSON value (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _refuse_constant(name):
    raise ValueError(f"{name} is not valid JSON")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = getattr(settings, "API_MAX_BODY_BYTES", 1024 * 1024)
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH", "") if request is not None else ""
        if declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        max_depth = getattr(settings, "API_MAX_JSON_DEPTH", 20)
        try:
            value = json.loads(data.decode(encoding), parse_constant=_refuse_constant)
        except RecursionError as exc:  # deeper than the stack allows: deeper than the cap in any case
            raise exceptions.ParseError(f"JSON parse error - the body nests deeper than {max_depth} levels.") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        if depth_of(value) > max_depth:
            raise exceptions.ParseError(f"JSON parse error - the body nests deeper than {max_depth} levels.")
        return value
