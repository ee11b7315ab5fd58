"""The suite runs on PostgreSQL; the statements written by hand for both databases (the sales
roll-up's, the event keys') run here on SQLite too, where times are text and a parameter must be
the text the ORM would store (UTC, no offset), through those apps' own tests."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

FILES = ("catalog/tests/test_rollup.py", "cdp/tests/test_events_api.py")


@pytest.mark.services
def test_the_hand_written_statements_hold_on_sqlite_as_well(postgres, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CRM_REQUIRE_SERVICES")}
    env["CRM_VAR_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *FILES, "-k", "not sqlite"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert " failed" not in summary and " passed" in summary
