import pytest

from crm.tests.factories import OrgFixture


@pytest.fixture
def org(db):
    return OrgFixture()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Monitoring keeps earlier days' figures in the cache: every test starts without them."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def english(client, settings):
    """The test client asks for the English pages (the default language is Simplified Chinese)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client
