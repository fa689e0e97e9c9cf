"""Property: whatever JSON (or near-JSON) body a client sends to any route that reads one, the
answer is never a 500 or a traceback, and a 400 names the field or the body at fault."""
from __future__ import annotations

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from tests.abuse.fuzzing import budget, check_answer, encode, json_values
from tests.server.conftest import api, app, make_config, make_server  # noqa: F401 (fixtures)
from tests.server.test_no_500 import FIELDS

# each route with a body it accepts: examples change one or two of its fields, so they get past
# the first check and reach the later ones
ROUTES = [
    ("POST", "/v1/t1/software_configs", "admin", {
        "name": "c", "group": "script", "config": "#!/bin/sh\n", "options": {},
        "inputs": [{"name": "x", "type": "String", "default": "d"}],
        "outputs": [{"name": "o", "error_output": False}]}),
    ("POST", "/v1/t1/software_deployments", "admin", {
        "config_id": "{config}", "server_id": "{server}", "action": "CREATE",
        "status": "IN_PROGRESS", "input_values": {"x": 1}, "signal_transport": "TEMP_URL_SIGNAL",
        "timeout": 60}),
    ("PUT", "/v1/t1/software_deployments/{deployment}", "admin", {
        "config_id": "{config}", "status": "COMPLETE", "status_reason": "r",
        "output_values": {"o": 1}, "input_values": {}, "action": "UPDATE"}),
    ("POST", "/v1/t1/servers", "admin", {"name": "vm", "id": "chosen"}),
    ("POST", "/v1/tokens", "admin", {"name": "t", "tenant": "t1", "expires_in": 60}),
    ("POST", "/v1/signal/deployments/{deployment}", "server", {
        "deploy_stdout": "out", "deploy_stderr": "", "deploy_status_code": 0, "o": "v"}),
    ("PUT", "/v1/signal/deployments/{deployment}", "server", {"deploy_status_code": 1}),
    ("POST", "/v3/auth/tokens", None, {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "id": "{server}", "password": "{token}"}}},
        "scope": {"project": {"id": "t1"}}}}),
]

field_names = st.one_of(st.sampled_from(FIELDS), st.text(max_size=12))
bodies = st.dictionaries(field_names, json_values(), max_size=6)


@st.composite
def raw_bodies(draw, valid: dict):
    """A route's valid body with a field or two changed (or any value at all), as JSON text that
    is sometimes cut short, repeats a key, or nests around the depth limit."""
    body = draw(st.one_of(st.just(None), json_values()))
    if draw(st.integers(0, 3)):
        body = dict(valid)
        for _ in range(draw(st.integers(1, 2))):
            body[draw(st.one_of(st.sampled_from(sorted(valid)), field_names))] = draw(json_values())
    raw = encode(body)
    how = draw(st.sampled_from(["whole", "whole", "whole", "cut", "repeat", "nest"]))
    if how == "cut":
        raw = raw[:draw(st.integers(0, len(raw)))]
    elif how == "repeat" and isinstance(body, dict) and body:
        raw = b"{" + encode(next(iter(body))) + b": 1, " + raw[1:]
    elif how == "nest":
        depth = draw(st.sampled_from([1, 96, 97, 98, 99, 100, 3000]))  # around the limit
        raw = b'{"input_values": ' + b"[" * depth + raw + b"]" * depth + b"}"
    return raw


def _filled(value, targets: dict):
    if isinstance(value, str):
        return value.format(**targets) if value.startswith("{") else value
    if isinstance(value, dict):
        return {k: _filled(v, targets) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, targets) for v in value]
    return value


@pytest.fixture
def targets(api, make_config, make_server) -> dict:
    """A server and a deployment the routes name; made once per test, shared by its examples."""
    server = make_server()
    deployment = api.post("/v1/t1/software_deployments", {
        "config_id": make_config()["id"], "server_id": server["server"]["id"],
        "action": "CREATE", "status": "IN_PROGRESS"}).json["software_deployment"]
    return {"deployment": deployment["id"], "token": server["credential"]["token"],
            "server": server["server"]["id"], "config": make_config()["id"]}


@budget
@given(data=st.data())
def test_no_body_gets_a_500_and_errors_name_the_field(api, targets, data):
    method, path, who, valid = data.draw(st.sampled_from(ROUTES), label="route")
    raw = data.draw(raw_bodies(_filled(valid, targets)), label="body")
    token = {"admin": api.token, "server": targets["token"], None: None}[who]
    response = api.client.open(path.format(**targets), method=method, data=raw, headers={
        "Content-Type": "application/json", **({"X-Auth-Token": token} if token else {})})
    check_answer(response)
    event(f"{method} {path.split('/')[-2]} {response.status_code}")


def test_the_valid_bodies_are_valid(api, targets):
    """Else the examples above would stop at the first check and test little."""
    for method, path, who, valid in ROUTES:
        token = {"admin": api.token, "server": targets["token"], None: None}[who]
        response = api.client.open(path.format(**targets), method=method,
                                   json=_filled(valid, targets),
                                   headers={"X-Auth-Token": token} if token else {})
        assert response.status_code in (200, 201), (path, response.get_data(True)[:300])
