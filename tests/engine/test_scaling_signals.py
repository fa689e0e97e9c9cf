"""Policy signals' work runs on the engine's bounded signal pool: a burst is answered at once,
a few threads do the work, and past the per-group bound a signal is refused with an event."""
from __future__ import annotations

import threading

import pytest

from engine_helpers import hot, run, wait_for
from metadata_server.engine.signal_pool import SignalPool
from metadata_server.service import signals
from restart_helpers import CONFIG, SERVER, clock, engines, reasons, stored  # noqa: F401

pytestmark = pytest.mark.timeout(60)


def test_pool_bounds_per_target_and_in_all():
    pool = SignalPool(workers=1, per_target=2, queued=3)
    release, started = threading.Event(), threading.Event()
    done = []

    def blocking():
        started.set()
        release.wait(10)
    assert pool.submit("a", blocking) is None
    assert started.wait(10)  # the one worker is busy: what follows waits in the queue
    assert pool.submit("a", lambda: done.append("a1")) is None
    assert pool.submit("a", lambda: done.append("a2")) is None
    assert pool.submit("a", lambda: done.append("a3")) == "2 earlier signals are still waiting"
    assert pool.submit("b", lambda: done.append("b1")) is None
    assert pool.submit("c", lambda: done.append("c1")) == (
        "the engine's signal queue is full (3 waiting)")
    assert pool.stats() == (1, 3)
    release.set()
    wait_for(lambda: len(done) == 3, what="the queued work")
    assert done == ["a1", "a2", "b1"] and pool.peak_workers == 1
    pool.close()
    assert pool.submit("a", lambda: None) == "the engine is stopping"


def test_work_that_fails_does_not_stop_the_worker():
    pool = SignalPool(workers=1)
    done = threading.Event()
    pool.submit("a", lambda: 1 / 0)
    pool.submit("a", done.set)
    assert done.wait(10)
    pool.close()


def test_a_burst_of_signals_is_answered_at_once_and_bounded(engines, store, clock):
    """One worker, busy with a resize that waits for its new member's deployment: the burst's
    signals each get Heat's answer at once; four wait, the rest are refused with an event; the
    four waiting ones then meet the cooldown the resize started."""
    engine = engines(signal_workers=1, signals_per_group=4)
    base = engine.create_stack("t1", {"stack_name": "base",
                                      "template": hot({"config": CONFIG, "server": SERVER})})
    run(engine, base["id"])
    config, server = (stored(engine, base, n)["physical_id"] for n in ("config", "server"))
    member = {"type": "OS::Heat::SoftwareDeployment", "properties": {
        "config": config, "server": server}}
    stack = engine.create_stack("t1", {"stack_name": "grp", "template": hot({
        "asg": {"type": "OS::Heat::AutoScalingGroup", "properties": {
            "min_size": 0, "max_size": 5, "cooldown": 0, "resource": member}},
        "up": {"type": "OS::Heat::ScalingPolicy", "properties": {
            "auto_scaling_group_id": {"get_resource": "asg"}, "cooldown": 600,
            "adjustment_type": "change_in_capacity", "scaling_adjustment": 1}}})})
    run(engine, stack["id"])
    engine.signal_resource("t1", stack["id"], "up", {})
    deployment = wait_for(lambda: next(iter(store.list_deployments(server_id=server)), None),
                          what="the resize's member deployment")
    for _ in range(20):
        engine.signal_resource("t1", stack["id"], "up", {"current": "alarm"})
    refused = [r for r in reasons(engine, stack, "asg") if r.startswith("Scaling refused")]
    assert refused == ["Scaling refused (policy up): 4 earlier signals are still waiting"] * 16
    assert len(reasons(engine, stack, "up")) >= 21  # each signal's own event, as before
    signals.signal_deployment(store, clock, deployment.id, {"deploy_status_code": 0})

    def finished():
        got = [r for r in reasons(engine, stack, "asg") if r.startswith("Scal")]
        return got if len(got) == 21 else None
    outcomes = wait_for(finished, what="every signal's outcome")[16:]
    assert outcomes[0] == "Scaled from 0 to 1 (policy up, change_in_capacity : 1)"
    assert len(outcomes) == 5 and all("in cooldown until" in r for r in outcomes[1:])
    assert engine.signals.peak_workers == 1
