"""Celery autodiscovery looks here; the tasks live with each side."""

from webhooks.incoming.tasks import *  # noqa: F401,F403
from webhooks.outgoing.tasks import *  # noqa: F401,F403
