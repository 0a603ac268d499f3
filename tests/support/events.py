"""One listener for what a tenant's browsers would hear on /ws/events.

``TenantEvents(tenant_id)`` joins the tenant's group on the real channel layer (Redis
in tests, as in production) and keeps receiving on one event loop in a thread of its
own — channels-redis binds a channel's receive buffer to a loop, so receiving from a
fresh loop per call would lose or refuse messages. Tests read what arrived with
``collect(n)`` or ``wait_for(type)``; both fail loudly with what did arrive.

Use the ``tenant_events`` fixture (closes its listeners after the test)::

    def test_x(alice, tenant_events):
        events = tenant_events(alice.tenant.id)   # subscribed when this returns
        ...                                       # something that publishes after commit
        assert events.wait_for("integration.connected")["data"] == {...}
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers, get_channel_layer

from core.realtime import tenant_group


class TenantEvents:
    """Messages published to one tenant (``{"type", "data", "timestamp"}``), in order."""

    def __init__(self, tenant_id, *, ready_timeout: float = 10.0):
        shared = get_channel_layer()
        assert shared is not None, "no channel layer configured"
        # channels-redis: an instance of our own (its receive state is per instance and per
        # loop); the in-memory layer must be the shared instance to see anything at all.
        redis = shared.__class__.__module__.startswith("channels_redis")
        self.layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER) if redis else shared
        self.group = tenant_group(tenant_id)
        self.seen: list[dict] = []
        self._inbox: queue.Queue = queue.Queue()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task | None = None
        self._thread = threading.Thread(target=self._run, name=f"events-{self.group}", daemon=True)
        self._thread.start()
        if not self._ready.wait(ready_timeout):
            raise AssertionError(f"the event listener did not join {self.group} within {ready_timeout}s")
        if self._error is not None:
            raise AssertionError(f"the event listener could not join {self.group}: {self._error!r}")

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._task = self._loop.create_task(self._listen())
        try:
            self._loop.run_until_complete(self._task)
        except (asyncio.CancelledError, Exception):  # noqa: BLE001 - close() cancels; errors go to _error
            pass
        finally:
            self._loop.close()

    async def _listen(self) -> None:
        try:
            self.channel = await self.layer.new_channel()
            await self.layer.group_add(self.group, self.channel)
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            raise
        self._ready.set()
        try:
            while True:
                message = await self.layer.receive(self.channel)
                self._inbox.put(message["message"])
        finally:
            try:
                await self.layer.group_discard(self.group, self.channel)
                if hasattr(self.layer, "close_pools"):
                    await self.layer.close_pools()
            except Exception:  # noqa: BLE001,S110 - best effort cleanup of a test listener
                pass

    def close(self) -> None:
        if self._task is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)

    # ------------------------------------------------------------------ reading
    def _next(self, deadline: float, waiting_for: str) -> dict:
        try:
            message = self._inbox.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(
                f"{waiting_for} not published to {self.group} in time; got {[m['type'] for m in self.seen]}"
            ) from None
        self.seen.append(message)
        return message

    def collect(self, count: int, timeout: float = 10.0) -> list[dict]:
        """The next ``count`` messages, in the order they were published."""
        deadline = time.monotonic() + timeout
        return [self._next(deadline, f"message {i + 1} of {count}") for i in range(count)]

    def wait_for(self, event_type: str, timeout: float = 10.0) -> dict:
        """The next message of ``event_type`` (others received meanwhile stay in ``seen``)."""
        deadline = time.monotonic() + timeout
        while True:
            message = self._next(deadline, repr(event_type))
            if message["type"] == event_type:
                return message


@pytest.fixture
def tenant_events() -> Iterator[Callable[..., TenantEvents]]:
    """``tenant_events(tenant_id)`` → a subscribed :class:`TenantEvents`, closed after the test."""
    listeners: list[TenantEvents] = []

    def listen(tenant_id, **kwargs) -> TenantEvents:
        listener = TenantEvents(tenant_id, **kwargs)
        listeners.append(listener)
        return listener

    yield listen
    for listener in listeners:
        listener.close()
