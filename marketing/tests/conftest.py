import pytest

from crm.tests.factories import OrgFixture
from marketing.channels import LoggingBackend


@pytest.fixture
def org(db):
    return OrgFixture()


@pytest.fixture(autouse=True)
def clean_outbox():
    LoggingBackend.outbox.clear()
    yield
    LoggingBackend.outbox.clear()


@pytest.fixture
def send(org, django_capture_on_commit_callbacks):
    """Start a touch and run what happens after the commit (the delivery task, eager in tests)."""
    from marketing.services.sending import start_send

    def run(touch, actor=None):
        with django_capture_on_commit_callbacks(execute=True):
            touch = start_send(actor=actor or org.marketing, touch=touch)
        touch.refresh_from_db()
        return touch

    return run
