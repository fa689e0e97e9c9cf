"""Helpers shared by engine tests (imported by name: tests/engine is on sys.path)."""
from __future__ import annotations

from metadata_server.service.endpoints import Endpoints

ENDPOINTS = Endpoints("http://stoker.test", "test-signing-key")


def hot(resources: dict, outputs: dict | None = None, parameters: dict | None = None) -> dict:
    template = {"heat_template_version": "2018-08-31", "resources": resources}
    if outputs:
        template["outputs"] = outputs
    if parameters:
        template["parameters"] = parameters
    return template


def run(engine, stack_id: str, timeout: float = 30) -> dict:
    return engine.wait(stack_id, timeout)


def states(engine, stack: dict) -> dict[str, str]:
    return {r["name"]: f"{r['action']}_{r['status']}" for r in engine.resources(stack)}


def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    """Poll a store-backed predicate (the engine exposes no event for these) until truthy."""
    import threading
    import time
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        pause.wait(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def wait_stack(session, url: str, predicate, timeout: float = 60) -> dict:
    """The stack at `url` (Heat's stack route, through a requests session) once `predicate`
    holds for it; fails with the last one seen."""
    import threading
    import time

    deadline, pause = time.monotonic() + timeout, threading.Event()
    while True:
        stack = session.get(url, timeout=10).json()["stack"]
        if predicate(stack):
            return stack
        if time.monotonic() > deadline:
            raise AssertionError(f"{url}: timed out; last seen {stack}")
        pause.wait(0.1)
