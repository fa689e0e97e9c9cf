"""Hostile JSON bodies: nesting past the recursion limit, non-finite and overlong numbers,
duplicate keys, and text no UTF-8 database can store. Every JSON route reads bodies through one
parser (service/json_input.py); each case is refused there with a 400 that says what, or stored.
"""
from __future__ import annotations

import json

import pytest

from metadata_server.service.json_input import MAX_DEPTH, MAX_INT_DIGITS
from tests.server.conftest import api, app, make_config, make_server  # noqa: F401 (fixtures)

# (body, what the 400's message says)
REFUSED = {
    "deep-array": (b"[" * 100000, f"nest deeper than {MAX_DEPTH} levels"),
    "deep-balanced": (b"[" * 900 + b"]" * 900, f"nest deeper than {MAX_DEPTH} levels"),
    "deep-inside-a-field": (b'{"name": ' + b'{"a": ' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 2),
                            f"nest deeper than {MAX_DEPTH} levels"),
    "duplicate-key": (b'{"name": "a", "name": "b"}', "key 'name' appears more than once"),
    "nested-duplicate-key": (b'{"input_values": {"x": 1, "x": 2}}', "key 'x' appears more than once"),
    "float-overflow": (b'{"timeout": 1e400}', "number 1e400 is out of range"),
    "negative-overflow": (b'{"timeout": -1e999}', "number -1e999 is out of range"),
    "nan": (b'{"timeout": NaN}', "NaN is not a JSON number"),
    "infinity": (b'{"timeout": Infinity}', "Infinity is not a JSON number"),
    "long-int": (b'{"timeout": ' + b"9" * 5000 + b"}",
                 f"an integer of 5000 digits is longer than {MAX_INT_DIGITS} digits"),
    "long-negative-int": (b'{"timeout": -' + b"9" * 5000 + b"}", "an integer of 5000 digits"),
}
ROUTES = [("POST", "/v3/auth/tokens", None), ("POST", "/v1/t1/software_configs", "admin"),
          ("POST", "/v1/t1/software_deployments", "admin"), ("POST", "/v1/t1/servers", "admin"),
          ("POST", "/v1/t1/stacks", "admin"), ("POST", "/v1/t1/validate", "admin"),
          ("POST", "/v1/signal/deployments/{deployment}", "server")]


@pytest.fixture
def targets(api, make_config, make_server):
    server = make_server()
    deployment = api.post("/v1/t1/software_deployments", {
        "config_id": make_config()["id"], "server_id": server["server"]["id"],
        "action": "CREATE", "status": "IN_PROGRESS"}).json["software_deployment"]
    return {"deployment": deployment["id"], "server": server["credential"]["token"]}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_hostile_json_is_a_400_naming_what_on_every_json_route(api, targets, case):
    body, says = REFUSED[case]
    for method, path, who in ROUTES:
        token = {"admin": api.token, "server": targets["server"], None: None}[who]
        response = api.as_(token).client.open(
            path.format(**targets), method=method, data=body,
            headers={"Content-Type": "application/json", **({"X-Auth-Token": token} if token else {})})
        assert response.status_code == 400, (path, response.get_data(True)[:300])
        error = response.json["error"]
        message = error["message"] if isinstance(error, dict) else response.json["error"]
        assert says in message, (path, message)
        assert "Traceback" not in response.get_data(True)


def test_nesting_up_to_the_limit_is_read(api, make_config):
    value = json.loads("[" * (MAX_DEPTH - 3) + "]" * (MAX_DEPTH - 3))
    config = make_config(config={"deep": value})  # body > config > deep > the arrays
    shown = api.get(f"/v1/t1/software_configs/{config['id']}").json["software_config"]
    assert shown["config"] == {"deep": value}


def test_large_finite_numbers_are_kept(api, make_config):
    big = 10 ** (MAX_INT_DIGITS - 1)
    config = make_config(config={"big": big, "float": 1.7976931348623157e308, "neg": -big})
    shown = api.get(f"/v1/t1/software_configs/{config['id']}").json["software_config"]
    assert shown["config"] == {"big": big, "float": 1.7976931348623157e308, "neg": -big}


def test_lone_surrogates_are_kept_in_json_values_and_replaced_in_names(api, make_config,
                                                                        make_server):
    """JSON columns keep the escape; a text column gets U+FFFD for the one character."""
    config = make_config(name="n\ud800me", config={"k\udfff": "v\ud800"},
                         inputs=[{"name": "x", "default": "\udc00"}])
    shown = api.get(f"/v1/t1/software_configs/{config['id']}").json["software_config"]
    assert shown["name"] == "n\ufffdme"
    assert shown["config"] == {"k\udfff": "v\ud800"}
    assert shown["inputs"][0]["default"] == "\udc00"
    assert make_server(name="vm\ud800")["server"]["name"] in ("vm\ud800", "vm\ufffd")
    assert api.get("/v1/t1/servers").json["servers"][0]["name"] == "vm\ufffd"
    # an id cannot be stored as given, so it is refused rather than changed
    refused = api.post("/v1/t1/servers", {"name": "x", "id": "id\ud800"})
    assert refused.status_code == 400 and refused.json["error"]["message"].startswith("id:")
    assert api.get("/v1/t1/software_configs/x%ED%A0%80").status_code == 404


def test_a_signal_with_lone_surrogates_lands(api, targets):
    body = {"deploy_stdout": "out\ud800put", "deploy_stderr": "\udfff", "deploy_status_code": 0,
            "result": "r\ud800"}
    signalled = api.as_(targets["server"]).post(
        f"/v1/signal/deployments/{targets['deployment']}", body)
    assert signalled.status_code == 200, signalled.json
    shown = api.get(f"/v1/t1/software_deployments/{targets['deployment']}").json
    deployment = shown["software_deployment"]
    assert deployment["status"] == "COMPLETE"
    assert deployment["output_values"]["deploy_stdout"] == "out\ud800put"
    assert deployment["output_values"]["result"] == "r\ud800"


def test_a_failed_signal_reason_with_a_surrogate_lands(api, targets):
    signalled = api.as_(targets["server"]).post(
        f"/v1/signal/deployments/{targets['deployment']}",
        {"deploy_status_code": "1\ud800", "deploy_stderr": "bad"})
    assert signalled.status_code == 200, signalled.json
    deployment = api.get(f"/v1/t1/software_deployments/{targets['deployment']}").json[
        "software_deployment"]
    assert deployment["status"] == "FAILED"
    assert deployment["status_reason"] == "deploy_status_code : Deployment exited with non-zero " \
                                          "status code: 1\ufffd"


# every numeric field a route reads, with numbers the JSON reader lets through
NUMERIC_FIELDS = [("/v1/tokens", {"name": "t"}, "expires_in"),
                  ("/v1/t1/software_deployments", {"config_id": "{config}", "server_id": "s"},
                   "timeout"),
                  ("/v1/t1/software_deployments", {"config_id": "{config}", "server_id": "s",
                                                   "status": "IN_PROGRESS"}, "input_values"),
                  ("/v1/t1/stacks", {"stack_name": "big", "template": {
                      "heat_template_version": "2018-08-31"}}, "timeout_mins")]
BIG = [1.7976931348623157e308, -1.7976931348623157e308, 10 ** 4000, -(10 ** 4000), 2 ** 63, 1e-320]


@pytest.mark.parametrize("path, body, field", NUMERIC_FIELDS)
def test_big_numbers_in_numeric_fields_are_400_or_kept(api, make_config, path, body, field):
    config = make_config()["id"]
    for big in BIG:
        value = {"deploy_timeout": big} if field == "input_values" else big
        filled = {k: v.format(config=config) if isinstance(v, str) else v for k, v in body.items()}
        response = api.post(path, dict(filled, **{field: value}))
        assert response.status_code < 500, (field, big, response.get_data(True)[:300])
        if response.status_code == 400:
            assert response.json["error"]["message"].startswith(
                "input_values.deploy_timeout" if field == "input_values" else field)
