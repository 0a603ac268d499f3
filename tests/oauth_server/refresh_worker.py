"""One "worker process" for the cross-process refresh test:
``python refresh_worker.py <test db name> <integration id> <tenant id> <start at unix time>``.

It joins the pytest run's (committed) test database, waits for the common start time
and calls ensure_valid_token; prints the access token it got (or ERROR kind)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ["DJANGO_SETTINGS_MODULE"] = "architect_studio.settings.test"

from django.conf import settings  # noqa: E402

db_name, integration_id, tenant_id, start_at = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
for alias in settings.DATABASES.values():
    alias["NAME"] = db_name
import django  # noqa: E402

django.setup()
from integrations.tokens import TokenUnavailable, ensure_valid_token  # noqa: E402

time.sleep(max(0.0, start_at - time.time()))
try:
    print(ensure_valid_token(integration_id=integration_id, tenant_id=tenant_id))
except TokenUnavailable as exc:
    print(f"ERROR {exc.kind}")
