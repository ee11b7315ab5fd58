from crm.tests.personas import demo_day  # noqa: F401 (one demo business for every persona file here)
