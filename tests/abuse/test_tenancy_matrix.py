"""Two tenants: tenant B's scoped operator token against every route of tenant A's objects.

Each request is sent twice, once naming A's object and once naming an id that exists nowhere
(of the same shape); the two answers must be the same, A's id for the missing one aside. So B
can neither reach A's configs, deployments, servers and stacks nor learn that they exist. The
routes come from the app's URL map: a route added later is covered, or fails the test until it
is taught what its parameters are.
"""
from __future__ import annotations

import re
import uuid

import pytest

from tests.server.conftest import ADMIN, api, app, make_config, make_server  # noqa: F401

pytestmark = pytest.mark.timeout(300)

A, B = "tenant-a", "tenant-b"
PARAM = re.compile(r"<(?:[^:>]+:)?(\w+)>")
STACK_REST = ["", "resources", "resources/v", "resources/v/signal", "resources/v/metadata",
              "resources/v/events", "events", "outputs", "outputs/o", "template", "environment",
              "files", "export", "abandon", "snapshots", "actions"]


def _value_template(**resources) -> dict:
    return {"heat_template_version": "2018-08-31",
            "resources": dict({"v": {"type": "OS::Heat::Value", "properties": {"value": 1}}},
                              **resources),
            "outputs": {"o": {"value": {"get_attr": ["v", "value"]}}}}


@pytest.fixture
def world(app, api, make_config, make_server):
    """Tenant A's objects (made by the admin), and tenant B's scoped token and own objects."""
    a_config = make_config(tenant=A)["id"]
    a_server = make_server(tenant=A)
    a_deployment = api.post(f"/v1/{A}/software_deployments", {
        "config_id": a_config, "server_id": a_server["server"]["id"],
        "signal_transport": "TEMP_URL_SIGNAL"}).json["software_deployment"]["id"]
    # stacks outlive a test on PostgreSQL (only the main tables are emptied): names are unique
    run = uuid.uuid4().hex[:8]
    stack = api.post(f"/v1/{A}/stacks", {"stack_name": f"a-{run}",
                                         "template": _value_template()})
    assert stack.status_code == 201, stack.json
    a_stack = stack.json["stack"]["id"]
    app.extensions["stoker-engine"].wait(a_stack, 30)
    a_event = api.get(f"/v1/{A}/stacks/a-{run}/{a_stack}/resources/v/events").json["events"][0]
    snapshot = api.post(f"/v1/{A}/stacks/a-{run}/{a_stack}/snapshots", {"name": "s"})
    assert snapshot.status_code == 200, snapshot.json
    app.extensions["stoker-engine"].wait(a_stack, 30)
    token = api.post("/v1/tokens", {"name": "b", "tenant": B}).json
    b = api.as_(token["secret"])
    assert b.get(f"/v1/{B}/software_configs").status_code == 200
    b_config = b.post(f"/v1/{B}/software_configs", {"name": "c", "group": "script",
                                                   "config": "#!/bin/sh\n"}).json
    real = {"config_id": a_config, "deployment_id": a_deployment,
            "server_id": a_server["server"]["id"], "stack_id": a_stack, "sub": a_stack,
            "name": f"a-{run}", "token_id": token["token"]["id"], "event_id": a_event["id"],
            "snapshot_id": snapshot.json["id"]}
    # one missing id per real one: the stack id is both `stack_id` and `sub`
    stand_ins = {value: str(uuid.uuid4()) for value in real.values()}
    stand_ins[f"a-{run}"] = f"z-{run}"
    missing = {key: stand_ins[value] for key, value in real.items()}
    real["arn"] = f"arn:openstack:heat::{A}:stacks/a-{run}/{a_stack}/resources/v"
    missing["arn"] = f"arn:openstack:heat::{A}:stacks/z-{run}/{missing['stack_id']}/resources/v"
    return {"b": b, "real": real, "missing": missing, "b_config": b_config["software_config"]["id"],
            "a_server_token": a_server["credential"]["token"], "a_stack": a_stack, "run": run}


def _bodies(ids: dict, b_config: str) -> list[dict]:
    """Bodies that name the objects, for routes that take ids in the body."""
    deployment = {"type": "OS::Heat::SoftwareDeployment",
                  "properties": {"config": ids["config_id"], "server": ids["server_id"],
                                 "signal_transport": "NO_SIGNAL"}}
    return [{},
            {"config_id": ids["config_id"], "server_id": ids["server_id"], "name": "n"},
            {"config_id": b_config, "server_id": ids["server_id"]},
            {"name": "n", "id": ids["server_id"]},
            {"template": _value_template(d=deployment)},
            {"deploy_status_code": 0, "config_id": ids["config_id"]}]


def _paths(rule: str, ids: dict, tenant: str) -> list[str]:
    params = PARAM.findall(rule)
    unknown = [p for p in params if p not in ids and p not in ("tenant", "rest", "filename",
                                                               "resource", "output_key",
                                                               "type_name", "version")]
    assert not unknown, f"{rule}: teach this test what to put in {unknown}"
    # names inside a stack are the same in A's stack and the missing one
    # the catalog names no tenant's object: the same type and version on both sides
    values = dict(ids, tenant=tenant, filename="x", resource="v", output_key="o",
                  type_name="OS::Heat::Value", version="heat_template_version.2018-08-31")
    rests = STACK_REST if "rest" in params else [""]
    return [PARAM.sub(lambda m: rest if m.group(1) == "rest" else values[m.group(1)], rule)
            for rest in rests]


ONE_TIME_VALUES = re.compile(r'(name="csrf_token" value=")[^"]*')  # a fresh nonce per page


def _answer(response, replacements: dict[str, str]) -> tuple[int, str]:
    text = ONE_TIME_VALUES.sub(r"\1<nonce>", response.get_data(as_text=True))
    for old, new in replacements.items():
        text = text.replace(old, new)
    return response.status_code, text


def _where_they_differ(one, other) -> str:
    if not isinstance(one, tuple) or one[0] != other[0]:
        return str(one)[:200]
    start = next((i for i, (x, y) in enumerate(zip(one[1], other[1])) if x != y), 0)
    return f"{one[0]} ...{one[1][max(0, start - 60):start + 100]}"


def test_tenant_b_cannot_tell_tenant_a_objects_from_missing_ones(app, api, world):
    b, real, missing = world["b"], world["real"], world["missing"]
    to_missing = {real[k]: missing[k] for k in real}
    differences, count, stack_names = [], 0, iter(range(10 ** 6))
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/static"):
            continue
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        for tenant in (B, A):
            pairs = zip(_paths(rule.rule, real, tenant), _paths(rule.rule, missing, tenant))
            for (real_path, missing_path), method in ((p, m) for p in pairs for m in methods):
                writes = method in ("POST", "PUT", "PATCH")
                bodies = (zip(_bodies(real, world["b_config"]), _bodies(missing, world["b_config"]))
                          if writes else [(None, None)])
                for real_body, missing_body in bodies:
                    if real_path == missing_path and real_body == missing_body:
                        continue  # the same request (it names no object): nothing to tell
                    answers = []
                    for path, body in ((real_path, real_body), (missing_path, missing_body)):
                        if body and "template" in body:
                            body = dict(body, stack_name=f"b-{world['run']}-{next(stack_names)}")
                        answers.append(b.client.open(path, method=method, json=body,
                                                     headers={"X-Auth-Token": b.token}))
                        count += 1
                    seen, expected = _answer(answers[0], to_missing), _answer(answers[1], {})
                    if writes and seen[0] < 300 and expected[0] < 300:
                        seen, expected = seen[0], expected[0]  # what was made differs by id
                    if seen != expected:
                        differences.append(f"{method} {real_path} {str(real_body):.60}:\n"
                                           f"  A's     -> {_where_they_differ(seen, expected)}\n"
                                           f"  missing -> {_where_they_differ(expected, seen)}")
    assert count > 500
    assert not differences, (f"{len(differences)} of {count // 2} requests told A's objects "
                             "from missing ones:\n" + "\n".join(differences[:40]))
    _a_is_untouched(app, api, world)


def _a_is_untouched(app, api, world):
    real = world["real"]
    assert api.get(f"/v1/{A}/software_configs/{real['config_id']}").status_code == 200
    deployment = api.get(f"/v1/{A}/software_deployments/{real['deployment_id']}").json
    assert deployment["software_deployment"]["status"] == "IN_PROGRESS"
    agent = api.as_(world["a_server_token"])
    document = agent.get(f"/v1/{A}/servers/{real['server_id']}/metadata")
    assert document.status_code == 200
    assert [d["name"] for d in document.json["deployments"]] == ["hello"]
    assert api.get(f"/v1/{A}/stacks/{real['name']}").status_code in (200, 302)
    # every stack tenant B made failed its deployment on A's server as on a missing one
    engine = app.extensions["stoker-engine"]
    for stack in api.get(f"/v1/{B}/stacks").json["stacks"]:
        if stack["stack_name"].startswith(f"b-{world['run']}-"):
            engine.wait(stack["id"], 30)


def test_a_scoped_deployment_on_another_tenants_server_is_404_as_for_a_missing_one(
        api, world):
    b, real, missing = world["b"], world["real"], world["missing"]
    answers = [b.post(f"/v1/{B}/software_deployments",
                      {"config_id": world["b_config"], "server_id": ids["server_id"]})
               for ids in (real, missing)]
    assert [a.status_code for a in answers] == [404, 404]
    assert (answers[0].json["error"]["message"].replace(real["server_id"], missing["server_id"])
            == answers[1].json["error"]["message"])
    # the unscoped admin may still name a server not registered yet (Heat's API allows any id),
    # but not one of another tenant, where the deployment would never be delivered
    config = api.post(f"/v1/{B}/software_configs", {"name": "c", "config": ""}).json
    for server_id, status in ((missing["server_id"], 200), (real["server_id"], 404)):
        created = api.post(f"/v1/{B}/software_deployments", {
            "config_id": config["software_config"]["id"], "server_id": server_id})
        assert created.status_code == status, created.json


def test_a_scoped_token_cannot_choose_a_server_id(api, world):
    """Ids are shared by all tenants: a chosen one taken elsewhere would answer 409."""
    b, real, missing = world["b"], world["real"], world["missing"]
    answers = [b.post(f"/v1/{B}/servers", {"name": "n", "id": ids["server_id"]})
               for ids in (real, missing)]
    assert [a.status_code for a in answers] == [403, 403]
    assert answers[0].json == answers[1].json
    assert answers[0].json["error"]["message"].startswith("id: ")
    assert b.post(f"/v1/{B}/servers", {"name": "n"}).status_code == 201
    assert api.post(f"/v1/{B}/servers", {"name": "n", "id": missing["server_id"]}).status_code == 201


def test_a_stack_cannot_use_another_tenants_config_or_server(app, world):
    """The engine looks configs up in the stack's tenant, and needs the deployment's server to be
    one of the tenant's (Heat's nova.server constraint): A's objects fail as missing ones do."""
    b, real, missing = world["b"], world["real"], world["missing"]
    engine = app.extensions["stoker-engine"]
    reasons = []
    for ids in (real, missing):
        for config, server in ((ids["config_id"], {"get_resource": "vm"}),
                               (world["b_config"], ids["server_id"])):
            template = _value_template(
                vm={"type": "OS::Heat::DeployedServer"},
                d={"type": "OS::Heat::SoftwareDeployment",
                   "properties": {"config": config, "server": server,
                                  "signal_transport": "NO_SIGNAL"}})
            name = f"b-{world['run']}-{len(reasons)}"
            created = b.post(f"/v1/{B}/stacks", {"stack_name": name, "template": template})
            assert created.status_code == 201, created.json
            engine.wait(created.json["stack"]["id"], 30)
            shown = b.get(f"/v1/{B}/stacks/{name}/{created.json['stack']['id']}").json
            reasons.append((shown["stack"]["stack_status"],
                            shown["stack"]["stack_status_reason"]
                            .replace(real["config_id"], missing["config_id"])
                            .replace(real["server_id"], missing["server_id"])))
    assert reasons[:2] == reasons[2:]
    assert all(status == "CREATE_FAILED" for status, _ in reasons), reasons
    assert "not found" in reasons[0][1] and "not found" in reasons[1][1], reasons


def test_tenant_b_cannot_point_its_own_deployment_at_tenant_a_config(api, world):
    b, real, missing = world["b"], world["real"], world["missing"]
    server = b.post(f"/v1/{B}/servers", {"name": "mine"}).json["server"]["id"]
    deployment = b.post(f"/v1/{B}/software_deployments", {
        "config_id": world["b_config"], "server_id": server}).json["software_deployment"]["id"]
    answers = [b.put(f"/v1/{B}/software_deployments/{deployment}", {"config_id": ids["config_id"]})
               for ids in (real, missing)]
    assert [a.status_code for a in answers] == [400, 400]
    assert (answers[0].get_data(True).replace(real["config_id"], missing["config_id"])
            == answers[1].get_data(True))
    shown = b.get(f"/v1/{B}/software_deployments/{deployment}").json["software_deployment"]
    assert shown["config_id"] == world["b_config"]
