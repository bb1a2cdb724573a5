"""The Celery application: `celery -A config worker`."""

import os

from celery import Celery
from celery.signals import task_prerun, worker_process_init

from assets import tempfiles

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("dam")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _sweep_temporaries(**_):
    # A pool process started after a killed one removes what that one left (assets.tempfiles).
    tempfiles.sweep()


@task_prerun.connect
def _sweep_now_and_then(**_):
    tempfiles.maybe_sweep()
