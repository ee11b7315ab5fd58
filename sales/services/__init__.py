"""Writes of the sales app; views, the API, commands and Celery tasks call these."""

from .followups import contact_status, mark_inbound, may_contact, record_followup  # noqa: F401
from .leads import assign_leads, capture_lead, convert_lead, rescore, update_lead  # noqa: F401
from .opportunities import decide_approval, move_stage, open_opportunity, request_approval, update_opportunity  # noqa: F401
from .pool import (  # noqa: F401
    PoolError,
    claim_customer,
    claim_from_pool,
    claim_lead,
    recycle,
    release_customer,
    release_lead,
    release_to_pool,
)
from .reminders import complete_reminder, create_reminder, dispatch_due, reschedule_reminder  # noqa: F401
from .tasks import complete_task, create_task  # noqa: F401
