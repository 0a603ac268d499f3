"""Log records that say which tenant, request, delivery or sync run they belong to.

``log_context(**ids)`` binds ids for the code below it (a contextvar, so a
thread or task sees only its own); ``ContextFilter`` copies them, and the
tenant of ``core.tenant_context``, onto every record; ``JsonFormatter`` writes
one JSON object per line (``LOG_FORMAT=json``) for log pipelines, the plain
formatter appends the ids as ``key=value``. The configuration itself is built
by ``architect_studio.logconfig``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import Iterator
from contextvars import ContextVar

#: The ids a record may carry, in the order the plain format prints them.
CONTEXT_FIELDS = ("tenant_id", "request_id", "delivery_id", "sync_run_id", "task_id")

_context: ContextVar[tuple[tuple[str, str], ...]] = ContextVar("log_context", default=())


@contextlib.contextmanager
def log_context(**ids: object) -> Iterator[None]:
    """Bind ids (``request_id=…``, ``delivery_id=…``) to the log records of the block."""
    merged = {**dict(_context.get()), **{k: str(v) for k, v in ids.items() if v is not None}}
    token = _context.set(tuple(merged.items()))
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Puts the bound ids (and the RLS tenant) on the record; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        bound = dict(_context.get())
        for name in CONTEXT_FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, bound.get(name))
        if record.tenant_id is None:
            from core.tenant_context import current_tenant_id

            tenant = current_tenant_id()
            record.tenant_id = str(tenant) if tenant else None
        return True


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = " ".join(f"{name}={getattr(record, name)}" for name in CONTEXT_FIELDS if getattr(record, name, None))
        return f"{text} [{ids}]" if ids else text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ids, the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value:
                entry[_camel(name)] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)
