"""Test settings: the real Postgres and Redis, no pool (pytest-django wraps tests
in transactions on one connection), fast password hashing."""

import os

import dj_database_url

from architect_studio.settings.base import *  # noqa: F401,F403
from architect_studio.settings.base import CHANNEL_LAYERS, DATABASES, MODE

# Parallel runs keep apart: TEST_DB_SUFFIX / TEST_REDIS_DB per checkout, and under
# pytest-xdist (`make test` runs TEST_WORKERS workers) each worker gets its own database
# (suffix _gw<N>) and the Redis database after the run's (TEST_REDIS_DB + N). Redis has
# databases 0-15: the default base 10 leaves room for six workers, and a base + N past
# the last database stops the run here instead of failing every Redis user later.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_SUFFIX = os.environ.get("TEST_DB_SUFFIX", "") + (f"_{_XDIST_WORKER}" if _XDIST_WORKER else "")
_REDIS_DB = int(os.environ.get("TEST_REDIS_DB", "10")) + (int(_XDIST_WORKER[2:]) if _XDIST_WORKER else 0)
if not 0 <= _REDIS_DB <= 15:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"TEST_REDIS_DB + xdist worker = Redis database {_REDIS_DB}, outside 0-15: "
        "lower TEST_REDIS_DB or TEST_WORKERS"
    )

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if MODE.database_admin_url and "owner" not in DATABASES:
    # The test harness creates and migrates its database: it is a migrate.
    DATABASES["owner"] = {**dj_database_url.parse(MODE.database_admin_url), "CONN_MAX_AGE": 0}
for _alias in DATABASES.values():
    _alias.get("OPTIONS", {}).pop("pool", None)
if "owner" in DATABASES:
    # The test database is created and migrated by the owner role; tests/conftest.py
    # then points the runtime role (default) and the operator role at it.
    # TEST_DB_SUFFIX lets parallel runs (several checkouts) keep apart.
    _test_name = "test_architect_studio" + _SUFFIX
    for _alias in DATABASES:
        DATABASES[_alias]["TEST"] = {"NAME": _test_name, "DEPENDENCIES": []}
WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
INTEGRATION_ENCRYPTION_KEY = "test-key-1:" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
# One Redis database per run (TEST_REDIS_DB; parallel checkouts pick different ones):
# the broker, kick flags, both rate limiters and the channel layer all read REDIS_URL,
# so a dev worker never takes a test's tasks and two runs never share a key.
if MODE.redis_url:
    from urllib.parse import urlsplit, urlunsplit

    REDIS_URL = urlunsplit(urlsplit(MODE.redis_url)._replace(path=f"/{_REDIS_DB}"))
    CELERY_BROKER_URL = REDIS_URL
    if CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis"):
        CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [REDIS_URL]
        CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = "asgi-test" + _SUFFIX
# WhiteNoise looks a static file up when it is asked for instead of indexing every app's
# static files when its middleware is built: production builds the middleware once per
# process, the tests once per test client (thousands of times, ~28% of a page test's CPU).
# The files served, and how, are the same.
WHITENOISE_AUTOREFRESH = True
