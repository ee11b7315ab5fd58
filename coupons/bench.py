"""Benchmark scenarios of the coupons app (see bench/scenarios.py)."""
from bench.scenarios import Scenario, register

register(
    Scenario("coupons.campaigns", "marketing", "/coupons/"),
    Scenario("coupons.budgets", "marketing", "/coupons/budgets/"),
)
