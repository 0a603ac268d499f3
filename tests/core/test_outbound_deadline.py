"""Every outbound request has a wall-clock deadline (issue 10 item 3).

A receiver that drips one byte per second never lets a per-read timeout fire,
so before the deadline existed such a receiver held a sender thread for ever.
Each call here runs in a thread joined with a generous bound, so a missing
deadline makes the test fail instead of hanging the suite.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from core import outbound
from tests.support.slow_receivers import DripServer
from tests.support.waiting import wait_until

MARGIN = 1.0  # seconds allowed past a deadline (thread scheduling on a loaded 2-core box)


def _bounded(fn: Callable[[], Any], *, limit: float) -> tuple[Any, float]:
    """Run ``fn`` in a thread; fail (not hang) when it outlives ``limit`` seconds."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    elapsed = time.monotonic() - started
    assert not thread.is_alive(), f"still blocked after {elapsed:.1f}s: no wall-clock deadline"
    if "error" in box:
        raise box["error"]
    return box.get("value"), elapsed


def _raising(fn: Callable[[], Any], *, limit: float) -> tuple[BaseException, float]:
    """Like :func:`_bounded` for a call that must raise: (the exception, seconds taken)."""
    started = time.monotonic()
    try:
        _bounded(fn, limit=limit)
    except AssertionError:
        raise
    except BaseException as exc:  # noqa: BLE001 - the test inspects it
        return exc, time.monotonic() - started
    raise AssertionError("did not raise")


def _post(url: str, timeout: float) -> outbound.OutboundResult:
    return outbound.send(method="POST", url=url, headers={"Content-Type": "application/json"}, body=b"{}",
                         timeout=timeout, allow_private=True)


# --------------------------------------------------------------------------- core.outbound.send


def test_body_dripping_one_byte_per_second_is_cut_at_the_deadline() -> None:
    # given: a receiver that sends its headers, then one byte per second for ever
    with DripServer(interval=1.0) as server:
        # when
        result, elapsed = _bounded(lambda: _post(server.url + "/hook", timeout=2), limit=15)
        # then: a failed attempt (timeout), within the deadline plus a small margin
        assert result.error_kind == "timeout"
        assert result.error == "timeout after 2s"
        assert result.ok is False
        assert elapsed < 2 + MARGIN
        assert 1900 <= result.duration_ms < (2 + MARGIN) * 1000


def test_headers_dripping_is_cut_at_the_deadline() -> None:
    # given: the status line, then a header byte every 0.3 s (never a blank line)
    with DripServer(head=b"HTTP/1.1 200 OK\r\nX-Slow: ", interval=0.3, drip=b"a") as server:
        # when
        result, elapsed = _bounded(lambda: _post(server.url, timeout=1.5), limit=15)
        # then
        assert (result.ok, result.error_kind, result.error) == (False, "timeout", "timeout after 1.5s")
        assert elapsed < 1.5 + MARGIN


def test_the_deadline_closes_the_socket_the_receiver_sees_the_hang_up() -> None:
    # given
    with DripServer(interval=0.2) as server:
        # when
        _bounded(lambda: _post(server.url, timeout=1), limit=15)
        wait_until(lambda: server.closed_after, 15, 0.05, "the receiver to see the connection closed")
        # then: the connection was closed by us at the deadline, not left open
        assert len(server.closed_after) == 1
        assert server.closed_after[0] < 1 + MARGIN


def test_a_keep_alive_connection_after_a_deadline_still_works(tmp_path) -> None:
    # given: one request cut by its deadline, then a normal receiver on another port
    from tests.support.receiver import Plan, Receiver

    with DripServer(interval=0.2) as slow, Receiver(default=Plan(status=200, body=b'{"ok": true}')) as fast:
        first, _ = _bounded(lambda: _post(slow.url, timeout=0.5), limit=10)
        # when
        results = [_post(fast.url, timeout=2) for _ in range(3)]
    # then: the watchdog of the first request never touches later ones
    assert first.error_kind == "timeout"
    assert [r.status for r in results] == [200, 200, 200] and all(r.ok for r in results)


@pytest.fixture
def hanging_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """getaddrinfo blocks until released (the OS resolver is the boundary we cannot time out)."""
    release = threading.Event()
    real = socket.getaddrinfo

    def slow_getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".hang.test"):
            release.wait(60)
            raise socket.gaierror(socket.EAI_NONAME, "released")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    yield release
    release.set()


def test_a_hanging_dns_lookup_is_bounded_by_the_deadline(hanging_dns: threading.Event) -> None:
    # when
    result, elapsed = _bounded(lambda: _post("http://receiver.hang.test/hook", timeout=1), limit=15)
    # then
    assert result.error_kind == "timeout"
    assert "timeout after 1s" in result.error
    assert elapsed < 1 + MARGIN


def test_resolve_host_alone_is_bounded(hanging_dns: threading.Event) -> None:
    # when
    exc, elapsed = _raising(lambda: outbound.resolve_host("api.hang.test", 443, timeout=0.5), limit=10)
    # then
    assert isinstance(exc, outbound.HostResolutionError) and "timed out" in str(exc)
    assert elapsed < 0.5 + MARGIN


# --------------------------------------------------------------------------- provider client and OAuth


def _custom_api_client(base_url: str, **kwargs: Any):
    from integrations.client import Connection, ProviderClient
    from integrations.providers.catalog import get_provider

    connection = Connection(provider=get_provider("custom_api"), tenant_id="00000000-0000-0000-0000-000000000001",
                            values={"baseUrl": base_url})
    return ProviderClient(connection, max_retries=0, **kwargs)


@pytest.fixture
def limiter_on_test_redis(settings):
    settings.INTEGRATIONS_RATELIMIT_REDIS_URL = settings.CELERY_BROKER_URL


@pytest.mark.django_db
def test_provider_client_call_dripping_is_cut_at_its_deadline(limiter_on_test_redis) -> None:
    from integrations.client import ProviderError

    with DripServer(interval=1.0) as server:
        client = _custom_api_client(server.url, timeout=(1.0, 2.0))
        # when
        exc, elapsed = _raising(lambda: client.request("GET", "/items"), limit=15)
        # then
        assert isinstance(exc, ProviderError) and exc.kind == "network" and "timeout" in str(exc)
        assert elapsed < 2 + MARGIN


@pytest.mark.django_db
def test_provider_client_hanging_dns_is_bounded(limiter_on_test_redis, hanging_dns) -> None:
    from integrations.client import ProviderError

    client = _custom_api_client("http://erp.hang.test", timeout=(1.0, 1.5))
    # when
    exc, elapsed = _raising(lambda: client.request("GET", "/items"), limit=15)
    # then: an unresolvable tenant-typed origin, reported within the connect deadline
    assert isinstance(exc, ProviderError) and exc.kind == "network"
    assert elapsed < 1.0 + MARGIN


@pytest.mark.django_db
def test_provider_response_is_capped_while_reading(limiter_on_test_redis, monkeypatch) -> None:
    from integrations import client as client_module
    from integrations.client import ProviderError

    monkeypatch.setattr(client_module, "MAX_RESPONSE_BYTES", 256 * 1024)
    # given: a server that sends an endless body as fast as it can
    with DripServer(head=b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n", endless=True) as server:
        client = _custom_api_client(server.url, timeout=(2.0, 20.0))
        # when
        exc, elapsed = _raising(lambda: client.request("GET", "/export"), limit=15)
        sent = server.bytes_sent
    # then: refused as too large long before the deadline, having read about the cap
    assert isinstance(exc, ProviderError) and exc.kind == "server" and "larger than" in str(exc)
    assert elapsed < 10
    # what the server managed to push is the cap plus the kernel's socket buffers, not "everything"
    assert sent < 256 * 1024 + 32 * 1024 * 1024


@pytest.mark.django_db
def test_oauth_token_call_dripping_is_cut_at_its_deadline(monkeypatch) -> None:
    from integrations import oauth
    from integrations.oauth import OAuthFailure

    monkeypatch.setattr(oauth, "TOKEN_TIMEOUT", (1, 1.5))
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the local test server speaks http
    with DripServer(interval=1.0) as server:
        app = oauth.AppConfig(provider_id="google_drive", client_id="c", client_secret="s",
                              authorization_url=server.url + "/auth", token_url=server.url + "/token",
                              refresh_url=server.url + "/token", revoke_url=server.url + "/revoke",
                              api_base_url="", scopes=("a",), oauth=None)
        # when
        exc, elapsed = _raising(lambda: oauth.refresh(app, refresh_token="rt"), limit=15)
        revoke_status, revoke_elapsed = _bounded(lambda: oauth.revoke(app, token="t", token_type_hint="x"), limit=15)
    # then
    assert isinstance(exc, OAuthFailure) and exc.kind == "transient" and "timed out" in str(exc)
    assert elapsed < 1.5 + MARGIN
    assert revoke_status is None and revoke_elapsed < 1.5 + MARGIN


def test_webhook_deadline_is_shorter_than_the_delivery_lease() -> None:
    import datetime as dt

    from webhooks.models import OutgoingWebhook
    from webhooks.outgoing import services
    from webhooks.outgoing.serializers import OutgoingWebhookInputSerializer

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    largest = OutgoingWebhookInputSerializer().fields["timeout_seconds"].max_value
    for timeout in range(1, largest + 1):
        lease = (services._lease(OutgoingWebhook(timeout_seconds=timeout), now) - now).total_seconds()
        # the whole request (DNS, connect, send, read) ends at `timeout`; the lease outlives it
        assert lease > timeout + 1
