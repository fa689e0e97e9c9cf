"""What the restart tests share: a clock the test moves, an engine "crash", engines made on
the suite's store, and ways to wait for a deployment's stored state."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from engine_helpers import ENDPOINTS, wait_for
from metadata_server.engine.stack import Engine

CONFIG = {"type": "OS::Heat::SoftwareConfig", "properties": {
    "group": "script", "config": "#!/bin/sh\necho hi\n", "inputs": [{"name": "who"}],
    "outputs": [{"name": "result"}]}}
SERVER = {"type": "OS::Heat::DeployedServer", "properties": {}}
FAILED_REASON = ("Deployment to server failed: deploy_status_code : Deployment exited with "
                 "non-zero status code: 1")


class SetClock:
    """Time that moves only when the test moves it."""

    def __init__(self):
        self.now = datetime(2026, 1, 2, 3, 4, 5)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += timedelta(seconds=seconds)


class _Gone:
    def __getattr__(self, name):
        raise RuntimeError("the engine's process is gone")


def crash(engine: Engine) -> None:
    """The engine's process dies: no more writes or heartbeats, and the threads it leaves
    behind can reach neither the store nor the cloud (so they cannot cancel a deployment)."""
    engine._stop.set()
    for name in ("apply", "update_stack", "heartbeat", "purge_events", "insert_stack"):
        setattr(engine.stacks, name, lambda *a, **k: True)
    ops, runtimes = engine.runner.snapshot()
    for rt in runtimes:
        rt.ctx.store = rt.ctx.driver = _Gone()
    for op in ops:
        op.token.cancel("the process is gone")
    for op in ops:
        assert op.done.wait(10)


@pytest.fixture
def clock():
    return SetClock()


@pytest.fixture
def engines(store, driver, clock):
    made = []

    def make(**options) -> Engine:
        made.append(Engine(store, clock, driver=driver, endpoints=ENDPOINTS, poll_interval=0.02,
                           **options))
        return made[-1]
    yield make
    for engine in made:
        if not engine.closed:
            engine.close()


def take_over(engines, clock) -> Engine:
    """The restarted server: its engine finds the operation's heartbeat stale and takes over."""
    clock.advance(60)
    return engines()


def deployment(**props):
    return {"type": "OS::Heat::SoftwareDeployment", "properties": {
        "config": {"get_resource": "config"}, "server": {"get_resource": "server"}, **props}}


def stored(engine, stack, name) -> dict:
    return {r["name"]: r for r in engine.stacks.resources(stack["id"])
            if not r.get("replaced_by")}.get(name) or {}


def deploying(engine, store, stack, name="deploy", action="CREATE") -> dict:
    """The deployment `name` is handing to the agent, once the stack's stored rows know it."""
    def ready():
        row = stored(engine, stack, name)
        found = store.get_deployment(row["physical_id"]) if row.get("physical_id") else None
        if (row.get("status") == "IN_PROGRESS" and found and found.action == action
                and found.status == "IN_PROGRESS"):
            return found
        return None
    return wait_for(ready, what=f"deployment {name} {action} stored as IN_PROGRESS")


def server_deployments(engine, store, stack) -> list[str]:
    server = engine.find_resource(stack["id"], "server")["physical_id"]
    return [d.id for d in store.list_deployments(server_id=server)]


def reasons(engine, stack, name) -> list[str]:
    return [e["status_reason"] for e in engine.events(stack, name)]
