"""Benchmark scenarios of the customers app (see bench/scenarios.py)."""
from bench.scenarios import Scenario, register

register(
    Scenario("customers.segments.manager1", "manager1", "/customers/segments/"),
    Scenario("customers.segments.admin", "admin", "/customers/segments/"),
    Scenario("customers.orders", "director", "/customers/orders/"),
    Scenario("customers.tag_filter", "director", "/customers/?tags=1&tags=4&tags_match=any"),
    Scenario("customers.sort.total", "director", "/customers/?sort=-total_amount"),
)
