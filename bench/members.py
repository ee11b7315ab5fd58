"""Benchmark scenarios of membership on the large set (100,000 members, 2,000,000 ledger rows): the
member list, a member's page (standing, tier history, the newest 200 ledger lines) and the API."""

from bench.scenarios import Scenario, register


def _member(ctx):
    from members.models import Member

    return ctx.cached(
        "member", lambda: Member.objects.filter(customer__owner__username="rep1").order_by("-points").first()
    )


register(
    Scenario("members.list", "director", "/members/"),
    Scenario("members.detail", "rep1", lambda ctx: f"/members/{_member(ctx).pk}/"),
    Scenario("members.api", None, lambda ctx: f"/api/v1/members/{_member(ctx).pk}", headers=lambda ctx: ctx.bearer()),
)
