"""Distances on the earth, and positions as the browser sends them."""

import math
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

EARTH_RADIUS_M = 6_371_008.8
#: a browser reports its accuracy in metres; anything coarser than this is not a position
MAX_ACCURACY_M = 50_000


def distance_m(lat1, lng1, lat2, lng2):
    """Great-circle (haversine) distance in whole metres."""
    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dp, dl = p2 - p1, math.radians(float(lng2) - float(lng1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * EARTH_RADIUS_M * math.asin(math.sqrt(a)))


def parse_position(latitude, longitude, accuracy):
    """(lat, lng, accuracy) as the browser sent them, checked; all three None when no position was
    given (the user declined). Raises ``ValidationError`` naming the field that is wrong."""
    if latitude in (None, "") and longitude in (None, ""):
        return None, None, None
    values = {}
    for name, raw, low, high in (("latitude", latitude, -90, 90), ("longitude", longitude, -180, 180)):
        try:
            value = Decimal(str(raw)).quantize(Decimal("0.000001"))
        except (InvalidOperation, ValueError) as exc:
            raise ValidationError(
                {name: _("Enter a number between %(low)s and %(high)s.") % {"low": low, "high": high}}
            ) from exc
        if not (low <= value <= high) or not value.is_finite():
            raise ValidationError(
                {name: _("Enter a number between %(low)s and %(high)s.") % {"low": low, "high": high}}
            )
        values[name] = value
    acc = None
    if accuracy not in (None, ""):
        try:
            acc = math.ceil(float(accuracy))
        except (TypeError, ValueError) as exc:
            raise ValidationError({"accuracy": _("Enter the accuracy in metres.")}) from exc
        if not (0 <= acc <= MAX_ACCURACY_M):
            raise ValidationError(
                {
                    "accuracy": _("The position is too imprecise (more than %(max)s m); try again outdoors.")
                    % {"max": f"{MAX_ACCURACY_M:,}"}
                }
            )
    return values["latitude"], values["longitude"], acc
