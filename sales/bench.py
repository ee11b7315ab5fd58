"""Benchmark scenarios of the sales app (see bench/scenarios.py)."""
from bench.scenarios import Scenario, register

register(
    Scenario("sales.leads", "manager1", "/sales/leads/"),
    Scenario("sales.pool", "rep1", "/sales/pool/"),
    Scenario("sales.board", "director", "/sales/opportunities/board/"),
    Scenario("sales.opportunities", "director", "/sales/opportunities/"),
    Scenario("sales.reminders", "rep1", "/sales/reminders/"),
)
