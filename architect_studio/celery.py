import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "architect_studio.settings.dev")

app = Celery("architect_studio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _use_django_logging(**kwargs) -> None:
    """Worker and beat log through settings.LOGGING (architect_studio.logconfig), not
    Celery's own setup: the same quiet defaults, LOG_LEVEL and LOG_FORMAT everywhere."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
