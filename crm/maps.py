"""Links to a place in the configured map provider (``MAP_PROVIDER``: "amap", "baidu" or "none").

A link opens the provider's page (or its app on a phone); nothing is loaded from the provider
by our pages."""

from urllib.parse import quote

from django.conf import settings


def map_link(*, address="", latitude=None, longitude=None, name=""):
    """The link that shows the point (or, without one, searches the address), or ""."""
    provider = getattr(settings, "MAP_PROVIDER", "none")
    has_point = latitude is not None and longitude is not None
    label = quote(name or address or "")
    if provider == "amap":
        if has_point:
            return f"https://uri.amap.com/marker?position={longitude},{latitude}&name={label}&coordinate=wgs84&src=crm"
        if address:
            return f"https://uri.amap.com/search?keyword={quote(address)}&src=crm"
    elif provider == "baidu":
        if has_point:
            return (
                f"https://api.map.baidu.com/marker?location={latitude},{longitude}&title={label}"
                f"&content={quote(address or name or '')}&coord_type=wgs84&output=html&src=crm"
            )
        if address:
            return f"https://api.map.baidu.com/geocoder?address={quote(address)}&output=html&src=crm"
    return ""


def map_link_for(record):
    """The link for a customer or a lead: its coordinates when known, else its address or region."""
    region = getattr(record, "region_name", None) or getattr(record, "region", "")  # a customer's region is a code
    return map_link(
        address=getattr(record, "address", "") or region or "",
        latitude=getattr(record, "latitude", None),
        longitude=getattr(record, "longitude", None),
        name=getattr(record, "name", ""),
    )


def static_map(points, *, width=600, height=320):
    """An image URL of the provider's static map with ``points`` [(lat, lng), ...] marked, or ""
    without a key (``MAP_PROVIDER_KEY``): with none, pages load nothing from the provider."""
    key = getattr(settings, "MAP_PROVIDER_KEY", "")
    provider = getattr(settings, "MAP_PROVIDER", "none")
    if not key or not points:
        return ""
    points = points[:50]
    if provider == "amap":
        markers = "|".join(f"{lng:.6f},{lat:.6f}" for lat, lng in points)
        return f"https://restapi.amap.com/v3/staticmap?size={width}*{height}&markers=mid,,A:{markers}&key={quote(key)}"
    if provider == "baidu":
        markers = "|".join(f"{lng:.6f},{lat:.6f}" for lat, lng in points)
        return (
            f"https://api.map.baidu.com/staticimage/v2?ak={quote(key)}&width={width}&height={height}"
            f"&coordtype=wgs84ll&markers={markers}"
        )
    return ""
