"""The one polling helper of the tests."""

from __future__ import annotations

import time


def wait_until(predicate, timeout: float, step: float = 0.2, what: str = "condition"):
    """Poll ``predicate()`` until it returns something truthy (returned); after ``timeout``
    seconds fail loudly, naming ``what`` was awaited -- never fall through silently."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)
