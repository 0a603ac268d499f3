"""Production guardrails (issue 10 item 10): with DJANGO_ENV=production a process
refuses to start when it is configured unsafely, and the owner credentials reach
`migrate` only. Each case starts a real process with the environment it names."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.db import connections

from tests.support.paths import ROOT

pytestmark = pytest.mark.django_db

REPO = ROOT
GOOD_SECRET = "x7Kq2-production-grade-secret-key-for-the-guardrail-tests-0123456789"
GOOD_KEY = "k1:" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
PROBE = (
    "import json, os, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'aliases': sorted(s.DATABASES), 'adminUrlInEnv': 'DATABASE_ADMIN_URL' in os.environ, "
    "'sessionSecure': s.SESSION_COOKIE_SECURE, 'csrfSecure': s.CSRF_COOKIE_SECURE, "
    "'hsts': s.SECURE_HSTS_SECONDS, 'proxyHeader': s.SECURE_PROXY_SSL_HEADER, "
    "'ownerUser': s.DATABASES.get('owner', {}).get('USER')}))"
)


def _url(role: str) -> str:
    s = connections["default"].settings_dict
    return f"postgres://{role}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _runtime_role() -> str:
    return connections["default"].settings_dict["USER"]


def _env(**overrides: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "DATABASE_", "INTEGRATION_", "SECURE_", "ARCHITECT_", "PYTEST"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "architect_studio.settings.dev",
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": GOOD_SECRET,
        "INTEGRATION_ENCRYPTION_KEY": GOOD_KEY,
        "PUBLIC_BASE_URL": "https://hub.example.com",
        "DATABASE_URL": _url(_runtime_role()),
    })
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _start(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    argv = list(args) or ["-c", PROBE]
    return subprocess.run([sys.executable, *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def _refused(proc: subprocess.CompletedProcess, *needles: str) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "ImproperlyConfigured" in out or "refuses to start" in out, out
    for needle in needles:
        assert needle in out, out
    return out


def test_a_well_configured_production_process_starts_with_secure_cookies():
    proc = _start(_env(SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto"))
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["sessionSecure"] is True and seen["csrfSecure"] is True
    assert seen["hsts"] >= 31536000
    assert seen["proxyHeader"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_proxy_ssl_header_is_off_unless_asked():
    proc = _start(_env())
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["proxyHeader"] is None


@pytest.mark.parametrize("secret", [None, "dev-insecure-secret-key-change-me", "short"])
def test_refuses_the_default_or_a_weak_secret_key(secret):
    _refused(_start(_env(DJANGO_SECRET_KEY=secret)), "DJANGO_SECRET_KEY")


def test_refuses_the_embedded_sqlite_mode():
    _refused(_start(_env(ARCHITECT_EMBEDDED="1")), "PostgreSQL", "DATABASE_URL")


def test_refuses_without_an_encryption_key():
    _refused(_start(_env(INTEGRATION_ENCRYPTION_KEY=None)), "INTEGRATION_ENCRYPTION_KEY")


def test_refuses_a_runtime_role_that_owns_the_tables():
    owner = connections["owner"].settings_dict["USER"]
    _refused(_start(_env(DATABASE_URL=_url(owner))), owner, "owns")


def test_refuses_a_superuser_runtime_role():
    _refused(_start(_env(DATABASE_URL=_url("postgres"))), "superuser")


def test_refuses_a_bypassrls_runtime_role():
    operator = connections["operator"].settings_dict["USER"]
    _refused(_start(_env(DATABASE_URL=_url(operator))), "BYPASSRLS")


def test_worker_refuses_too():
    env = _env(DJANGO_SECRET_KEY=None, REDIS_URL="redis://127.0.0.1:1/0")  # never reached: refused first
    proc = _start(env, "-m", "celery", "-A", "architect_studio", "worker", "-P", "solo", "--without-mingle",
                  "--without-gossip", "--without-heartbeat")
    _refused(proc, "DJANGO_SECRET_KEY")


def test_check_deploy_names_the_fix():
    proc = _start(_env(DJANGO_SECRET_KEY=None), "manage.py", "check", "--deploy")
    _refused(proc, "DJANGO_SECRET_KEY")


def test_refusal_lists_every_problem_at_once():
    out = _refused(_start(_env(DJANGO_SECRET_KEY=None, INTEGRATION_ENCRYPTION_KEY=None)))
    assert "DJANGO_SECRET_KEY" in out and "INTEGRATION_ENCRYPTION_KEY" in out


# ------------------------------------------------------------------ owner URL: migrate only


def _owner_env(**extra: str) -> dict[str, str]:
    owner = connections["owner"].settings_dict["USER"]
    return _env(DJANGO_ENV=None, DATABASE_ADMIN_URL=_url(owner), **extra)


def test_a_web_process_has_no_owner_credentials():
    """The web, worker and beat processes get DATABASE_ADMIN_URL in their environment
    (docker-compose, a PaaS): settings keep no `owner` alias and the variable is dropped."""
    proc = _start(_owner_env())
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "owner" not in seen["aliases"] and seen["ownerUser"] is None
    assert seen["adminUrlInEnv"] is False
    assert seen["aliases"] == ["default", "operator"]


def test_migrate_gets_the_owner_alias():
    probe = "import sys; sys.argv = ['manage.py', 'migrate']; " + PROBE
    proc = _start(_owner_env(), "-c", probe)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["ownerUser"] == connections["owner"].settings_dict["USER"]


def test_migrate_plan_runs_as_the_owner():
    proc = _start(_owner_env(), "manage.py", "migrate", "--plan")
    assert proc.returncode == 0, proc.stderr
    assert "No planned migration operations" in proc.stdout, proc.stdout


def test_refuses_an_operator_role_that_cannot_log_in():
    _refused(_start(_env(DATABASE_OPERATOR_URL=_url("architect_no_such_role"))), "DATABASE_OPERATOR_URL")


def test_refuses_an_operator_url_that_is_the_runtime_role():
    _refused(_start(_env(DATABASE_OPERATOR_URL=_url(_runtime_role()))), "DATABASE_OPERATOR_URL")


def test_check_deploy_reports_the_same_problems_outside_production():
    """Before flipping DJANGO_ENV, `check --deploy` shows what production would refuse."""
    proc = _start(_env(DJANGO_ENV=None, DJANGO_SECRET_KEY=None), "manage.py", "check", "--deploy")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "hub.E001" in out and "DJANGO_SECRET_KEY" in out, out
    good = _start(_env(DJANGO_ENV=None, SECURE_PROXY_SSL_HEADER="1"), "manage.py", "check", "--deploy")
    assert "hub.E" not in good.stdout + good.stderr
