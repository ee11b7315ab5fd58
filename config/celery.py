import os

from celery import Celery
from celery.signals import beat_init

from crm.beat_lock import hold_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@beat_init.connect
def one_beat_only(sender=None, **kwargs):
    """A second beat exits at start (crm.beat_lock): every scheduled job is sent once."""
    hold_or_exit()
