"""Batched export writes: the provider calls of the export's batch path (issue 16 item 3).

An adapter that declares ``push_batch_max`` (HubSpot: 100 contacts per batch upsert) takes the
creates and updates the export has decided in ``push_batch`` calls instead of one
``push_create`` / ``push_update`` each. This module only makes those calls: the items are
grouped by container (a call writes into one), cut into chunks of the adapter's maximum, and
each chunk's answer is matched back to the items, in order. Everything before (what to push)
and after (links, write-back, the run's counts and failed items) is the exporter's, the same
per row as a single push -- integrations.sync.exporter.export_batched.

A chunk whose call fails as a whole -- ``push_batch`` raises (429 not waited out, 5xx, refused
credentials) -- has that exception as the result of each of its items, as each would have met
it alone. Chunks are made lazily: the exporter stops asking after refused credentials, and the
items of chunks never sent go back to the queue untouched.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from integrations.providers.adapter import BatchItem, Caller, ProviderAdapter, RemoteChange

Result = RemoteChange | Exception


def pushes(adapter: ProviderAdapter, client: Caller,
           work: Sequence[tuple[str, BatchItem]]) -> Iterator[tuple[list[int], list[Result]]]:
    """``(container, item)`` pairs pushed in ``push_batch`` calls; yields, per call, the
    indexes into ``work`` it carried and their results (same length, same order)."""
    by_container: dict[str, list[int]] = {}
    for index, (container, _item) in enumerate(work):
        by_container.setdefault(container, []).append(index)
    size = max(1, adapter.push_batch_max)
    for container, indexes in by_container.items():
        for start in range(0, len(indexes), size):
            chunk = indexes[start:start + size]
            yield chunk, _push(adapter, client, container, [work[i][1] for i in chunk])


def _push(adapter: ProviderAdapter, client: Caller, container: str, items: list[BatchItem]) -> list[Result]:
    try:
        results = list(adapter.push_batch(client, container=container, items=items))
    except Exception as exc:  # noqa: BLE001 - the whole call failed: so did each item it carried
        return [exc] * len(items)
    if len(results) != len(items):  # an adapter bug, never guessed around: every item retried
        error = RuntimeError(f"{adapter!r}.push_batch answered {len(results)} results for {len(items)} items")
        return [error] * len(items)
    return results
