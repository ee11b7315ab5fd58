"""Writes of the coupons app; views, the API, commands and Celery tasks call these."""

from .batches import approve, change_status, reject, save_batch, submit, validate_batch  # noqa: F401
from .budgets import allocate  # noqa: F401
from .claims import claim, redeem, redeem_for_order, release_for_cancelled_order  # noqa: F401
from .compensation import request_compensation  # noqa: F401
from .production import produce  # noqa: F401
