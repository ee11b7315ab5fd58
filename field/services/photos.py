"""A visit photo: refused by size and declared type before it is read, then decoded and written
again without its metadata (EXIF holds the phone's model, the owner's name, a GPS position)."""

import hashlib
import io

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from crm.uploads import UploadRefused, read_upload

ALLOWED_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
#: a decompression bomb is a small file with a huge picture: refused before decoding
MAX_PIXELS = 40_000_000
#: the longest side kept (a phone's 4000 px photo is scaled down: enough to see, far smaller)
MAX_SIDE = 2000


def clean_photo(upload) -> tuple[ContentFile, str]:
    """(file without metadata, sha256 of its bytes). Raises ``ValidationError`` on ``photo``."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    max_bytes = getattr(settings, "FIELD_PHOTO_MAX_BYTES", 8 * 1024 * 1024)
    declared = (getattr(upload, "content_type", "") or "").split(";")[0].strip().lower()
    if declared not in ALLOWED_TYPES:
        raise ValidationError({"photo": _("Take a JPEG, PNG or WebP photo.")})
    try:
        data = read_upload(upload, max_bytes=max_bytes)
    except UploadRefused as exc:
        raise ValidationError({"photo": str(exc)}) from exc
    if len(data) > max_bytes:
        raise ValidationError(
            {"photo": _("The photo is larger than %(size)s MB.") % {"size": f"{max_bytes / 1024 / 1024:g}"}}
        )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            width, height = probe.size
        if fmt not in EXTENSIONS:
            raise ValidationError({"photo": _("Take a JPEG, PNG or WebP photo.")})
        if width * height > MAX_PIXELS:
            raise ValidationError({"photo": _("The photo has too many pixels.")})
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)  # keep it upright once the orientation tag is gone
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            if fmt == "JPEG" and image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            out = io.BytesIO()
            image.save(out, format=fmt)  # no exif=, no pnginfo=: nothing of the original's metadata
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ValidationError({"photo": _("This photo cannot be read; take it again.")}) from exc
    clean = out.getvalue()
    digest = hashlib.sha256(clean).hexdigest()
    return ContentFile(clean, name=f"{digest[:16]}.{EXTENSIONS[fmt]}"), digest
