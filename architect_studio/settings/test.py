"""Test settings: the real Postgres and Redis, no pool (pytest-django wraps tests
in transactions on one connection), fast password hashing."""

import os

import dj_database_url

from architect_studio.settings.base import *  # noqa: F401,F403
from architect_studio.settings.base import CHANNEL_LAYERS, DATABASES, MODE

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
    _test_name = "test_architect_studio" + os.environ.get("TEST_DB_SUFFIX", "")
    for _alias in DATABASES:
        DATABASES[_alias]["TEST"] = {"NAME": _test_name, "DEPENDENCIES": []}
WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
INTEGRATION_ENCRYPTION_KEY = "test-key-1:" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
if MODE.redis_url and CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis"):
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = "asgi-test" + os.environ.get("TEST_DB_SUFFIX", "")

# Tests use their own Redis database for the broker so a dev worker never takes their tasks.
if MODE.redis_url:
    from urllib.parse import urlsplit, urlunsplit

    _parts = urlsplit(MODE.redis_url)
    CELERY_BROKER_URL = urlunsplit(_parts._replace(path="/" + os.environ.get("TEST_REDIS_DB", "14")))
