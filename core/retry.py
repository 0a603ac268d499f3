"""The retry policy: pure functions for "how long until the next try".

Every retry schedule of the hub is built from these (issue 12 item 4):

* :func:`linear` -- the seed's rule (C8): ``retryDelaySeconds × k`` after
  attempt ``k`` (outgoing webhooks with ``linear``, incoming ``forward`` actions);
* :func:`exponential` -- ``base × 2^(k-1)`` capped (the outbox, token refresh,
  the provider client);
* :func:`scheduled` -- a fixed table, its last step repeated (the Svix /
  Standard Webhooks schedule of outgoing webhooks);
* :func:`full_jitter` / :func:`spread` -- randomness so clients that failed
  together do not retry together;
* :func:`parse_retry_after` / :func:`retry_after_header` -- the ``Retry-After``
  header, seconds or an HTTP date, never negative.

No I/O, no settings, no Django: callers pass their numbers and keep their own
units (seconds here; wrap in ``timedelta`` where a caller wants one).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import re
from collections.abc import Mapping, Sequence

_SECONDS = re.compile(r"\d+(\.\d+)?")


def linear(step_seconds: float, attempt: int) -> float:
    """``step_seconds × attempt`` -- the seed's rule, exactly (attempt is 1-based)."""
    return float(step_seconds * attempt)


def exponential(attempt: int, *, base: float, cap: float) -> float:
    """``base × 2^(attempt-1)``, at most ``cap`` (attempt is 1-based; 0 or less counts as 1)."""
    return min(cap, base * 2 ** max(attempt - 1, 0))


def scheduled(attempt: int, schedule: Sequence[float]) -> float:
    """Step ``attempt`` (1-based) of a fixed schedule; past its end, its last step."""
    return float(schedule[min(max(attempt, 1), len(schedule)) - 1])


def full_jitter(delay: float) -> float:
    """Uniform in ``[0, delay]`` ("full jitter", AWS architecture blog)."""
    return random.uniform(0, delay)  # noqa: S311 - jitter, not crypto


def spread(delay: float, fraction: float) -> float:
    """``delay`` ± ``fraction`` (uniform), e.g. ``spread(300, 0.2)`` is in [240, 360]."""
    return delay * random.uniform(1 - fraction, 1 + fraction)  # noqa: S311 - jitter, not crypto


def retry_after_header(headers: Mapping[str, str]) -> str | None:
    """The ``Retry-After`` value of a plain (case-sensitive) header dict, matched case-insensitively."""
    return next((v for k, v in headers.items() if k.lower() == "retry-after"), None)


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds asked for by a ``Retry-After`` value, or ``None`` when absent or unreadable.

    Accepts delay-seconds (``"120"``, also ``"1.5"``) or an HTTP date (RFC 9110
    §10.2.3); a date in the past gives 0. A negative number is unreadable.
    Bounding it (ignore above N, clamp to a window) is the caller's choice.
    """
    if not value:
        return None
    raw = value.strip()
    if _SECONDS.fullmatch(raw):
        return float(raw)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def honour_retry_after(delay: float, retry_after: float | None, *, ceiling: float) -> float:
    """The planned ``delay``, lengthened to ``retry_after`` when asked, but never beyond ``ceiling``."""
    if retry_after is None:
        return delay
    return min(max(retry_after, delay), ceiling)
