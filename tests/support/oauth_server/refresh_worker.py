"""One "worker process" for the cross-process refresh test:
``python refresh_worker.py <test db name> <integration id> <tenant id>``.

It joins the pytest run's (committed) test database, opens its connection, prints
``READY`` and waits for a line on stdin -- the test's barrier, released once both
processes are up -- then calls ensure_valid_token and prints the access token it got
(or ``ERROR <kind>``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
os.environ["DJANGO_SETTINGS_MODULE"] = "architect_studio.settings.test"

from django.conf import settings  # noqa: E402

db_name, integration_id, tenant_id = sys.argv[1], sys.argv[2], sys.argv[3]
for alias in settings.DATABASES.values():
    alias["NAME"] = db_name
import django  # noqa: E402

django.setup()
from django.db import connection  # noqa: E402

from integrations.tokens import TokenUnavailable, ensure_valid_token  # noqa: E402

connection.ensure_connection()
print("READY", flush=True)
if sys.stdin.readline().strip() != "GO":
    sys.exit("released without GO")
try:
    print(ensure_valid_token(integration_id=integration_id, tenant_id=tenant_id), flush=True)
except TokenUnavailable as exc:
    print(f"ERROR {exc.kind}", flush=True)
