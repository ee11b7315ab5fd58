import pytest

from crm.tests.factories import OrgFixture


@pytest.fixture
def org(db):
    return OrgFixture()


@pytest.fixture(autouse=True)
def english(client, settings):
    """Messages are asserted in English: services run in English, and the test client asks for the
    English pages (the default language is Simplified Chinese)."""
    from django.utils import translation

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def won_stage(db):
    from sales.models import OpportunityStage

    return OpportunityStage.objects.get_or_create(
        name="赢单", defaults={"position": 90, "probability": 100, "is_won": True}
    )[0]


@pytest.fixture
def lost_stage(db):
    from sales.models import OpportunityStage

    return OpportunityStage.objects.get_or_create(
        name="输单", defaults={"position": 91, "probability": 0, "is_lost": True}
    )[0]
