"""One iteration of the poll loop, and the daemon's sleep schedule, with in-memory fakes."""
import json
import logging
import os

import pytest

from agent.loop import Agent
from collector.cache import Cache
from collector.fake import FakeCollector
from stoker_common.backoff import Backoff


@pytest.fixture
def cache(paths):
    return Cache(paths.cachedir)


@pytest.fixture
def fake():
    return FakeCollector(name="fake")


@pytest.fixture
def agent(fake, cache, runner, outbox):
    return Agent([fake], cache, runner, outbox)


def last(cache, key):
    path = cache.path(key) + ".last"
    return json.load(open(path)) if os.path.exists(path) else None


class FlakyRunner:
    """Wraps the real runner; raises on the first `failures` runs (e.g. a full disk)."""

    def __init__(self, runner, failures=1):
        self.runner, self.failures, self.runs = runner, failures, 0

    def run(self, deployments):
        self.runs += 1
        if self.failures:
            self.failures -= 1
            raise OSError(28, "No space left on device")
        return self.runner.run(deployments)

    def rerun_requested(self):
        return self.runner.rerun_requested()


def test_change_runs_deployments_then_commits(agent, fake, cache, transport, item_factory):
    doc = {"deployments": [item_factory("d1")]}
    fake.set(doc)
    result = agent.iterate()
    assert result.ran and result.completed and result.changed == ["fake"]
    assert [r.outcome for r in result.reports] == ["deployed"]
    assert last(cache, "fake") == doc
    assert len(transport.sent) == 1

    result = agent.iterate()  # same document: nothing to do
    assert not result.ran and result.completed and result.changed == []

    doc2 = {"deployments": [item_factory("d1"), item_factory("d2")]}
    fake.set(doc2)
    result = agent.iterate()
    assert result.ran and [r.outcome for r in result.reports] == ["already-deployed", "deployed"]
    assert last(cache, "fake") == doc2


def test_last_is_committed_only_after_the_run_completed(fake, cache, runner, outbox, item_factory, caplog):
    flaky = FlakyRunner(runner)
    agent = Agent([fake], cache, flaky, outbox)
    fake.set({"deployments": [item_factory("d1")]})

    with caplog.at_level(logging.ERROR):
        result = agent.iterate()
    assert result.ran and not result.completed
    assert "deployment run failed: [Errno 28] No space left on device; nothing committed" in caplog.text
    assert last(cache, "fake") is None

    result = agent.iterate()  # unchanged data, but not committed: the run is tried again
    assert result.ran and result.completed and flaky.runs == 2
    assert last(cache, "fake") == {"deployments": [fake.document["deployments"][0]]}


def test_first_iteration_runs_even_without_changes(fake, cache, runner, outbox, item_factory):
    fake.set({"deployments": []})
    Agent([fake], cache, runner, outbox).iterate()
    fresh = Agent([fake], cache, runner, outbox)  # a restarted agent
    result = fresh.iterate()
    assert result.changed == [] and result.ran
    assert not fresh.iterate().ran


def test_unavailable_source_stores_nothing_and_runs_nothing(agent, fake, cache, item_factory):
    fake.set({"deployments": []})
    agent.iterate()
    fake.fail("cannot reach http://127.0.0.1:9/x: connection refused")
    result = agent.iterate()
    assert result.unavailable == [("fake", "cannot reach http://127.0.0.1:9/x: connection refused")]
    assert not result.ran and not result.completed
    assert cache.load("fake") == {"deployments": []}


class RecordingRunner:
    def __init__(self, runner):
        self.runner, self.lists = runner, []

    def run(self, deployments):
        self.lists.append([d["id"] for d in deployments])
        return self.runner.run(deployments)

    def rerun_requested(self):
        return self.runner.rerun_requested()


@pytest.mark.parametrize("restarted", [False, True], ids=["same-process", "restarted"])
def test_a_failing_source_never_removes_deployments(cache, runner, outbox, paths, item_factory, restarted):
    # The source holding the deployments fails while another source changes: the run that change
    # starts must still see the failing source's last good deployments (it used to get an empty list,
    # written as such to heat-config), whether or not the agent restarted in between.
    heat, local = FakeCollector(name="heat"), FakeCollector(name="local")
    recording = RecordingRunner(runner)
    heat.set({"deployments": [item_factory("d1"), item_factory("d2")]})
    local.set({"v": 1})
    agent = Agent([heat, local], cache, recording, outbox)
    agent.iterate()

    heat.fail("HTTP 503")
    local.set({"v": 2})
    if restarted:
        agent = Agent([heat, local], cache, recording, outbox)
    result = agent.iterate()
    assert result.ran and result.unavailable == [("heat", "HTTP 503")] and result.changed == ["local"]
    assert recording.lists == [["d1", "d2"], ["d1", "d2"]]
    assert [d["id"] for d in json.load(open(paths.heat_config))] == ["d1", "d2"]
    assert json.load(open(os.path.join(cache.cachedir, "os_config_files.json"))) == [
        cache.path("heat"), cache.path("local")]


def test_a_source_without_a_record_keeps_its_own_file(cache, runner, outbox, paths, item_factory):
    # A cache written before sources were recorded: the failing source still keeps its own file.
    heat, local = FakeCollector(name="heat"), FakeCollector(name="local")
    heat.set({"deployments": [item_factory("d1")]})
    local.set({"v": 1})
    Agent([heat, local], cache, runner, outbox).iterate()
    os.unlink(os.path.join(cache.cachedir, ".stoker-sources.json"))

    heat.fail("HTTP 503")
    local.set({"v": 2})
    recording = RecordingRunner(runner)
    assert Agent([heat, local], cache, recording, outbox).iterate().ran
    assert recording.lists == [["d1"]]


def test_unconfigured_collectors_are_skipped(fake, cache, runner, outbox):
    quiet = FakeCollector(name="quiet")
    quiet.configured = False
    fake.set({})
    result = Agent([quiet, fake], cache, runner, outbox).iterate()
    assert result.answered == ["fake"] and result.unavailable == []


def test_os_apply_config_deployments_get_their_own_cache_files(agent, fake, cache, item_factory):
    oac = item_factory("o1", name="oac-dep", group="os-apply-config", config={"setting": 1})
    fake.set({"deployments": [oac, item_factory("s1")]})
    result = agent.iterate()
    assert result.changed == ["fake", "oac-dep"]
    assert cache.load("oac-dep") == {"setting": 1}
    assert json.load(open(os.path.join(cache.cachedir, "os_config_files.json"))) == [
        cache.path("fake"), cache.path("oac-dep")]
    assert last(cache, "oac-dep") == {"setting": 1}
    assert [r.outcome for r in result.reports] == ["applied", "deployed"]


def test_pending_signals_are_retried_at_the_start_of_each_iteration(agent, fake, transport, item_factory):
    fake.set({"deployments": [item_factory("d1")]})
    transport.fail_next()
    agent.iterate()
    assert transport.sent == [] and agent.outbox.pending() == ["d1"]
    agent.iterate()
    assert len(transport.payloads("d1")) == 1 and agent.outbox.pending() == []


def test_a_pending_result_makes_the_poll_prompt(agent, fake, transport, item_factory):
    # A result that could not be signalled must not wait behind a long poll the server may hold.
    fake.set({"deployments": [item_factory("d1")]})
    transport.fail_next(2)
    agent.iterate()
    assert fake.prompt_calls == 0
    agent.iterate()  # the retry at its start fails again: the result is still pending
    assert agent.outbox.pending() == ["d1"] and (fake.calls, fake.prompt_calls) == (2, 1)
    agent.iterate()  # delivered at the start: nothing pending, an ordinary poll
    assert agent.outbox.pending() == [] and (fake.calls, fake.prompt_calls) == (3, 1)


class Sleeper:
    """Injected sleep: records delays, asks to stop after `limit` calls."""

    def __init__(self, limit, between=None):
        self.delays, self.limit, self.between = [], limit, between

    def __call__(self, seconds):
        self.delays.append(round(seconds, 3))
        if self.between:
            self.between(len(self.delays))
        return len(self.delays) >= self.limit


def test_daemon_backs_off_on_failures_and_resets_on_change(agent, fake, caplog):
    fake.fail("cannot reach http://127.0.0.1:9/m: connection refused")

    def script(n):
        if n == 6:
            fake.set({"deployments": []})  # the server is back, with a new document
        if n == 7:
            fake.fail("cannot reach http://127.0.0.1:9/m: connection refused")

    sleeper = Sleeper(limit=9, between=script)
    with caplog.at_level(logging.WARNING):
        assert agent.run_forever(Backoff(1, 10, rand=lambda: 0.5), sleeper) == 0
    assert sleeper.delays == [1, 2, 4, 8, 10, 10, 1, 2, 4]
    lines = [r.getMessage() for r in caplog.records]
    assert lines[:2] == ["collector fake: cannot reach http://127.0.0.1:9/m: connection refused; retrying in 1.0s",
                         "collector fake: cannot reach http://127.0.0.1:9/m: connection refused; retrying in 2.0s"]
    assert all(r.exc_info is None for r in caplog.records)


def test_daemon_survives_an_unexpected_iteration_error(agent, fake, monkeypatch, caplog):
    fake.set({})
    calls = []

    def broken():
        calls.append(1)
        raise RuntimeError("bug")

    monkeypatch.setattr(agent, "iterate", broken)
    assert agent.run_forever(Backoff(1, 4, rand=lambda: 0.5), Sleeper(limit=3)) == 0
    assert len(calls) == 3
    assert "iteration failed: RuntimeError: bug" in caplog.text


def test_backoff_jitter_and_bounds():
    low = Backoff(1, 30, rand=lambda: 0.0)
    high = Backoff(1, 30, rand=lambda: 0.999999)
    assert [round(low.next(False), 2) for _ in range(7)] == [0.9, 1.8, 3.6, 7.2, 14.4, 27.0, 27.0]
    assert [round(high.next(False), 2) for _ in range(3)] == [1.1, 2.2, 4.4]
    # a minimum above the maximum wins, as upstream
    odd = Backoff(20, 10, rand=lambda: 0.5)
    assert [odd.next(False) for _ in range(3)] == [20, 20, 20]


def test_daemon_follows_the_interval_the_server_suggests(agent, fake):
    fake.set({"deployments": []})
    fake.poll_interval = 3  # as the watch collector reads X-Stoker-Poll-Interval
    sleeper = Sleeper(limit=5)
    assert agent.run_forever(Backoff(1, 30, rand=lambda: 0.5), sleeper) == 0
    assert sleeper.delays == [1, 2, 3, 3, 3]


def test_suggested_interval_never_goes_below_the_minimum():
    class Source:
        poll_interval = 0.1
    backoff = Backoff(2, 30, rand=lambda: 0.5)
    backoff.follow_server([Source()])
    assert [backoff.next(False) for _ in range(2)] == [2, 2]
