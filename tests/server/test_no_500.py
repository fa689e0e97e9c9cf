"""No input produces a 500: every route of the app, with real and garbage ids in its path, gets
malformed bodies and query strings, as the operator, as a server and with no token.

The routes come from the app's own URL map, so a route added later is covered (a rule this file
does not know how to fill fails the test instead of being skipped).
"""
from __future__ import annotations

import itertools
import json
import re

import pytest

from tests.server.conftest import ADMIN

pytestmark = pytest.mark.timeout(300)

BAD_VALUES = [None, True, -1, 1e308, 10 ** 4000, "", "x" * 5000, "\u0000\ud7ff\u00e9",
              "\ud800x\udfff", [], [None, {}], {}, {"a": {"b": [1, "2", None]}},
              {"\ud800": "\udc00", "k": [[[[[[[[[[[]]]]]]]]]]]}]
# every field name any route reads, so each gets each kind of wrong value
FIELDS = ["name", "group", "config", "inputs", "outputs", "options", "config_id", "server_id",
          "action", "status", "status_reason", "input_values", "output_values", "signal_transport",
          "stack_user_project_id", "timeout", "deploy_status_code", "deploy_stdout", "deploy_stderr",
          "stack_name", "template", "template_url", "parameters", "parameter_defaults",
          "environment", "environment_files", "files", "timeout_mins", "disable_rollback", "tags",
          "existing", "clear_parameters", "suspend", "resume", "check", "cancel_update",
          "mark_unhealthy", "resource_status_reason", "metadata", "auth", "identity", "methods",
          "password", "user", "scope", "project", "id", "data", "Status", "Reason", "UniqueId",
          "Data", "expires_in", "description", "attempt", "phase", "ttl"]
RAW_BODIES = [b"", b"{", b"null", b"[]", b'"text"', b"12", b"\xff\xfe", b"[" * 500 + b"]" * 500,
              json.dumps({"a": 1}).encode() * 3,
              # nesting past any recursion limit, under the size limit
              b"[" * 100000, b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}",
              b'{"name": "a", "name": "b"}', b'{"name": 1e400, "timeout": -1e999}',
              b'{"name": NaN, "config": Infinity}', b'{"timeout": ' + b"9" * 5000 + b"}",
              b'{"name": "\\ud800", "\\udfff": "\\ud800\\ud800"}']
QUERIES = ["", "?limit=-1&marker=nope&sort_dir=sideways&sort_keys=zz", "?wait=abc&timeout=x",
           "?with_detail=perhaps&nested_depth=-5&resolve_outputs=maybe&show_deleted=2",
           "?sig=garbage&expires=notanumber", "?wait=0.01", "?" + "a=" + "x" * 3000]
# what follows a stack's path where no declared route matches (each declared one is a rule of
# its own, covered as such)
STACK_REST = ["", "resources/v/signal", "resources/v/metadata", "resources/v/events/x",
              "resources/nope/signal", "resources/v/nope", "events/x", "outputs/o/x", "abandon",
              "snapshots", "nope/../x"]
GARBAGE_IDS = ["nope", "..", "x" * 300, "%00", "caf%C3%A9", "0", "%ED%A0%80"]


def _bodies() -> list[bytes]:
    values = itertools.cycle(BAD_VALUES)
    return (RAW_BODIES
            + [json.dumps({field: bad for field in FIELDS}).encode() for bad in BAD_VALUES]
            + [json.dumps({field: next(values)}).encode() for field in FIELDS])


BODIES = _bodies()
FEW_BODIES = [b"{}", b"{", b"[" * 100000, json.dumps({f: "\ud800" for f in FIELDS}).encode(),
              json.dumps({f: 10 ** 4000 for f in FIELDS}).encode()]


PARAM = re.compile(r"<(?:[^:>]+:)?(\w+)>")


def _paths(rule: str, ids: dict[str, list[str]]) -> list[str]:
    """Concrete paths for a URL rule: each parameter in turn takes each of its values (real ids
    and garbage), the others their first."""
    params = PARAM.findall(rule)
    unknown = [p for p in params if p not in ids]
    assert not unknown, f"{rule}: teach this test what to put in {unknown}"
    paths = {PARAM.sub(lambda m: ids[m.group(1)][0], rule)}
    for param in params:
        for value in ids[param][1:]:
            paths.add(PARAM.sub(lambda m: value if m.group(1) == param else ids[m.group(1)][0],
                                rule))
    return sorted(paths)


def test_no_route_answers_500(app, store):
    from metadata_server.api.stack_gates import SETTINGS
    # an abandon would take the stack every later route names away (400 NotSupported instead;
    # abandon itself: tests/server/test_stack_abandon_api.py)
    app.extensions[SETTINGS] = {"abandon": False, "adopt": True}
    client = app.test_client()
    admin = {"X-Auth-Token": ADMIN}

    def ok(response):
        assert response.status_code == 200 or response.status_code == 201, response.get_data(True)
        return response.get_json()
    config = ok(client.post("/v1/t1/software_configs", headers=admin, json={
        "name": "c", "group": "script", "config": "#!/bin/sh\n", "outputs": [{"name": "o"}]}))
    server = ok(client.post("/v1/t1/servers", headers=admin, json={"name": "vm"}))
    server_id, server_token = server["server"]["id"], server["credential"]["token"]
    deployment = ok(client.post("/v1/t1/software_deployments", headers=admin, json={
        "config_id": config["software_config"]["id"], "server_id": server_id}))
    stack = client.post("/v1/t1/stacks", headers=admin, json={"stack_name": "s", "template": {
        "heat_template_version": "2018-08-31",
        "resources": {"v": {"type": "OS::Heat::Value", "properties": {"value": 1}}},
        "outputs": {"o": {"value": {"get_attr": ["v", "value"]}}}}})
    assert stack.status_code == 201, stack.get_data(True)
    stack_id = stack.get_json()["stack"]["id"]
    app.extensions["stoker-engine"].wait(stack_id, 30)
    event_id = ok(client.get(f"/v1/t1/stacks/s/{stack_id}/resources/v/events",
                             headers=admin))["events"][0]["id"]
    snapshot = client.post(f"/v1/t1/stacks/s/{stack_id}/snapshots", json={"name": "n"},
                           headers=admin)
    assert snapshot.status_code == 200, snapshot.get_data(True)
    app.extensions["stoker-engine"].wait(stack_id, 30)
    ids = {
        "tenant": ["t1", "other"],
        "server_id": [server_id] + GARBAGE_IDS,
        "config_id": [config["software_config"]["id"]] + GARBAGE_IDS,
        "deployment_id": [deployment["software_deployment"]["id"]] + GARBAGE_IDS,
        "name": ["s", stack_id] + GARBAGE_IDS,
        "stack_id": [stack_id, "nope"],
        "sub": [stack_id, "preview", "nope"],
        "rest": STACK_REST,
        "resource": ["v", "nope"],
        "output_key": ["o", "nope"],
        "event_id": [event_id] + GARBAGE_IDS,
        "token_id": ["nope", "x" * 300],
        "arn": ["nope", "arn:openstack:heat::t1:stacks/s/" + stack_id + "/resources/v"],
        "filename": ["nope"],
        "snapshot_id": [snapshot.get_json()["id"]] + GARBAGE_IDS,
        "type_name": ["OS::Heat::Value", "OS::Heat::RandomString"] + GARBAGE_IDS,
        "version": ["heat_template_version.2018-08-31", "AWSTemplateFormatVersion.2010-09-09"]
                   + GARBAGE_IDS,
    }
    callers = [admin, {"X-Auth-Token": server_token}, {}]
    failures = []
    count = 0
    for rule in app.url_map.iter_rules():
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        for path in _paths(rule.rule, ids):
            for method in methods:
                writes = method in ("POST", "PUT", "PATCH")
                for headers, query in itertools.product(callers, QUERIES if not writes else ["", QUERIES[4]]):
                    # every body on every path once; with a query string, a few
                    bodies = (BODIES if query == "" else FEW_BODIES) if (
                        writes and headers is admin) else [b"{}", b"{"] if writes else [None]
                    for body in bodies:
                        response = client.open(path + query, method=method, headers={
                            **headers, "Content-Type": "application/json"}, data=body)
                        count += 1
                        if response.status_code >= 500:
                            failures.append(f"{method} {path}{query[:40]} {body!r:.80} -> "
                                            f"{response.status_code} {response.get_data(True)[:200]}")
    print(f"{count} requests")
    assert count > 1000
    assert not failures, f"{len(failures)} of {count} requests got a 5xx:\n" + "\n".join(failures[:80])


def test_a_nul_in_a_result_or_an_id_is_neither_an_error_nor_lost(api, make_config, make_server,
                                                                  store, clock):
    """PostgreSQL text cannot hold U+0000 (SQLite can): there the signal still lands, with that
    one character as U+FFFD, and an id with a NUL is simply not found."""
    from metadata_server.service import signals

    config = make_config(outputs=[{"name": "blob"}])
    server = make_server()
    created = api.post("/v1/t1/software_deployments", {
        "config_id": config["id"], "server_id": server["server"]["id"], "action": "CREATE",
        "status": "IN_PROGRESS"})
    assert created.status_code == 200, created.json
    deployment_id = created.json["software_deployment"]["id"]
    signals.signal_deployment(store, clock, deployment_id, {
        "deploy_stdout": "before\x00after", "deploy_status_code": 0, "blob": "a\x00b"})
    shown = api.get(f"/v1/t1/software_deployments/{deployment_id}").json["software_deployment"]
    assert shown["status"] == "COMPLETE"
    assert shown["output_values"]["deploy_stdout"] in ("before\x00after", "before\ufffdafter")
    assert shown["output_values"]["blob"] in ("a\x00b", "a\ufffdb")
    assert api.get("/v1/t1/software_deployments/x%00y").status_code == 404
    assert api.post("/v1/t1/servers", {"name": "n\x00ul"}).status_code in (201, 400)
