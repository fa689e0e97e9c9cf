"""The dependency graph and the parallel walker: order, parallelism, failure, cancel."""
from __future__ import annotations

import threading

import pytest

from metadata_server.engine.errors import CircularDependency, StackValidationFailed
from metadata_server.engine.graph import Graph, merge
from metadata_server.engine.walker import CancelToken, walk

pytestmark = pytest.mark.timeout(20)


def test_cycle_is_named_in_order():
    graph = Graph({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()})
    with pytest.raises(CircularDependency) as info:
        graph.check_acyclic()
    assert info.value.cycle == ["a", "b", "c", "a"]
    assert "a -> b -> c -> a" in info.value.message


def test_self_dependency_is_a_cycle():
    with pytest.raises(CircularDependency, match="x -> x"):
        Graph({"x": {"x"}}).check_acyclic()


def test_unknown_reference_names_resource():
    with pytest.raises(StackValidationFailed, match="nope") as info:
        Graph({"a": {"nope"}})
    assert info.value.path == "resources.a"


def test_deep_chain_has_no_recursion_limit():
    graph = Graph({str(i): {str(i - 1)} if i else set() for i in range(5000)})
    assert graph.find_cycle() is None


def test_reverse_and_merge():
    graph = Graph({"a": set(), "b": {"a"}})
    assert graph.reversed().requires("a") == {"b"}
    merged = merge(graph, Graph({"c": {"b"}, "b": set(), "a": set()}))
    assert merged.requires("b") == {"a"} and merged.requires("c") == {"b"}


def test_order_respects_dependencies():
    graph = Graph({"a": set(), "b": {"a"}, "c": {"b"}, "d": {"a"}})
    seen, lock = [], threading.Lock()

    def work(node, token):
        with lock:
            seen.append(node)

    result = walk(graph, work)
    assert result.ok and set(result.completed) == {"a", "b", "c", "d"}
    assert seen.index("a") < seen.index("b") < seen.index("c")
    assert seen.index("a") < seen.index("d")


def test_independent_resources_run_at_the_same_time():
    # ten resources that can only all finish if all ten run concurrently
    barrier = threading.Barrier(10, timeout=5)
    graph = Graph({f"r{i}": set() for i in range(10)})
    result = walk(graph, lambda node, token: barrier.wait())
    assert result.ok, result.failed


def test_dependant_starts_as_soon_as_its_dependency_is_done():
    # b needs only a; slow is unrelated and blocks until b has run: b must not wait for slow
    b_ran = threading.Event()

    def work(node, token):
        if node == "slow":
            assert b_ran.wait(5), "b waited for an unrelated resource"
        if node == "b":
            b_ran.set()

    graph = Graph({"a": set(), "b": {"a"}, "slow": set()})
    assert walk(graph, work).ok


def test_failure_skips_dependants_naming_upstream_and_independent_branch_runs():
    skipped = {}

    def work(node, token):
        if node == "db":
            raise RuntimeError("boom")

    graph = Graph({"db": set(), "app": {"db"}, "web": {"app"}, "other": set()})
    result = walk(graph, work, on_skip=lambda n, up: skipped.setdefault(n, up))
    assert set(result.failed) == {"db"}
    assert result.skipped == {"app": "db", "web": "db"} == skipped
    assert "other" in result.completed


def test_pool_is_bounded():
    running, peak, lock = [0], [0], threading.Lock()

    def work(node, token):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        token.wait(0.01)
        with lock:
            running[0] -= 1

    assert walk(Graph({str(i): set() for i in range(20)}), work, max_workers=3).ok
    assert peak[0] <= 3


def test_cancel_stops_new_work_and_wakes_waiters():
    token = CancelToken()
    started = threading.Event()

    def work(node, token_):
        if node == "waiter":
            started.set()
            assert token_.wait(10) is True  # woken by the cancel, not by the 10 s
            token_.check()

    graph = Graph({"waiter": set(), "after": {"waiter"}})
    threading.Thread(target=lambda: (started.wait(5), token.cancel("stop"))).start()
    result = walk(graph, work, token=token)
    assert "waiter" in result.failed and result.not_started == ["after"]


def test_deadline_cancels_with_timed_out():
    now = [0.0]
    token = CancelToken(timeout=10, monotonic=lambda: now[0])
    assert not token.cancelled
    now[0] = 11
    assert token.cancelled and token.reason == "Timed out"
