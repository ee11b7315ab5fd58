from crm.tests.conftest import org  # noqa: F401
