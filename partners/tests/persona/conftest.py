from crm.tests.personas import demo_day  # noqa: F401 (one demo business for the partner personas)
