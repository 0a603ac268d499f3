"""core.retry: the one retry policy module (issue 12 item 4). Pure functions, no DB."""

from __future__ import annotations

import datetime as dt
import email.utils

from core import retry

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def test_linear_is_the_seed_rule_exactly():
    assert [retry.linear(7, k) for k in (1, 2, 3)] == [7.0, 14.0, 21.0]
    assert retry.linear(0, 5) == 0.0


def test_exponential_doubles_from_base_and_stops_at_the_cap():
    assert [retry.exponential(k, base=10, cap=3600) for k in (0, 1, 2, 3, 9, 10, 20)] == [10, 10, 20, 40, 2560, 3600, 3600]
    assert retry.exponential(3, base=0.5, cap=30.0) == 2.0


def test_scheduled_repeats_its_last_step():
    table = (5, 300, 1800)
    assert [retry.scheduled(k, table) for k in (1, 2, 3, 4, 50)] == [5.0, 300.0, 1800.0, 1800.0, 1800.0]


def test_jitter_stays_in_its_window():
    samples = [retry.full_jitter(8.0) for _ in range(500)]
    assert all(0 <= s <= 8.0 for s in samples) and max(samples) > 4 > min(samples)
    spread = [retry.spread(300, 0.2) for _ in range(500)]
    assert all(240 <= s <= 360 for s in spread) and max(spread) > 300 > min(spread)


def test_parse_retry_after_seconds_date_and_garbage():
    assert retry.parse_retry_after("120") == 120.0
    assert retry.parse_retry_after(" 7 ") == 7.0
    assert retry.parse_retry_after("1.5") == 1.5
    future = email.utils.format_datetime(NOW + dt.timedelta(seconds=30), usegmt=True)
    assert retry.parse_retry_after(future, now=NOW) == 30.0
    past = email.utils.format_datetime(NOW - dt.timedelta(hours=1), usegmt=True)
    assert retry.parse_retry_after(past, now=NOW) == 0.0
    for bad in (None, "", "soon", "-3", "1e3"):
        assert retry.parse_retry_after(bad, now=NOW) is None


def test_retry_after_header_is_found_case_insensitively():
    assert retry.retry_after_header({"retry-after": "5"}) == "5"
    assert retry.retry_after_header({"Retry-After": "6", "X": "y"}) == "6"
    assert retry.retry_after_header({"X": "y"}) is None


def test_honour_retry_after_lengthens_but_never_past_the_ceiling():
    assert retry.honour_retry_after(10, None, ceiling=20) == 10
    assert retry.honour_retry_after(10, 3, ceiling=20) == 10
    assert retry.honour_retry_after(10, 15, ceiling=20) == 15
    assert retry.honour_retry_after(10, 100000, ceiling=20) == 20
