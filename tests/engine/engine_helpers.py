"""Helpers shared by engine tests (imported by name: tests/engine is on sys.path)."""
from __future__ import annotations

from metadata_server.service.endpoints import Endpoints
from tests.server import conftest as server_fixtures
from tests.waiting import until

ENDPOINTS = Endpoints("http://stoker.test", "test-signing-key")
ADMIN = server_fixtures.ADMIN  # the operator token of the `app` fixture


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
    return until(predicate, timeout, what, pause=0.01)
