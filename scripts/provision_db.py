"""Create the local database and its three roles, idempotently (make run / make test).

Only acts when DATABASE_URL is not set and PostgreSQL answers on localhost with
trust auth (our dev and CI machines): it connects as the `postgres` superuser and
creates

* ``architect_owner`` — owns the database and schema; `migrate` runs as it.
  CREATEDB so the test suite can create its test database.
* ``architect_app`` — the runtime role: LOGIN, NOSUPERUSER, NOBYPASSRLS, not owner.
* ``architect_operator`` — cross-tenant operator work (admin, sweepers, beat
  fan-outs; the `operator` alias): LOGIN, BYPASSRLS, NOSUPERUSER, owns nothing.
  `migrate` grants it DML like the runtime role (core.db.grant_runtime_role).

With DATABASE_URL set, provisioning is the operator's job and this does nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from architect_studio.env import (  # noqa: E402
    DEFAULT_DB_NAME,
    DEFAULT_OPERATOR_ROLE,
    DEFAULT_OWNER_ROLE,
    DEFAULT_RUNTIME_ROLE,
    detect_mode,
)


def main() -> int:
    mode = detect_mode()
    if mode.embedded_db:
        print("provision: embedded mode (SQLite) — PostgreSQL not reachable or ARCHITECT_EMBEDDED set.")
        return 0
    if not mode.provisioned_defaults:
        print("provision: DATABASE_URL is set — leaving roles and database to the operator.")
        return 0
    import psycopg
    from psycopg import sql

    superuser = os.environ.get("PROVISION_SUPERUSER", "postgres")
    try:
        conn = psycopg.connect(f"postgresql://{superuser}@127.0.0.1:5432/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        print(f"provision: cannot connect as {superuser}: {exc}".splitlines()[0], file=sys.stderr)
        return 1
    with conn:
        roles = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles").fetchall()}
        if DEFAULT_OWNER_ROLE not in roles:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS").format(sql.Identifier(DEFAULT_OWNER_ROLE)))
        if DEFAULT_RUNTIME_ROLE not in roles:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE").format(
                    sql.Identifier(DEFAULT_RUNTIME_ROLE)
                )
            )
        if DEFAULT_OPERATOR_ROLE not in roles:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE").format(
                    sql.Identifier(DEFAULT_OPERATOR_ROLE)
                )
            )
        # Whatever happened before, the runtime role must not bypass RLS; the
        # operator role bypasses it and is nothing more.
        conn.execute(sql.SQL("ALTER ROLE {} NOSUPERUSER NOBYPASSRLS").format(sql.Identifier(DEFAULT_RUNTIME_ROLE)))
        conn.execute(
            sql.SQL("ALTER ROLE {} NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE").format(
                sql.Identifier(DEFAULT_OPERATOR_ROLE)
            )
        )
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DEFAULT_DB_NAME]).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(DEFAULT_DB_NAME), sql.Identifier(DEFAULT_OWNER_ROLE))
            )
    print(f"provision: database {DEFAULT_DB_NAME}, owner {DEFAULT_OWNER_ROLE}, runtime role {DEFAULT_RUNTIME_ROLE},"
          f" operator role {DEFAULT_OPERATOR_ROLE} ready.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
