"""Engine threads are one budget per process: nested walks queue inside it without deadlock,
and tenants take turns, so one tenant's blocked work never takes every worker from another."""
from __future__ import annotations

import threading

import pytest

from metadata_server.engine.budget import Budget
from metadata_server.engine.graph import Graph
from metadata_server.engine.walker import CancelToken, walk

pytestmark = pytest.mark.timeout(30)


def _flat(n: int) -> Graph:
    return Graph({str(i): set() for i in range(n)})


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_nested_walks_finish_within_a_tiny_budget(threads):
    """Parents wait on children four levels deep with every worker taken: each walk's own
    thread runs its queued work, so nothing waits for a worker that cannot come."""
    budget = Budget(threads)
    leaves, lock = [], threading.Lock()

    def level(depth: int):
        def work(node, token):
            if depth == 3:
                with lock:
                    leaves.append(node)
                return
            assert walk(_flat(4), level(depth + 1), token=token, budget=budget,
                        tenant="t").ok
        return work

    done = threading.Event()
    result = []
    # the root walk runs on a budget worker, as a stack operation does
    budget.submit("t", lambda: (result.append(walk(_flat(4), level(0), budget=budget,
                                                     tenant="t")), done.set()))
    assert done.wait(20), "nested walks did not finish"
    assert result[0].ok and len(leaves) == 4 ** 4
    assert budget.peak_workers <= threads
    budget.close()


def test_a_tenant_holds_at_most_its_share_and_others_run_meanwhile():
    budget = Budget(4)  # a tenant may hold 2 workers
    release, started = threading.Event(), threading.Semaphore(0)
    running, peak, lock = [0], [0], threading.Lock()

    def blocked():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        started.release()
        release.wait(20)
        with lock:
            running[0] -= 1

    for _ in range(20):
        budget.submit("heavy", blocked)
    for _ in range(2):
        assert started.acquire(timeout=10)
    other = threading.Event()
    budget.submit("light", other.set)  # every heavy task still blocked, 18 queued
    assert other.wait(10), "another tenant's work waited for the heavy tenant's"
    assert peak[0] == 2 and budget.queued() == 18
    assert budget.peak_workers <= 3  # none started for work its tenant's share holds back
    release.set()
    for _ in range(18):
        assert started.acquire(timeout=10)
    assert budget.peak_workers <= 4
    budget.close()


def test_tenants_take_turns():
    budget = Budget(1, per_tenant=1)
    gate, holding, order = threading.Event(), threading.Event(), []
    budget.submit("a", lambda: (holding.set(), gate.wait(10)))  # the only worker, held
    assert holding.wait(10)
    for i in range(3):
        budget.submit("a", order.append, f"a{i}")
    for i in range(3):
        budget.submit("b", order.append, f"b{i}")
    finished = threading.Event()
    budget.submit("b", finished.set)
    gate.set()
    assert finished.wait(10)
    assert order == ["a0", "b0", "a1", "b1", "a2", "b2"]
    budget.close()


def test_a_cancelled_walk_leaves_queued_work_unstarted():
    budget = Budget(1)
    token, started = CancelToken(), []

    def work(node, token_):
        started.append(node)
        token_.cancel("stop")

    result = walk(Graph({"a": set(), "b": {"a"}, "c": {"b"}}), work, token=token,
                  budget=budget, tenant="t")
    assert started == ["a"] and result.not_started == ["b", "c"]
    budget.close()
