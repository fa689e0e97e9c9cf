"""The service's domain rules on the in-memory store: no database, no Flask, milliseconds each.

What the fake promises is held to the real Store by test_store_contract.py; what the API makes
of these rules (status codes, Heat's bodies) is tested through HTTP in the other test files.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from metadata_server.service import (auth, configs, deployments, documents, servers, signals,
                                     timeouts)
from metadata_server.service.credentials import token_hash
from metadata_server.service.endpoints import Endpoints
from metadata_server.service.errors import Conflict, Forbidden, InvalidInput, NotFound
from metadata_server.service.memory_store import MemoryStore
from metadata_server.store.records import ConfigRecord, DeploymentRecord, ServerRecord
from tests.conftest import FakeClock

ENDPOINTS = Endpoints("http://stoker.test", "test-signing-key")
SCRIPT = {"name": "hello", "group": "script", "config": "echo hi",
          "inputs": [{"name": "who", "default": "world"}],
          "outputs": [{"name": "result"}, {"name": "oops", "error_output": True}]}


@pytest.fixture
def store():
    return MemoryStore()


def _config(store, clock, tenant="t1", **overrides) -> ConfigRecord:
    return configs.create_config(store, clock, tenant, dict(SCRIPT, **overrides))


def _server(store, clock, tenant="t1", **body) -> tuple[ServerRecord, servers.IssuedCredentials]:
    return servers.register_server(store, clock, tenant, dict({"name": "vm"}, **body))


def _deploy(store, clock, config_id, server_id, **body) -> DeploymentRecord:
    return deployments.create_deployment(store, clock, "t1", dict(
        {"config_id": config_id, "server_id": server_id}, **body), ENDPOINTS)


# -- configs -----------------------------------------------------------------------------------
def test_a_config_is_kept_as_heat_shows_it(store, clock):
    made = _config(store, clock)
    assert configs.get_config(store, "t1", made.id) == made
    shown = configs.format_config(made)
    assert (shown["inputs"], shown["options"], shown["creation_time"]) == (
        [{"name": "who", "default": "world", "type": "String"}], {},
        made.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    with pytest.raises(NotFound):
        configs.get_config(store, "t2", made.id)


def test_configs_page_newest_first_after_a_marker(store, clock):
    ids = [_config(store, clock, name=f"c{i}").id for i in range(4)]
    assert [c.id for c in configs.list_configs(store, "t1", "2", None)] == ids[::-1][:2]
    assert [c.id for c in configs.list_configs(store, "t1", None, ids[2])] == ids[1::-1]
    for bad in ("-1", "two"):
        with pytest.raises(InvalidInput, match="limit"):
            configs.list_configs(store, "t1", bad, None)
    with pytest.raises(NotFound):
        configs.list_configs(store, "t1", None, "not-a-config")


def test_a_config_in_use_cannot_be_deleted(store, clock):
    made = _config(store, clock)
    deployed = _deploy(store, clock, made.id, "anywhere")
    with pytest.raises(Conflict, match="still used"):
        configs.delete_config(store, "t1", made.id)
    deployments.delete_deployment(store, clock, "t1", deployed.id)
    configs.delete_config(store, "t1", made.id)
    assert store.get_config(made.id) is None


# -- deployments -------------------------------------------------------------------------------
def test_a_signal_transport_derives_a_config_and_waits(store, clock):
    source = _config(store, clock)
    registered, _ = _server(store, clock)
    made = _deploy(store, clock, source.id, registered.id, signal_transport="TEMP_URL_SIGNAL",
                   input_values={"who": "you"}, timeout=30)
    assert (made.status, made.action, made.version) == ("IN_PROGRESS", "CREATE", 1)
    assert made.timeout_at == made.created_at + timedelta(seconds=30) + deployments.TIMEOUT_GRACE
    derived = store.get_config(made.config_id)
    assert derived.id != source.id and derived.name == "hello"
    values = {i["name"]: i.get("value") for i in derived.inputs}
    assert values["who"] == "you" and values["deploy_signal_transport"] == "TEMP_URL_SIGNAL"
    assert values["deploy_signal_id"].startswith(f"http://stoker.test/v1/signal/deployments/{made.id}?")
    assert store.changes == [registered.id]  # the server's document changed


def test_a_deployment_made_through_the_api_is_complete_with_heats_defaults(store, clock):
    made = _deploy(store, clock, _config(store, clock).id, "unregistered")
    assert (made.action, made.status, made.status_reason, made.timeout_at) == (
        "INIT", "COMPLETE", "", None)
    assert deployments.format_deployment(made) == {
        "id": made.id, "server_id": "unregistered", "config_id": made.config_id,
        "input_values": {}, "output_values": None, "action": "INIT", "status": "COMPLETE",
        "status_reason": "", "creation_time": made.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")}


def test_another_tenants_server_is_not_found(store, clock):
    theirs, _ = _server(store, clock, tenant="t2")
    config_id = _config(store, clock).id
    with pytest.raises(NotFound, match=theirs.id):
        _deploy(store, clock, config_id, theirs.id)
    with pytest.raises(NotFound, match="missing"):
        deployments.create_deployment(store, clock, "t1", {
            "config_id": config_id, "server_id": "missing"}, ENDPOINTS, require_server=True)


class LosesOneRace(MemoryStore):
    """Another writer lands between the service's read and its compare-and-swap, once."""
    raced = False

    def update_deployment(self, deployment_id, expected_version, values, attempt=None):
        if not self.raced:
            self.raced = True
            assert super().update_deployment(deployment_id, expected_version,
                                              {"status_reason": "someone else"})
        return super().update_deployment(deployment_id, expected_version, values, attempt)


def test_an_update_that_loses_a_race_reads_again_and_applies():
    store, clock = LosesOneRace(), FakeClock()
    made = _deploy(store, clock, _config(store, clock).id, "s1")
    following = _config(store, clock, name="next")
    updated = deployments.update_deployment(store, clock, "t1", made.id, {
        "config_id": following.id, "status": "IN_PROGRESS", "status_reason": None})
    assert store.raced and updated.version == 3
    # the other writer's reason stays: null leaves a stored value alone, as in Heat
    assert (updated.config_id, updated.status, updated.status_reason) == (
        following.id, "IN_PROGRESS", "someone else")
    assert updated.timeout_at is not None
    assert store.changes == ["s1", "s1"]  # a new config is a new document


def test_a_status_only_update_ends_the_wait_without_a_document_change(store, clock):
    made = _deploy(store, clock, _config(store, clock).id, "s1", status="IN_PROGRESS")
    assert made.timeout_at is not None
    done = deployments.update_deployment(store, clock, "t1", made.id, {"status": "COMPLETE"})
    assert (done.status, done.timeout_at, done.updated_at is not None) == ("COMPLETE", None, True)
    assert store.changes == ["s1"]


# -- signals -----------------------------------------------------------------------------------
def test_a_signal_completes_a_deployment_once_per_attempt(store, clock):
    made = _deploy(store, clock, _config(store, clock).id, "s1", status="IN_PROGRESS")
    outcome = signals.signal_deployment(store, clock, made.id,
                                        {"deploy_status_code": 0, "result": "42"}, "attempt-1")
    assert (outcome.applied, outcome.status) == (True, "COMPLETE")
    stored = store.get_deployment(made.id)
    assert stored.output_values["result"] == "42" and stored.last_signal_at is not None
    again = signals.signal_deployment(store, clock, made.id, {"deploy_status_code": 1},
                                      "attempt-1")
    assert (again.duplicate, again.applied, again.status) == (True, False, "COMPLETE")
    assert store.get_deployment(made.id) == stored


def test_an_error_output_fails_and_a_late_signal_is_ignored(store, clock):
    made = _deploy(store, clock, _config(store, clock).id, "s1", status="IN_PROGRESS")
    failed = signals.signal_deployment(store, clock, made.id, {"oops": "disk full"})
    assert (failed.status, failed.status_reason) == ("FAILED", "oops : disk full")
    late = signals.signal_deployment(store, clock, made.id, {"deploy_status_code": 0})
    assert not late.applied and "not IN_PROGRESS" in late.event
    phase = signals.record_phase(store, clock, made.id, "running")
    assert (phase.applied, phase.phase) == (False, None)


def test_a_phase_is_kept_while_in_progress(store, clock):
    made = _deploy(store, clock, _config(store, clock).id, "s1", status="IN_PROGRESS")
    assert signals.record_phase(store, clock, made.id, "running").phase == "running"
    assert store.get_deployment(made.id).phase == "running"
    with pytest.raises(InvalidInput, match="X-Stoker-Phase"):
        signals.record_phase(store, clock, made.id, "Not A Phase")


# -- servers, credentials and deadlines --------------------------------------------------------
def test_a_server_authenticates_with_its_token_until_rotated(store, clock):
    registered, issued = _server(store, clock)
    principal = auth.authenticate(store, token_hash("admin"), issued.token, clock)
    assert (principal.kind, principal.server_id, principal.tenant) == (
        auth.SERVER, registered.id, "t1")
    assert store.server_for_access_key(issued.access_key_id, clock())[1] == \
        issued.secret_access_key
    rotated = servers.rotate_credentials(store, clock, "t1", registered.id)
    with pytest.raises(Exception, match="not valid"):
        auth.authenticate(store, token_hash("admin"), issued.token, clock)
    assert auth.authenticate(store, token_hash("admin"), rotated.token, clock).server_id == \
        registered.id
    assert store.changes == [registered.id]  # caches of the old credential are dropped


def test_server_ids_are_shared_by_tenants(store, clock):
    _server(store, clock, id="web-1")
    with pytest.raises(Conflict, match="web-1"):
        _server(store, clock, tenant="t2", id="web-1")
    with pytest.raises(Forbidden, match="cannot choose"):
        servers.register_server(store, clock, "t2", {"name": "vm", "id": "web-2"},
                                may_choose_id=False)
    servers.delete_server(store, clock, "t1", "web-1")
    with pytest.raises(NotFound):
        servers.get_server(store, "t1", "web-1")


def test_an_overdue_deployment_fails_saying_what_is_known(store, clock):
    registered, _ = _server(store, clock)
    made = _deploy(store, clock, _config(store, clock).id, registered.id, status="IN_PROGRESS",
                   timeout=1)
    on_time = _deploy(store, clock, made.config_id, registered.id, status="IN_PROGRESS")
    clock.now = made.timeout_at + timedelta(seconds=1)
    assert timeouts.sweep(store, clock) == [made.id]
    failed = store.get_deployment(made.id)
    assert failed.status == "FAILED"
    assert f"the agent of server {registered.id} has never polled" in failed.status_reason
    assert store.get_deployment(on_time.id).status == "IN_PROGRESS"
    assert timeouts.sweep(store, clock) == []


def test_a_document_lists_its_configs_by_name(store, clock):
    for name in ("b", "a", "c"):
        _deploy(store, clock, _config(store, clock, name=name).id, "s1")
    _deploy(store, clock, _config(store, clock, name="0").id, "elsewhere")
    items = documents.deployment_items(store, "s1", "t1")
    assert [i["name"] for i in items] == ["a", "b", "c"]
    assert set(items[0]) == {"id", "name", "group", "creation_time", "config", "inputs",
                             "outputs", "options"}


def test_a_new_token_never_starts_with_a_dash(monkeypatch):
    # a token pasted after --os-token must not read as another option
    from metadata_server.service import credentials
    drawn = iter(["-starts-with-a-dash", "_fine-token"])
    monkeypatch.setattr(credentials.secrets, "token_urlsafe", lambda nbytes: next(drawn))
    assert credentials.new_token() == "_fine-token"
