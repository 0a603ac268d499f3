"""Bench-only settings: the dev settings plus the two baseline views' URLs.

Nothing here is used in production: ``ROOT_URLCONF = "bench.urls"`` adds the
baselines next to the real URLs, the per-webhook rate limit is raised far
above the offered load (the shared Redis window still counts every request,
in leases of 100 at this limit, so its cost is measured as a busy webhook
with a high limit would pay it), and the broker is a Redis database of its own so the
processing messages the run enqueues never reach a dev worker.
"""

import os

from architect_studio.settings.dev import *  # noqa: F401,F403
from architect_studio.settings.dev import LOGGING, REDIS_URL

ROOT_URLCONF = "bench.urls"
INCOMING_WEBHOOK_RATE_LIMIT = 1_000_000
BENCH_BASELINE_SECRET = os.environ.get("BENCH_BASELINE_SECRET", "bench-baseline-secret")
LOGGING["root"]["level"] = "WARNING"
if REDIS_URL:
    from urllib.parse import urlsplit, urlunsplit

    CELERY_BROKER_URL = urlunsplit(urlsplit(REDIS_URL)._replace(path="/" + os.environ.get("BENCH_REDIS_DB", "13")))
