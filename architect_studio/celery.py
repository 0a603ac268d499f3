import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "architect_studio.settings.dev")

app = Celery("architect_studio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
