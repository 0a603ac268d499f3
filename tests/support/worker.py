"""A real Celery worker in a thread of the test process, that leaves logging as it found it.

``celery.contrib.testing.worker.start_worker`` sets up the worker's logging, which runs our
``setup_logging`` receiver (architect_studio.celery): ``dictConfig`` with the worker's level
(``error`` by default) on the root logger. In a test process that outlives the worker, every
later test would then lose its WARNING records (``caplog`` sees nothing), depending on which
module ran before it on the same xdist worker. ``in_process_worker`` puts back every
logger's level, handlers, propagation and disabled flag when the worker stops.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from celery.contrib.testing.worker import start_worker


def _logging_state() -> dict[str, tuple]:
    loggers = {"": logging.getLogger()}
    loggers.update({name: item for name, item in logging.root.manager.loggerDict.items()
                    if isinstance(item, logging.Logger)})
    return {name: (lg, lg.level, list(lg.handlers), lg.propagate, lg.disabled) for name, lg in loggers.items()}


def _restore(state: dict[str, tuple]) -> None:
    for lg, level, handlers, propagate, disabled in state.values():
        lg.setLevel(level)
        lg.handlers[:] = handlers
        lg.propagate, lg.disabled = propagate, disabled


@contextmanager
def in_process_worker(app, **options) -> Iterator:
    """``start_worker(app, pool="threads", concurrency=2, ...)`` with ``options`` on top."""
    state = _logging_state()
    options = {"pool": "threads", "concurrency": 2, "perform_ping_check": False, "shutdown_timeout": 10, **options}
    try:
        with start_worker(app, **options) as worker:
            yield worker
    finally:
        _restore(state)
