"""Writes to customer data. Views, the API, imports, Celery tasks and commands all call these."""

from .orders import (  # noqa: F401
    cancel_order,
    place_order,
    recompute_all,
    record_order,
    record_satisfaction,
    redeem_coupon,
    refresh_value_figures,
)
from .records import (  # noqa: F401
    assign_customers,
    create_customer,
    delete_customers,
    duplicates_of,
    merge_customers,
    update_customer,
    validate_custom,
)
from .references import CustomerRef, find_customer, resolve_or_create_customer  # noqa: F401
from .relations import household, household_ids, link_customers, referral_count, unlink  # noqa: F401
from .tags import add_tags, apply_all_rules, apply_rule, remove_tags, set_customer_tags, tags_by_name  # noqa: F401
