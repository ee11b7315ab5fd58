"""Links in emails and WeChat Work messages point at the server `make run` started (issue 13, item 22)."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

BASE = Path(settings.BASE_DIR)


def site_url(**env):
    """SITE_URL as a process started with ``env`` reads it."""
    clean = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "HOST", "PORT", "CRM_WEB_PORT")}
    code = "import django, json; django.setup(); from django.conf import settings; print(settings.SITE_URL)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE,
        capture_output=True,
        text=True,
        check=True,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
    )
    return result.stdout.strip().splitlines()[-1]


def test_links_follow_the_host_and_port_make_run_was_given():
    assert site_url(HOST="127.0.0.1", PORT="8123") == "http://127.0.0.1:8123"
    # honcho gives the worker and beat their own PORT; `make run` passes the web server's
    assert site_url(HOST="127.0.0.1", PORT="8223", CRM_WEB_PORT="8123") == "http://127.0.0.1:8123"
    assert site_url(HOST="0.0.0.0", PORT="9000") == "http://127.0.0.1:9000"
    assert site_url() == "http://127.0.0.1:8000"
    assert site_url(SITE_URL="https://crm.example.com/", PORT="8123") == "https://crm.example.com"


def test_make_run_tells_every_process_the_web_servers_port():
    dry_run = subprocess.run(["make", "-n", "run", "PORT=8123"], cwd=BASE, capture_output=True, text=True).stdout
    assert "CRM_WEB_PORT=8123 .venv/bin/honcho -f Procfile.dev start" in dry_run


def test_an_email_links_to_site_url(db, org, settings, mailoutbox):
    from crm import notifications
    from crm.models import Notification

    settings.SITE_URL = "http://127.0.0.1:8123"
    notification = Notification.objects.create(recipient=org.rep1, title="跟进提醒", url="/customers/7/")
    delivery = notification.deliveries.create(channel="email", target="rep1@example.com")
    notifications._send_email(delivery)
    assert mailoutbox[0].body.endswith("\n\nhttp://127.0.0.1:8123/customers/7/")
