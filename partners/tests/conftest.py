import pytest

from crm.tests.factories import OrgFixture


@pytest.fixture
def org(db):
    return OrgFixture()
