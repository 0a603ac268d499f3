import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "architect_studio.settings.dev")

app = Celery("architect_studio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _use_django_logging(loglevel=None, **kwargs) -> None:
    """Worker and beat log through architect_studio.logconfig, not Celery's own setup:
    the same quiet defaults and LOG_FORMAT everywhere. The level is LOG_LEVEL when set,
    else the command's own ``--loglevel`` (the Procfile's INFO, a benchmark's WARNING)."""
    import logging
    from logging.config import dictConfig

    from architect_studio.logconfig import build

    if isinstance(loglevel, int):
        loglevel = logging.getLevelName(loglevel)
    level = os.environ.get("LOG_LEVEL", "").strip() or loglevel or "INFO"
    dictConfig(build(level=str(level), fmt=os.environ.get("LOG_FORMAT", "").strip() or "plain"))
