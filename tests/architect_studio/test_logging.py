"""Logging: quiet by default, LOG_LEVEL raises it, LOG_FORMAT=json for pipelines,
one line per request and per delivery attempt, ids on every record."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import subprocess
import sys
import uuid

import pytest

from architect_studio.env import ConfigError
from architect_studio.logconfig import CHATTY, build
from core.logs import log_context
from core.tenant_context import tenant_scope
from tests.support.factories import create_meeting, fresh_persona
from tests.support.paths import ROOT
from tests.support.receiver import Receiver
from tests.support.waiting import wait_until
from tests.support.webhooks import create_outgoing_webhook


@pytest.fixture
def restore_logging():
    """dictConfig replaces the root's handlers: put the test run's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in (*CHATTY, "urllib3.connectionpool", "demo")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def _configure(level: str, fmt: str) -> io.StringIO:
    logging.config.dictConfig(build(level=level, fmt=fmt))
    stream = io.StringIO()
    [handler] = logging.getLogger().handlers
    handler.setStream(stream)
    return stream


def test_celery_per_task_lines_and_pool_warnings_are_hidden_at_info(restore_logging):
    stream = _configure("INFO", "plain")
    logging.getLogger("celery.app.trace").info("Task sweep succeeded in 0.01s")
    logging.getLogger("celery.beat").info("Scheduler: Sending due task sweep")
    logging.getLogger("urllib3.connectionpool").warning("Connection pool is full, discarding connection")
    logging.getLogger("celery.app.trace").error("Task sweep raised: boom")
    logging.getLogger("demo").info("Listening on http://localhost:8000")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert "Task sweep raised: boom" in lines[0] and "Listening on" in lines[1]


def test_log_level_debug_shows_them_again_and_warning_hides_info(restore_logging):
    stream = _configure("DEBUG", "plain")
    logging.getLogger("celery.app.trace").info("Task sweep succeeded")
    logging.getLogger("urllib3.connectionpool").warning("Connection pool is full")
    assert len(stream.getvalue().splitlines()) == 2

    stream = _configure("WARNING", "plain")
    logging.getLogger("demo").info("request line")
    logging.getLogger("demo").warning("a problem")
    assert stream.getvalue().count("\n") == 1 and "a problem" in stream.getvalue()


@pytest.mark.parametrize("kwargs", [{"level": "LOUD"}, {"fmt": "xml"}])
def test_a_bad_log_setting_is_refused_by_name(kwargs):
    with pytest.raises(ConfigError, match="LOG_LEVEL" if "level" in kwargs else "LOG_FORMAT"):
        build(**kwargs)


def test_json_format_gives_one_object_per_line_with_the_ids(restore_logging, db):
    stream = _configure("INFO", "json")
    tenant_id, delivery_id = uuid.uuid4(), uuid.uuid4()
    with tenant_scope(tenant_id), log_context(request_id="req-1", delivery_id=delivery_id):
        logging.getLogger("demo").warning("first\nsecond line")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("demo").exception("failed")
    logging.getLogger("demo").info("outside")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    first, failed, outside = (json.loads(line) for line in lines)
    assert first["message"] == "first\nsecond line" and first["level"] == "WARNING" and first["logger"] == "demo"
    assert (first["tenantId"], first["requestId"], first["deliveryId"]) == (str(tenant_id), "req-1", str(delivery_id))
    assert first["time"].endswith("+00:00")
    assert "ValueError: boom" in failed["exception"]
    assert "tenantId" not in outside and "requestId" not in outside


def test_plain_format_appends_the_ids(restore_logging):
    stream = _configure("INFO", "plain")
    with log_context(request_id="abc", sync_run_id="run-7"):
        logging.getLogger("demo").info("hello")
    assert stream.getvalue().rstrip().endswith("hello [request_id=abc sync_run_id=run-7]")


def test_one_line_per_request_without_the_query_and_a_request_id(client, caplog):
    caplog.set_level(logging.INFO, logger="architect_studio.requests")
    response = client.get("/healthz?token=s3cr3t-value")
    given = client.get("/healthz", HTTP_X_REQUEST_ID="trace-42")
    hostile = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nforged line")

    records = [r for r in caplog.records if r.name == "architect_studio.requests"]
    assert len(records) == 3
    assert records[0].getMessage().startswith(f"GET /healthz {response.status_code} ")
    assert "s3cr3t" not in caplog.text
    assert len(response["X-Request-ID"]) == 32 and records[0].request_id == response["X-Request-ID"]
    assert given["X-Request-ID"] == "trace-42" and records[1].request_id == "trace-42"
    assert hostile["X-Request-ID"] != "bad id\nforged line" and "forged" not in caplog.text


def test_one_line_per_delivery_attempt_with_its_ids(celery_worker_thread, caplog):
    caplog.set_level(logging.INFO, logger="architect_studio.webhooks.outgoing")
    alice = fresh_persona()
    with Receiver() as rx:
        create_outgoing_webhook(alice, rx.url)
        create_meeting(alice)
        [request] = rx.wait_for(1)
        lines = wait_until(lambda: [r for r in caplog.records if r.getMessage().startswith("delivery ")], 20, 0.1,
                           "the worker's delivery log line")
    [line] = lines
    assert line.levelno == logging.INFO
    assert line.delivery_id == request.headers["X-Webhook-Delivery"] and line.tenant_id == str(alice.tenant.id)
    assert "meeting.created attempt 1/3 to 'CRM': 200" in line.getMessage()


def test_worker_logs_through_our_configuration():
    """Celery's setup_logging is replaced: a worker process formats like web."""
    code = (
        "import logging, architect_studio.celery as c; from celery.signals import setup_logging;"
        "setup_logging.send(sender=None, loglevel='INFO', logfile=None, format='', colorize=False);"
        "logging.getLogger('celery.app.trace').info('Task x succeeded');"
        "logging.getLogger('demo').warning('visible')"
    )
    env = {"DJANGO_SETTINGS_MODULE": "architect_studio.settings.dev", "LOG_FORMAT": "json", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", "import django; django.setup();" + code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert [entry["message"] for entry in lines if entry["logger"] in ("demo", "celery.app.trace")] == ["visible"]


def test_a_request_leaves_no_tenant_behind_in_the_serving_thread(alice_api, alice):
    """The log's tenant comes from the context: one request's must not label the next lines."""
    from core.tenant_context import current_tenant_id

    assert alice_api.get("/api/meetings").status_code == 200
    assert current_tenant_id() is None


def test_the_every_second_sweeper_is_silent_at_info_and_the_admin_is_audited(transactional_db, caplog, client):
    from django.contrib.auth import get_user_model

    from webhooks.outgoing.tasks import sweep_due_deliveries

    caplog.set_level(logging.INFO)
    sweep_due_deliveries()
    assert not [r for r in caplog.records if "operator scope" in r.getMessage()]

    email = f"ops-{uuid.uuid4().hex[:8]}@example.com"
    staff = get_user_model().objects.create_user(email, email, "pw", is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200
    [audit] = [r for r in caplog.records if "operator scope: admin GET /admin/" in r.getMessage()]
    assert audit.levelno == logging.INFO and audit.getMessage().endswith(f"by {staff.pk}")


def test_the_worker_keeps_its_loglevel_option_unless_log_level_is_set():
    code = (
        "import django; django.setup(); import logging, architect_studio.celery;"
        "from celery.signals import setup_logging;"
        "setup_logging.send(sender=None, loglevel=logging.WARNING, logfile=None, format='', colorize=False);"
        "logging.getLogger('demo').info('info line'); logging.getLogger('demo').warning('warning line')"
    )
    base = {"DJANGO_SETTINGS_MODULE": "architect_studio.settings.dev", "PATH": "/usr/bin:/bin"}
    quiet = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60)
    loud = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**base, "LOG_LEVEL": "INFO"},
                          capture_output=True, text=True, timeout=60)
    assert quiet.returncode == loud.returncode == 0, quiet.stderr + loud.stderr
    assert "warning line" in quiet.stderr and "info line" not in quiet.stderr  # `celery worker -l WARNING`
    assert "info line" in loud.stderr  # LOG_LEVEL wins
