"""Writes to customer data. Views, the API, imports, Celery tasks and commands all call these."""
from .orders import cancel_order, place_order, record_order, redeem_coupon, record_satisfaction, recompute_all, refresh_value_figures  # noqa: F401
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
