"""The logging configuration of every process (web, worker, beat, commands).

Quiet by default: a person running ``make run`` sees the URLs, one line per
HTTP request, one per outgoing delivery attempt, warnings and errors — not a
Celery line per task (the sweepers run every second), not beat's "sending due
task", not urllib3's pool warnings. ``LOG_LEVEL=DEBUG`` shows all of those
again; ``LOG_LEVEL=WARNING`` keeps only problems. ``LOG_FORMAT=json`` writes one
JSON object per line with the tenant and the request / delivery / sync-run ids.
"""

from __future__ import annotations

import logging

from architect_studio.env import ConfigError

#: Loggers that speak once per task, per beat tick or per pooled connection:
#: shown only when LOG_LEVEL asks for DEBUG.
CHATTY = (
    "celery.worker.strategy",  # "Task … received"
    "celery.app.trace",  # "Task … succeeded in …"
    "celery.beat",  # "Scheduler: Sending due task …"
    "celery.worker.consumer.mingle",
    "celery.worker.consumer.gossip",
    "django.db.backends",
    "httpx",
    "asyncio",
)
#: Warnings that are not a person's business: the pools' size is ours to tune.
POOL_NOISE = ("urllib3.connectionpool",)  # "Connection pool is full, discarding connection"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS = ("plain", "json")


def build(*, level: str = "INFO", fmt: str = "plain") -> dict:
    level, fmt = level.upper(), fmt.lower()
    if level not in LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LEVELS)}, got {level!r}")
    if fmt not in FORMATS:
        raise ConfigError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, got {fmt!r}")
    # The chatty loggers follow LOG_LEVEL=DEBUG, and otherwise never go below WARNING.
    quiet = level if level == "DEBUG" or logging.getLevelName(level) > logging.WARNING else "WARNING"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # Tokens, OAuth codes and states never reach a log line (core.logredact).
        "filters": {"context": {"()": "core.logs.ContextFilter"},
                    "redact_secrets": {"()": "core.logredact.RedactSecretsFilter"}},
        "formatters": {
            "plain": {"()": "core.logs.PlainFormatter", "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            "json": {"()": "core.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": fmt, "filters": ["redact_secrets", "context"]},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            **{name: {"level": quiet} for name in CHATTY},
            **{name: {"level": "DEBUG" if level == "DEBUG" else "ERROR"} for name in POOL_NOISE},
            # uvicorn/daphne install their own handlers before Django starts: clear them so
            # their lines go through ours (the format, the ids and the redaction).
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            # one line per request comes from core.middleware already
            "uvicorn.access": {"handlers": [], "level": quiet, "propagate": True},
            "daphne": {"handlers": [], "level": level, "propagate": True},
        },
    }
