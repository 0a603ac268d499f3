"""Database roles.

Three aliases point at the same PostgreSQL database:

* `default` — the runtime role (neither owner nor superuser, no BYPASSRLS, so
  forced row-level security applies to it): every request, task and consumer;
* `operator` — the operator role (BYPASSRLS, owns nothing, no superuser): the
  cross-tenant path, reached only through core.tenant_context.operator_scope
  (the router below sends the ORM there inside that block);
* `owner` — the schema owner, present only in `migrate` (env.OWNER_COMMANDS).

After each migrate the runtime and operator roles are granted DML on every table.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connections

log = logging.getLogger(__name__)


def has_owner_alias() -> bool:
    return "owner" in settings.DATABASES


def migration_alias() -> str:
    return "owner" if has_owner_alias() else "default"


def is_postgres(alias: str = "default") -> bool:
    return connections[alias].vendor == "postgresql"


class RoleRouter:
    """Migrations only on the owner alias; queries on `default`, or on `operator`
    inside an operator scope (core.tenant_context.operator_scope)."""

    def db_for_read(self, model, **hints):
        from core.tenant_context import active_operator_alias

        return active_operator_alias() or "default"

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if has_owner_alias():
            return db == "owner"
        return None


def runtime_role_name() -> str | None:
    if not has_owner_alias():
        return None
    return settings.DATABASES["default"].get("USER") or None


def operator_role_name() -> str | None:
    if not has_owner_alias() or "operator" not in settings.DATABASES:
        return None
    return settings.DATABASES["operator"].get("USER") or None


def grant_runtime_role(sender=None, using: str = "default", **kwargs) -> None:
    """Give the runtime and operator roles DML (never TRUNCATE, which skips RLS) on every table."""
    if using != "owner" or not is_postgres(using):
        return
    roles = tuple(r for r in (runtime_role_name(), operator_role_name()) if r)
    if not roles:
        return
    if getattr(grant_runtime_role, "_done_for", None) == (id(connections[using]), roles):
        return  # post_migrate fires once per app; one grant per migrate is enough
    with connections[using].cursor() as cursor:
        for role in roles:
            quoted = connections[using].ops.quote_name(role)
            cursor.execute(f"GRANT USAGE ON SCHEMA public TO {quoted}")
            cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}")
            cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
            cursor.execute(
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {quoted}"
            )
            cursor.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {quoted}")
    grant_runtime_role._done_for = (id(connections[using]), roles)
    log.info("granted %s DML on all tables", " and ".join(roles))


def ids_where(column: str, ids) -> tuple[str, list]:
    """``column`` IN ``ids`` as (SQL, params) for raw queries on hot paths.

    On PostgreSQL one ``uuid[]`` literal parameter (``= ANY(%s::uuid[])``): psycopg
    then quotes one string instead of every element — measurable when a batch
    carries hundreds of ids. Elsewhere a plain ``IN (%s, …)``.
    """
    ids = [str(i) for i in ids]
    if is_postgres():
        return f"{column} = ANY(%s::uuid[])", ["{" + ",".join(ids) + "}"]
    if not ids:
        return "1 = 0", []
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", [i.replace("-", "") for i in ids]
