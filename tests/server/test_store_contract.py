"""One table of store behaviours, run against the real Store (SQLite, and PostgreSQL when
STOKER_TEST_POSTGRES_URL is set) and against MemoryStore, so the fake cannot drift.

Each case is a function of a fresh store. A behaviour the service relies on belongs here before
a unit test may rely on the fake for it.
"""
from __future__ import annotations

import inspect
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from metadata_server.service.memory_store import MemoryStore
from metadata_server.service.store_protocol import ServiceStore
from metadata_server.store.records import (ConfigRecord, ConfigSummary, DeploymentRecord,
                                           ServerRecord)
from tests.conftest import DATABASES, POSTGRES_URL

T0 = datetime(2026, 3, 4, 5, 6, 7, 123456)


@pytest.fixture(params=["memory", *DATABASES])
def any_store(request, tmp_path):
    if request.param == "memory":
        yield MemoryStore()
        return
    pytest.importorskip("sqlalchemy")
    from sqlalchemy import text

    from metadata_server.store import open_store
    from metadata_server.store.tables import metadata

    url = f"sqlite:///{tmp_path / 'stoker.db'}" if request.param == "sqlite" else POSTGRES_URL
    store = open_store(url)
    if request.param == "postgresql":
        request.getfixturevalue("postgres_to_ourselves")
        with store.engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} CASCADE"))
    yield store
    store.engine.dispose()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def config(id="c1", tenant="t1", created=0, **kw) -> ConfigRecord:
    body = kw.pop("body", {"config": "echo hi", "inputs": [{"name": "x"}],
                           "outputs": [{"name": "out", "error_output": True}], "options": {}})
    return ConfigRecord(id=id, tenant=tenant, name=kw.pop("name", id), group="script", body=body,
                        created_at=at(created), **kw)


def deployment(id="d1", tenant="t1", server="s1", config_id="c1", created=0,
               **kw) -> DeploymentRecord:
    fields = dict(input_values={"x": 1}, output_values=None, action="CREATE",
                  status="IN_PROGRESS", status_reason="Deploy data available",
                  stack_user_project_id=None)
    fields.update(kw)
    return DeploymentRecord(id=id, tenant=tenant, server_id=server, config_id=config_id,
                            created_at=at(created), **fields)


def server(id="s1", tenant="t1", created=0) -> ServerRecord:
    return ServerRecord(id=id, tenant=tenant, name=f"vm-{id}", created_at=at(created))


def login(id, server_id, digest, kind="token", **kw) -> dict:
    return dict(id=id, server_id=server_id, kind=kind, token_hash=digest, created_at=T0, **kw)


# -- software configs --------------------------------------------------------------------------
def config_round_trip(store):
    made = config(body={"config": {"a": [1, "two", None]}, "inputs": [], "outputs": [],
                        "options": {"k": True}})
    store.insert_config(made)
    found = store.get_config("c1")
    assert found == made and isinstance(found, ConfigRecord)
    assert store.get_config("nope") is None


def configs_are_scoped_to_their_tenant(store):
    store.insert_config(config())
    assert store.get_config("c1", "t1") is not None
    assert store.get_config("c1", "t2") is None


def configs_list_newest_first_then_by_id_and_page_after_a_marker(store):
    for id, created in (("b", 1), ("a", 1), ("c", 2), ("d", 0)):
        store.insert_config(config(id, created=created))
    store.insert_config(config("other", tenant="t2", created=5))
    listed = store.list_configs("t1")
    assert [c.id for c in listed] == ["c", "a", "b", "d"]
    assert listed[0] == ConfigSummary("c", "c", "script", at(2))
    assert [c.id for c in store.list_configs("t1", 2)] == ["c", "a"]
    assert [c.id for c in store.list_configs("t1", None, store.get_config("a"))] == ["b", "d"]
    assert [c.id for c in store.list_configs("t1", 1, store.get_config("a"))] == ["b"]
    assert store.list_configs("t1", 0) == []


def a_config_in_use_is_not_deleted(store):
    store.insert_config(config("used"))
    store.insert_config(config("free"))
    store.insert_deployment(deployment(config_id="used"))
    assert store.config_in_use("used") and not store.config_in_use("free")
    assert store.delete_config("used") == -1
    assert store.get_config("used") is not None
    assert store.delete_config("free") == 1
    assert store.delete_config("free") == 0


def json_values_come_back_as_copies(store):
    store.insert_config(config())
    store.get_config("c1").body["config"] = "changed"
    assert store.get_config("c1").body["config"] == "echo hi"
    store.insert_deployment(deployment())
    store.get_deployment("d1").input_values["x"] = 2
    assert store.get_deployment("d1").input_values == {"x": 1}


# -- software deployments ----------------------------------------------------------------------
def a_deployment_is_stored_at_version_one_and_scoped_to_its_tenant(store):
    store.insert_config(config())
    made = deployment(version=7, timeout_at=at(60))
    store.insert_deployment(made)
    found = store.get_deployment("d1")
    assert found == replace(made, version=1) and isinstance(found, DeploymentRecord)
    assert store.get_deployment("d1", "t1") == found
    assert store.get_deployment("d1", "t2") is None
    assert store.get_deployment("nope") is None


def deployments_list_oldest_first_filtered_by_tenant_and_server(store):
    store.insert_config(config())
    store.insert_config(config("c2", tenant="t2"))
    for id, srv, created in (("b", "s1", 1), ("a", "s1", 1), ("c", "s2", 0)):
        store.insert_deployment(deployment(id, server=srv, created=created))
    store.insert_deployment(deployment("z", tenant="t2", config_id="c2", created=-1))
    assert [d.id for d in store.list_deployments()] == ["z", "c", "a", "b"]
    assert [d.id for d in store.list_deployments("t1")] == ["c", "a", "b"]
    assert [d.id for d in store.list_deployments("t1", "s1")] == ["a", "b"]
    assert [d.id for d in store.list_deployments(server_id="s2")] == ["c"]


def deployments_come_with_their_configs_oldest_first(store):
    store.insert_config(config("c1", created=5))
    store.insert_config(config("c2", created=6))
    store.insert_deployment(deployment("d2", config_id="c2", created=2))
    store.insert_deployment(deployment("d1", config_id="c1", created=1))
    store.insert_deployment(deployment("elsewhere", server="s2"))
    pairs = store.deployments_with_configs("s1")
    assert [(d.id, c) for d, c in pairs] == [("d1", store.get_config("c1")),
                                            ("d2", store.get_config("c2"))]
    assert pairs[0][0] == store.get_deployment("d1")
    assert store.deployments_with_configs("s1", "t2") == []


def an_update_compares_and_swaps_the_version(store):
    store.insert_config(config())
    store.insert_deployment(deployment())
    assert store.update_deployment("d1", 1, {"status": "COMPLETE", "output_values": {"o": 1},
                                             "updated_at": at(3)})
    found = store.get_deployment("d1")
    assert (found.version, found.status, found.output_values, found.updated_at) == (
        2, "COMPLETE", {"o": 1}, at(3))
    assert not store.update_deployment("d1", 1, {"status": "FAILED"})  # stale version
    assert store.get_deployment("d1").status == "COMPLETE"
    assert not store.update_deployment("nope", 1, {"status": "FAILED"})


def an_update_records_its_signal_attempt_once(store):
    store.insert_config(config())
    store.insert_deployment(deployment())
    attempt = {"attempt_id": "a-1", "received_at": at(1), "outcome": {"status": "COMPLETE"}}
    assert store.update_deployment("d1", 1, {"status": "COMPLETE"}, attempt)
    assert store.get_attempt("d1", "a-1") == {"deployment_id": "d1", "attempt_id": "a-1",
                                              "received_at": at(1),
                                              "outcome": {"status": "COMPLETE"}}
    # the same attempt again: nothing is written, not even the deployment's change
    assert not store.update_deployment("d1", 2, {"status": "FAILED"}, attempt)
    assert (store.get_deployment("d1").status, store.get_deployment("d1").version) == (
        "COMPLETE", 2)
    assert not store.record_attempt("d1", attempt)
    assert store.record_attempt("d1", dict(attempt, attempt_id="a-2"))
    assert store.get_attempt("d1", "a-3") is None


def overdue_means_in_progress_past_its_deadline(store):
    store.insert_config(config())
    store.insert_deployment(deployment("late", timeout_at=at(10)))
    store.insert_deployment(deployment("early", timeout_at=at(30)))
    store.insert_deployment(deployment("done", status="COMPLETE", timeout_at=at(10)))
    store.insert_deployment(deployment("forever"))
    assert [d.id for d in store.overdue_deployments(at(20))] == ["late"]
    assert store.overdue_deployments(at(10)) == []


def a_deleted_deployment_is_gone(store):
    store.insert_config(config())
    store.insert_deployment(deployment())
    assert store.delete_deployment("d1") == 1
    assert store.get_deployment("d1") is None
    assert store.delete_deployment("d1") == 0
    assert store.delete_config("c1") == 1


# -- servers and credentials -------------------------------------------------------------------
def a_server_is_found_by_its_token_until_revoked_or_expired(store):
    assert store.insert_server(server(), [login("l1", "s1", "h1"),
                                          login("l2", "s1", "h2", expires_at=at(5))])
    assert store.get_server("s1") == server() and isinstance(store.get_server("s1"), ServerRecord)
    assert store.get_server("s1", "t2") is None
    assert store.server_for_token("h1", at(10)) == server()
    assert store.server_for_token("h2", at(4)) == server()
    assert store.server_for_token("h2", at(5)) is None
    assert store.server_for_token("unknown", at(0)) is None
    store.add_credentials("s1", [login("l3", "s1", "h3")], revoke_others_at=at(1))
    assert store.server_for_token("h1", at(2)) is None
    assert store.server_for_token("h3", at(2)) == server()


def a_taken_server_id_or_credential_stores_nothing(store):
    assert store.insert_server(server(), [login("l1", "s1", "h1")])
    assert not store.insert_server(server(tenant="t2"), [login("l2", "s1", "h2")])
    assert not store.insert_server(server("s2"), [login("l3", "s2", "h1")])
    assert store.get_server("s2") is None and store.server_for_token("h2", T0) is None
    assert store.get_server("s1").tenant == "t1"


def ec2_keys_find_the_server_and_its_secret(store):
    assert store.insert_server(server(), [login("l1", "s1", "h1"),
                                          login("l2", "s1", "h-ec2", kind="ec2",
                                                access_key="AK1", secret_key="sk1")])
    assert store.server_for_access_key("AK1", at(1)) == (server(), "sk1")
    assert store.server_with_access_key("s1", at(1)) == (server(), "AK1")
    assert store.server_for_access_key("AK2", at(1)) is None
    store.add_credentials("s1", [login("l3", "s1", "h-ec2b", kind="ec2", access_key="AK2",
                                       secret_key="sk2")], revoke_others_at=at(2))
    assert store.server_for_access_key("AK1", at(3)) is None
    assert store.server_with_access_key("s1", at(3)) == (server(), "AK2")
    assert store.server_with_access_key("s2", at(3)) is None


def servers_list_oldest_first_and_delete_with_their_credentials(store):
    for id, created in (("b", 1), ("a", 1), ("c", 0)):
        assert store.insert_server(server(id, created=created), [login(f"l{id}", id, f"h{id}")])
    assert store.insert_server(server("x", tenant="t2"), [login("lx", "x", "hx")])
    assert [s.id for s in store.list_servers("t1")] == ["c", "a", "b"]
    assert store.delete_server("a") == 1
    assert store.server_for_token("ha", T0) is None
    assert store.delete_server("a") == 0
    # its credentials went with it: the same token hash may be issued again
    assert store.insert_server(server("a"), [login("la", "a", "ha")])


def last_seen_times_never_move_backwards(store):
    for id in ("s1", "s2"):
        assert store.insert_server(server(id), [login(f"l{id}", id, f"h{id}")])
    store.mark_seen_many({"s1": at(10), "s2": at(10), "unknown": at(10)})
    store.mark_seen_many({"s1": at(5), "s2": at(20)})
    store.mark_seen_many({})
    assert store.get_server("s1").last_seen_at == at(10)
    assert store.get_server("s2").last_seen_at == at(20)


def a_document_change_bumps_the_generation_and_tells_listeners(store):
    assert store.insert_server(server(), [login("l1", "s1", "h1")])
    heard = []
    store.change_listeners.append(heard.append)
    store.record_change("s1", at(1))
    store.record_change("s1", at(2))
    store.record_change("never-registered", at(3))
    assert store.get_server("s1").generation == 2
    assert heard == ["s1", "s1", "never-registered"]


# -- operator tokens and secrets ---------------------------------------------------------------
def operator_tokens_work_until_revoked_or_expired(store):
    store.insert_operator_token({"id": "o2", "name": "later", "token_hash": "oh2", "tenant": "t1",
                                 "created_at": at(2), "expires_at": at(9), "revoked_at": None})
    store.insert_operator_token({"id": "o1", "name": "first", "token_hash": "oh1", "tenant": None,
                                 "created_at": at(1), "expires_at": None, "revoked_at": None})
    assert store.operator_for_token("oh1", at(100))["id"] == "o1"
    assert store.operator_for_token("oh2", at(8))["tenant"] == "t1"
    assert store.operator_for_token("oh2", at(9)) is None
    assert [t["id"] for t in store.list_operator_tokens()] == ["o1", "o2"]
    assert store.revoke_operator_token("o1", at(3)) == 1
    assert store.revoke_operator_token("o1", at(4)) == 0
    assert store.revoke_operator_token("nope", at(4)) == 0
    assert store.operator_for_token("oh1", at(5)) is None
    assert store.list_operator_tokens()[0]["revoked_at"] == at(3)


def a_secret_is_made_once_and_replaced_together(store):
    made = []
    assert store.secret("k", lambda: made.append(1) or "first") == "first"
    assert store.secret("k", lambda: made.append(1) or "second") == "first"
    assert made == [1]
    store.set_secrets({"k": "new", "other": "o"})
    assert (store.secret("k", lambda: "x"), store.secret("other", lambda: "x")) == ("new", "o")


CASES = [config_round_trip, configs_are_scoped_to_their_tenant,
         configs_list_newest_first_then_by_id_and_page_after_a_marker,
         a_config_in_use_is_not_deleted, json_values_come_back_as_copies,
         a_deployment_is_stored_at_version_one_and_scoped_to_its_tenant,
         deployments_list_oldest_first_filtered_by_tenant_and_server,
         deployments_come_with_their_configs_oldest_first,
         an_update_compares_and_swaps_the_version, an_update_records_its_signal_attempt_once,
         overdue_means_in_progress_past_its_deadline, a_deleted_deployment_is_gone,
         a_server_is_found_by_its_token_until_revoked_or_expired,
         a_taken_server_id_or_credential_stores_nothing,
         ec2_keys_find_the_server_and_its_secret,
         servers_list_oldest_first_and_delete_with_their_credentials,
         last_seen_times_never_move_backwards,
         a_document_change_bumps_the_generation_and_tells_listeners,
         operator_tokens_work_until_revoked_or_expired,
         a_secret_is_made_once_and_replaced_together]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_store_behaviour(any_store, case):
    case(any_store)


def test_every_case_is_in_the_table():
    defined = [f for name, f in globals().items() if inspect.isfunction(f)
               and f.__module__ == __name__ and not name.startswith(("test_", "_"))
               and name not in ("any_store", "at", "config", "deployment", "server", "login")]
    assert sorted(f.__name__ for f in defined) == sorted(c.__name__ for c in CASES)


def _protocol_methods() -> dict[str, inspect.Signature]:
    return {name: inspect.signature(member) for name, member in vars(ServiceStore).items()
            if inspect.isfunction(member) and not name.startswith("_")}


@pytest.mark.parametrize("implementation", ["memory", "database"])
def test_both_stores_have_the_protocols_methods_with_its_parameters(implementation):
    pytest.importorskip("sqlalchemy")
    from metadata_server.store.repository import Store

    cls = MemoryStore if implementation == "memory" else Store
    for name, expected in _protocol_methods().items():
        actual = inspect.signature(getattr(cls, name))
        assert list(actual.parameters) == list(expected.parameters), name
