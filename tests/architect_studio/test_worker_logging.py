"""An in-process test worker must not change the logging of the tests that run after it.

Celery's worker start runs our ``setup_logging`` receiver (``dictConfig`` at the worker's
level, ``error`` for the testing worker): without ``in_process_worker`` putting the state
back, a later test's WARNING records never reach ``caplog`` (seen: the webhook-loop test's
"dropped" line, when tests/entities/test_outbox.py ran before it on the same xdist worker).
"""

from __future__ import annotations

import logging

import pytest

from tests.support.worker import in_process_worker


@pytest.mark.django_db(transaction=True)
def test_an_in_process_worker_leaves_the_process_logging_as_it_found_it(caplog):
    from architect_studio.celery import app

    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    with in_process_worker(app):
        pass
    assert (root.level, list(root.handlers)) == before
    logging.getLogger("architect_studio.webhooks.incoming").warning("still heard after the worker")
    assert "still heard after the worker" in caplog.text
