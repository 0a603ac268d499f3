"""Production guardrails: with ``DJANGO_ENV=production`` a process refuses to start
when it is configured unsafely.

Run by every process that sets Django up — web, worker, beat, management
commands (CoreConfig.ready) — and reported by ``manage.py check --deploy`` as
errors. Each problem names its fix; all are reported at once.

Refused: the development secret key (or a short one), the embedded SQLite mode,
no INTEGRATION_ENCRYPTION_KEY (or one that does not parse), a runtime role
(DATABASE_URL's user) that is a superuser, bypasses RLS, owns the tables or is a
member of a role that does, and an operator role (DATABASE_OPERATOR_URL) that
cannot bypass RLS (cross-tenant sweeps would silently see nothing).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MIN_SECRET_KEY_LENGTH = 32
MIN_METRICS_TOKEN_LENGTH = 24

#: Roles the runtime role is or inherits from that are superusers, bypass RLS or
#: own a table of the schema (an owner can drop policies and disable RLS).
ROLE_QUERY = """
SELECT current_user,
       coalesce((SELECT array_agg(r.rolname ORDER BY r.rolname) FROM pg_roles r
                 WHERE r.rolsuper AND pg_has_role(current_user, r.oid, 'MEMBER')), '{}'),
       coalesce((SELECT array_agg(r.rolname ORDER BY r.rolname) FROM pg_roles r
                 WHERE r.rolbypassrls AND pg_has_role(current_user, r.oid, 'MEMBER')), '{}'),
       (SELECT count(*) FROM pg_tables t
        WHERE t.schemaname = current_schema() AND pg_has_role(current_user, t.tableowner, 'MEMBER'))
"""


def is_production() -> bool:
    return bool(settings.PRODUCTION)


def configuration_problems() -> list[str]:
    """What is wrong without asking the database."""
    problems = []
    secret = settings.SECRET_KEY or ""
    if secret == settings.INSECURE_DEFAULT_SECRET_KEY or len(secret) < MIN_SECRET_KEY_LENGTH:
        problems.append(
            f"DJANGO_SECRET_KEY is unset, the development default or shorter than {MIN_SECRET_KEY_LENGTH} characters:"
            " set it to a long random value (python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    if settings.DEBUG:
        problems.append("DJANGO_DEBUG is on: unset it (or set DJANGO_DEBUG=0) in production.")
    if settings.MODE.embedded_db:
        problems.append(
            "no PostgreSQL: the embedded SQLite mode (ARCHITECT_EMBEDDED, or no DATABASE_URL) has no row-level"
            " security; set DATABASE_URL to the runtime role and DATABASE_OPERATOR_URL to the operator role."
        )
    token = (getattr(settings, "METRICS_TOKEN", "") or "").strip()
    if token and len(token) < MIN_METRICS_TOKEN_LENGTH:
        problems.append(
            f"METRICS_TOKEN is shorter than {MIN_METRICS_TOKEN_LENGTH} characters: /metrics would be guessable;"
            " set a long random value (python -c 'import secrets; print(secrets.token_urlsafe(32))')."
        )
    problems.extend(_encryption_key_problems())
    return problems


def _encryption_key_problems() -> list[str]:
    from core.crypto import parse_key

    spec = settings.INTEGRATION_ENCRYPTION_KEY
    if not spec:
        return ["INTEGRATION_ENCRYPTION_KEY is not set: set it to '<kid>:<base64 of 32 random bytes>'"
                " (secrets are encrypted with it)."]
    try:
        parse_key(spec)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the same advice
        return [f"INTEGRATION_ENCRYPTION_KEY does not parse ({type(exc).__name__}): expected"
                " '<kid>:<base64 of 32 bytes>'."]
    return []


def _connect(alias: str):
    """A short-lived psycopg connection outside Django's (no query during app loading)."""
    import psycopg

    s = settings.DATABASES[alias]
    options = {k: v for k, v in (s.get("OPTIONS") or {}).items() if k not in ("pool", "server_side_binding")}
    params = {"dbname": s.get("NAME"), "user": s.get("USER") or None, "password": s.get("PASSWORD") or None,
              "host": s.get("HOST") or None, "port": s.get("PORT") or None, "connect_timeout": 5, **options}
    return psycopg.connect(**{k: v for k, v in params.items() if v not in (None, "")}, autocommit=True)


def role_problems() -> list[str]:
    """What is wrong with the database roles (asks PostgreSQL)."""
    if settings.MODE.embedded_db:
        return []
    problems = []
    with _connect("default") as conn:
        user, supers, bypassers, owned = conn.execute(ROLE_QUERY).fetchone()
    if supers:
        problems.append(f"the runtime role {user} is (or is a member of) a superuser ({', '.join(supers)}):"
                        " set DATABASE_URL to a NOSUPERUSER role.")
    if bypassers:
        problems.append(f"the runtime role {user} has (or inherits) BYPASSRLS ({', '.join(bypassers)}):"
                        " row-level security would not apply; set DATABASE_URL to a NOBYPASSRLS role.")
    if owned:
        problems.append(f"the runtime role {user} owns {owned} table(s) (or is a member of their owner): an owner"
                        " can drop the policies; give DATABASE_URL a role that owns nothing and keep the owner"
                        " (DATABASE_ADMIN_URL) for migrate only.")
    if "operator" not in settings.DATABASES:
        problems.append("no operator role: set DATABASE_OPERATOR_URL (a BYPASSRLS role that owns nothing).")
        return problems
    try:
        with _connect("operator") as conn:
            op_user, op_supers, op_bypass, op_owned = conn.execute(ROLE_QUERY).fetchone()
    except Exception as exc:  # noqa: BLE001 - the runtime role just logged in: the database is up
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        problems.append(f"cannot log in as the operator role (DATABASE_OPERATOR_URL): {first_line}; create it"
                        " (CREATE ROLE architect_operator LOGIN PASSWORD '...' BYPASSRLS NOSUPERUSER) and run"
                        " migrate to grant it, or set DATABASE_OPERATOR_URL.")
        return problems
    if op_user == user:
        problems.append("DATABASE_OPERATOR_URL logs in as the runtime role: give it its own BYPASSRLS role.")
    elif not op_bypass:
        problems.append(f"the operator role {op_user} lacks BYPASSRLS: cross-tenant sweeps and the admin would see"
                        f" nothing; ALTER ROLE {op_user} BYPASSRLS.")
    if op_supers or op_owned:
        problems.append(f"the operator role {op_user} is a superuser or owns tables: it needs BYPASSRLS and DML only.")
    return problems


def enforce() -> None:
    """Refuse to start (ImproperlyConfigured) when in production and anything is wrong."""
    if not is_production():
        return
    problems = configuration_problems() + role_problems()
    if problems:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production: the hub refuses to start:\n" + "\n".join(f"  - {p}" for p in problems)
        )


def deploy_check(app_configs=None, **kwargs):
    """``manage.py check --deploy``: the same problems as errors."""
    from django.core.checks import Error

    problems = configuration_problems()
    try:
        problems += role_problems()
    except Exception as exc:  # noqa: BLE001 - unreachable database: say so, do not crash the check
        problems.append(f"cannot check the database roles: {type(exc).__name__}")
    return [Error(p, id=f"hub.E{i:03d}") for i, p in enumerate(problems, start=1)]
