"""core.offload: network work leaves a task's thread; one loop per key, no wake-up lost."""

from __future__ import annotations

import threading
import time

from core.offload import offloading, run_or_offload
from tests.support.waiting import wait_until


def _wait(predicate, timeout: float = 15.0) -> bool:
    return wait_until(predicate, timeout, 0.01, "the sender pool")


def test_outside_a_task_the_job_runs_inline():
    ran: list[str] = []
    handed = run_or_offload(lambda: ran.append(threading.current_thread().name), name="t")
    assert handed is False and ran == [threading.current_thread().name]


def test_inside_a_task_the_job_leaves_the_thread_and_kicks_while_running_fold_into_one_rerun():
    release = threading.Event()
    first_done = threading.Event()
    runs: list[str] = []

    def job() -> None:
        runs.append(threading.current_thread().name)
        if len(runs) == 1:
            release.wait(20)
            first_done.set()

    with offloading():
        assert run_or_offload(job, name="t", key="k") is True
        assert not first_done.is_set()  # the caller did not wait: the job cannot end before release
        assert _wait(lambda: len(runs) == 1)
        for _ in range(3):  # kicks while the first run waits on its "receiver"
            assert run_or_offload(job, name="t", key="k") is True
    release.set()
    assert _wait(lambda: len(runs) == 2)
    time.sleep(0.2)
    assert len(runs) == 2  # three kicks, one re-run
    assert all(name.startswith("sender") for name in runs)


def test_a_failing_job_does_not_stop_its_key():
    runs: list[int] = []

    def boom() -> None:
        runs.append(1)
        raise RuntimeError("receiver exploded")

    with offloading():
        run_or_offload(boom, name="t", key="x")
        assert _wait(lambda: len(runs) == 1)
        time.sleep(0.05)
        run_or_offload(boom, name="t", key="x")
    assert _wait(lambda: len(runs) == 2)
