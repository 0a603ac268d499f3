"""core.drain.drain_batches: the one "batch with SKIP LOCKED, wake another when full" loop."""

from __future__ import annotations

from core.drain import drain_batches


def _queue(n: int):
    items = list(range(n))
    worked: list[list[int]] = []

    def claim(limit: int) -> list[int]:
        taken = items[:limit]
        del items[:limit]
        return taken

    return claim, worked.append, worked


def test_full_batches_wake_another_drain_and_the_loop_runs_until_empty(alice):
    claim, work, worked = _queue(7)
    wakes: list[int] = []
    assert drain_batches(str(alice.tenant.id), claim=claim, work=work, wake=lambda: wakes.append(1), batch=3) == 7
    assert worked == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(wakes) == 2  # one per full batch, none for the partial one


def test_stop_on_partial_ends_after_a_batch_that_was_not_full(alice):
    claim, work, worked = _queue(4)
    n = drain_batches(str(alice.tenant.id), claim=claim, work=work, wake=lambda: None, batch=5, stop_on_partial=True)
    assert n == 4 and worked == [[0, 1, 2, 3]]


def test_budget_hands_the_rest_to_a_fresh_drain(alice):
    claim, work, worked = _queue(10)
    wakes: list[int] = []
    n = drain_batches(str(alice.tenant.id), claim=claim, work=work, wake=lambda: wakes.append(1), batch=2,
                      budget_seconds=-1)
    assert n == 2 and worked == [[0, 1]]
    assert len(wakes) == 2  # the full batch's wake and the budget's hand-over
