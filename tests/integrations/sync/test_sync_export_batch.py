"""integrations.sync.export_batch: the export's batch calls -- grouped by container, cut at the
adapter's ``push_batch_max``, a call that raises is every one of its items' result, an answer of
the wrong length never guessed around, chunks made only as they are asked for."""

from __future__ import annotations

from integrations.providers.adapter import BatchItem, ProviderAdapter, RemoteChange, RetryLater
from integrations.providers.catalog import get_provider
from integrations.sync import export_batch


class Batching(ProviderAdapter):
    push_batch_max = 2

    def __init__(self, *, fail_on: str | None = None, short: bool = False) -> None:
        super().__init__(get_provider("hubspot"))
        self.calls: list[tuple[str, list[str]]] = []
        self.fail_on, self.short = fail_on, short

    def push_batch(self, client, *, container, items):
        self.calls.append((container, [i.hub_id for i in items]))
        if self.fail_on in {i.hub_id for i in items}:
            raise RetryLater("429", retry_after=30)
        results = [RemoteChange(remote_id=f"r-{i.hub_id}", deleted=False) for i in items]
        return results[:-1] if self.short else results


def work(*pairs: tuple[str, str]) -> list[tuple[str, BatchItem]]:
    return [(container, BatchItem(record={}, hub_id=hub_id)) for container, hub_id in pairs]


def test_items_are_grouped_by_container_and_cut_at_the_adapters_maximum():
    adapter = Batching()
    items = work(("a", "1"), ("b", "2"), ("a", "3"), ("a", "4"), ("b", "5"))

    got = list(export_batch.pushes(adapter, None, items))

    assert adapter.calls == [("a", ["1", "3"]), ("a", ["4"]), ("b", ["2", "5"])]
    assert [(chunk, [r.remote_id for r in results]) for chunk, results in got] == [
        ([0, 2], ["r-1", "r-3"]), ([3], ["r-4"]), ([1, 4], ["r-2", "r-5"])]


def test_a_call_that_raises_is_the_result_of_each_of_its_items_only():
    adapter = Batching(fail_on="3")

    got = {tuple(chunk): results
           for chunk, results in export_batch.pushes(adapter, None, work(("a", "1"), ("a", "2"), ("a", "3")))}

    assert [r.remote_id for r in got[(0, 1)]] == ["r-1", "r-2"]
    [refused] = got[(2,)]
    assert isinstance(refused, RetryLater) and refused.retry_after == 30


def test_an_answer_of_the_wrong_length_fails_every_item_of_the_call():
    got = list(export_batch.pushes(Batching(short=True), None, work(("a", "1"), ("a", "2"))))

    [(chunk, results)] = got
    assert chunk == [0, 1] and all(isinstance(r, RuntimeError) for r in results) and len(results) == 2


def test_chunks_are_sent_only_as_they_are_asked_for():
    adapter = Batching()
    pushes = export_batch.pushes(adapter, None, work(("a", "1"), ("a", "2"), ("a", "3")))

    next(pushes)  # the exporter stops here after refused credentials

    assert adapter.calls == [("a", ["1", "2"])]


def test_an_adapter_without_batch_writes_is_never_asked_to_batch():
    assert not ProviderAdapter(get_provider("hubspot")).batches_writes
    storage = Batching()
    storage.carries_files = True
    assert Batching().batches_writes and not storage.batches_writes
