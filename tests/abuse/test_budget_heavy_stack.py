"""A heavy stack queues inside the engine's budget and starves nothing else: while the heaviest
tree of nested groups the limits allow is created on a tiny budget, another tenant's metadata
polls, signals and /healthz keep answering, engine threads and engine database connections stay
within the budget, and another tenant's stack runs while the heavy one holds its share."""
from __future__ import annotations

import json
import threading
import time

import pytest

from metadata_server.api.app_engine import start_engine
from metadata_server.engine.drivers import FakeDriver
from metadata_server.service.endpoints import Endpoints
from tests.server.conftest import ADMIN, Api, app  # noqa: F401  (the app fixture)
from tests.waiting import until

pytestmark = pytest.mark.timeout(90)
ENDPOINTS = Endpoints("http://stoker.test", "test-signing-key")
THREADS, CONNECTIONS = 4, 2
ANSWER_WITHIN = 10.0  # generous: a loaded 2-core machine; starved requests waited 30 s, then 500


def _group(count: int, member: dict) -> dict:
    return {"heat_template_version": "2018-08-31", "resources": {"group": {
        "type": "OS::Heat::ResourceGroup",
        "properties": {"count": count, "resource_def": member}}}}


def heavy_stack(name: str, leaf: dict, counts=(8, 10, 10)) -> dict:
    """A group of 8 provider templates, each a group of 10 provider templates, each a group of
    10 leaves: 977 resources across 178 stacks, five levels deep (Heat's limits: 1000, 5)."""
    outer, middle, inner = counts
    return {"stack_name": name, "template": _group(outer, {"type": "middle.yaml"}),
            "files": {"middle.yaml": json.dumps(_group(middle, {"type": "inner.yaml"})),
                      "inner.yaml": json.dumps(_group(inner, leaf))}}


class Probe:
    """Another tenant's agent and operator: one round of what must keep answering."""

    def __init__(self, api: Api):
        self.api = api
        registered = api.post("/v1/t2/servers", {"name": "vm"}).json
        self.agent = api.as_(registered["credential"]["token"])
        self.poll = f"/v1/t2/servers/{registered['server']['id']}/metadata"
        config = api.post("/v1/t2/software_configs", {"name": "c", "group": "script",
                                                      "config": "#!/bin/sh\n"}).json
        deployment = api.post("/v1/t2/software_deployments", {
            "config_id": config["software_config"]["id"],
            "server_id": registered["server"]["id"], "signal_transport": "TEMP_URL_SIGNAL"}).json
        self.signal = f"/v1/signal/deployments/{deployment['software_deployment']['id']}"
        self.slowest, self.rounds = 0.0, 0

    def round(self) -> None:
        for answer in (lambda: self.agent.get(self.poll),
                       lambda: self.agent.put(self.signal, {},
                                              headers={"X-Stoker-Phase": "running"}),
                       lambda: self.api.client.get("/healthz"),
                       lambda: self.api.get("/v1/t2/software_configs")):
            started = time.monotonic()
            response = answer()
            self.slowest = max(self.slowest, time.monotonic() - started)
            assert response.status_code == 200, (response.status_code, response.get_data())
        self.rounds += 1


def _status(api: Api, url: str) -> str:
    answer = api.get(url).json
    return answer["stack"]["stack_status"] if "stack" in (answer or {}) else str(answer)


def _engine(app):  # noqa: F811
    return start_engine(app, ENDPOINTS, FakeDriver(),
                        budget={"threads": THREADS, "db_connections": CONNECTIONS})


@pytest.mark.slow
@pytest.mark.timeout(300)  # tens of seconds on a loaded machine: the tree is counted as it grows
def test_heaviest_stack_queues_inside_the_budget_while_requests_answer(app, store):  # noqa: F811
    api = Api(app.test_client(), ADMIN)
    engine = _engine(app)
    probe = Probe(api)
    baseline = threading.active_count()
    peak_threads = [baseline]
    created = api.post("/v1/t1/stacks", heavy_stack(
        "heavy", {"type": "OS::Heat::RandomString", "properties": {"length": 4}}))
    assert created.status_code == 201, created.json
    stack_id = created.json["stack"]["id"]
    during = 0
    while engine.stacks.get_stack(stack_id)["status"] == "IN_PROGRESS":
        probe.round()
        during += 1
        peak_threads[0] = max(peak_threads[0], threading.active_count())
    final = engine.wait(stack_id, 60)
    assert (final["action"], final["status"]) == ("CREATE", "COMPLETE"), final["status_reason"]
    assert during >= 1, "the stack finished before any request was made during it"
    assert probe.slowest < ANSWER_WITHIN
    resources = sum(len(engine.stacks.resources(s["id"]))
                    for s in [final] + _descendants(engine, stack_id))
    assert resources == 977
    assert engine.budget.peak_workers <= THREADS
    # workers, the one state flusher; the heartbeat thread was counted in the baseline
    assert peak_threads[0] - baseline <= THREADS + 1
    assert engine.db_lane.peak <= CONNECTIONS


def _descendants(engine, stack_id: str) -> list[dict]:
    children = engine.stacks.children(stack_id)
    return children + [d for c in children for d in _descendants(engine, c["id"])]


def test_another_tenants_stack_runs_while_a_heavy_one_holds_its_share(app, store):  # noqa: F811
    api = Api(app.test_client(), ADMIN)
    engine = _engine(app)
    probe = Probe(api)
    # leaves that wait until cancelled: the heavy tenant holds every worker it may
    blocking = {"type": "OS::Heat::TestResource", "properties": {"wait_secs": 600}}
    created = api.post("/v1/t1/stacks", heavy_stack("heavy", blocking))
    assert created.status_code == 201, created.json
    heavy_url = f"/v1/t1/stacks/heavy/{created.json['stack']['id']}"
    until(lambda: engine.budget.busy("t1") == THREADS // 2 and engine.budget.queued(), 30,
          "the heavy tenant to hold its share with work queued")

    light = api.post("/v1/t2/stacks", {"stack_name": "light", "template": _group(
        3, {"type": "OS::Heat::RandomString"})})
    assert light.status_code == 201, light.json
    light_url = f"/v1/t2/stacks/light/{light.json['stack']['id']}"
    until(lambda: _status(api, light_url) != "CREATE_IN_PROGRESS", 30, "the light stack")
    assert _status(api, light_url) == "CREATE_COMPLETE"
    for _ in range(5):
        probe.round()
    assert probe.slowest < ANSWER_WITHIN
    assert _status(api, heavy_url) == "CREATE_IN_PROGRESS"
    gauges = dict(line.rsplit(" ", 1) for line in api.client.get("/metrics").get_data(
        as_text=True).splitlines() if line.startswith("stoker_engine_"))
    assert float(gauges["stoker_engine_threads"]) <= THREADS
    assert float(gauges["stoker_engine_threads_busy"]) == THREADS // 2
    assert float(gauges["stoker_engine_tasks_queued"]) > 0
    assert float(gauges["stoker_engine_db_connections_in_use"]) <= CONNECTIONS

    # the heavy stack still cancels and deletes through its queue
    assert api.post(f"{heavy_url}/actions", {"cancel_without_rollback": None}).status_code == 200
    until(lambda: _status(api, heavy_url) == "CREATE_FAILED", 30, "the cancel")
    assert api.delete(heavy_url).status_code == 204
    until(lambda: _status(api, heavy_url) in ("DELETE_COMPLETE", "DELETE_FAILED"), 60,
          "the delete")
    assert _status(api, heavy_url) == "DELETE_COMPLETE", api.get(heavy_url).json["stack"]["stack_status_reason"]
    assert engine.budget.peak_workers <= THREADS and engine.db_lane.peak <= CONNECTIONS
