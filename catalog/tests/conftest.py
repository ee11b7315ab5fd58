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
