"""Database roles.

Two aliases point at the same PostgreSQL database: `default` logs in as the
runtime role (neither owner nor superuser, no BYPASSRLS, so forced row-level
security applies to it), `owner` as the schema owner. Only migrations run as
the owner; after each migrate the runtime role is granted DML on every table.
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


class OwnerMigrationsRouter:
    """Migrations only on the owner alias; all queries on `default`."""

    def db_for_read(self, model, **hints):
        return None

    def db_for_write(self, model, **hints):
        return None

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


def grant_runtime_role(sender=None, using: str = "default", **kwargs) -> None:
    """Give the runtime role DML (never TRUNCATE, which skips RLS) on every table."""
    if using != "owner" or not is_postgres(using):
        return
    role = runtime_role_name()
    if not role:
        return
    if getattr(grant_runtime_role, "_done_for", None) == (id(connections[using]), role):
        return  # post_migrate fires once per app; one grant per migrate is enough
    with connections[using].cursor() as cursor:
        quoted = connections[using].ops.quote_name(role)
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {quoted}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
        cursor.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {quoted}"
        )
        cursor.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {quoted}")
    grant_runtime_role._done_for = (id(connections[using]), role)
    log.info("granted runtime role %s DML on all tables", role)


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
