"""/v1/{tenant}/software_configs: Heat's shapes and status codes, clear errors."""
import pytest

from tests.server.conftest import SCRIPT_CONFIG


def test_create_returns_200_with_full_config(api):
    response = api.post("/v1/t1/software_configs", SCRIPT_CONFIG)
    assert response.status_code == 200
    config = response.json["software_config"]
    assert set(config) == {"id", "name", "group", "creation_time", "config", "inputs",
                           "outputs", "options"}
    assert config["inputs"] == [{"name": "name", "type": "String", "default": "world"}]
    # outputs get Heat's defaults; null keys are dropped
    assert config["outputs"] == [{"name": "result", "description": "the result",
                                  "type": "String", "error_output": False}]
    assert config["options"] == {}
    assert config["creation_time"].endswith("Z")


def test_empty_body_creates_config_with_defaults(api):
    config = api.post("/v1/t1/software_configs", {}).json["software_config"]
    assert (config["inputs"], config["outputs"], config["options"]) == ([], [], {})
    assert config["config"] is None and config["group"] is None


def test_structured_config_round_trips_a_map(api, make_config):
    config = make_config(config={"app": {"port": 8080}}, group="os-apply-config")
    shown = api.get(f"/v1/t1/software_configs/{config['id']}").json["software_config"]
    assert shown["config"] == {"app": {"port": 8080}}


def test_replace_on_change_kept_only_when_true(make_config):
    config = make_config(inputs=[{"name": "a", "replace_on_change": False},
                                 {"name": "b", "replace_on_change": True}])
    assert config["inputs"] == [{"name": "a", "type": "String"},
                                {"name": "b", "type": "String", "replace_on_change": True}]


@pytest.mark.parametrize("body, message", [
    ({"inputs": {"name": "x"}}, "inputs: must be a list of objects"),
    ({"inputs": [{"type": "String"}]}, "inputs[0].name: required"),
    ({"inputs": [{"name": "x", "type": "Str"}]}, "inputs[0].type: 'Str' is not one of"),
    ({"inputs": [{"name": "x", "colour": "red"}]}, "inputs[0]: unknown key 'colour'"),
    ({"inputs": [{"name": "n", "type": "Number", "default": "many"}]},
     "inputs[0].default: 'many' is not a valid Number"),
    ({"outputs": [{"name": "o", "error_output": "yes"}]}, "outputs[0].error_output: must be true or false"),
    ({"options": [1]}, "options: must be an object"),
    ({"name": 5}, "name: must be a string"),
])
def test_invalid_config_is_400_naming_the_field(api, body, message):
    response = api.post("/v1/t1/software_configs", body)
    assert response.status_code == 400
    assert message in response.json["error"]["message"]
    assert response.json["error"]["traceback"] is None


def test_empty_string_default_allowed_for_any_type(make_config):
    # Heat's legacy path
    make_config(inputs=[{"name": "n", "type": "Number", "default": ""}])


def test_list_is_summary_newest_first_with_limit_and_marker(api, make_config):
    ids = [make_config(name=f"c{i}")["id"] for i in range(3)]
    listed = api.get("/v1/t1/software_configs").json["software_configs"]
    assert [c["id"] for c in listed] == ids[::-1]
    assert set(listed[0]) == {"id", "name", "group", "creation_time"}
    page = api.get("/v1/t1/software_configs?limit=1").json["software_configs"]
    assert [c["id"] for c in page] == [ids[2]]
    rest = api.get(f"/v1/t1/software_configs?marker={ids[2]}").json["software_configs"]
    assert [c["id"] for c in rest] == [ids[1], ids[0]]
    assert api.get("/v1/t1/software_configs?limit=-1").status_code == 400


def test_configs_are_kept_per_tenant(api, make_config):
    config = make_config(tenant="t1")
    assert api.get(f"/v1/t2/software_configs/{config['id']}").status_code == 404
    assert api.get("/v1/t2/software_configs").json["software_configs"] == []


def test_show_unknown_is_404_in_heat_error_shape(api):
    response = api.get("/v1/t1/software_configs/nope")
    assert response.status_code == 404
    assert set(response.json) == {"code", "title", "explanation", "error"}
    assert response.json["error"]["type"] == "NotFound"
    assert "nope" in response.json["error"]["message"]


def test_delete_then_gone(api, make_config):
    config = make_config()
    assert api.delete(f"/v1/t1/software_configs/{config['id']}").status_code == 204
    assert api.get(f"/v1/t1/software_configs/{config['id']}").status_code == 404
    assert api.delete(f"/v1/t1/software_configs/{config['id']}").status_code == 404


def test_delete_config_in_use_is_409_not_500(api, make_config):
    config = make_config()
    api.post("/v1/t1/software_deployments", {"config_id": config["id"], "server_id": "s1"})
    response = api.delete(f"/v1/t1/software_configs/{config['id']}")
    assert response.status_code == 409
    assert "still used by a deployment" in response.json["error"]["message"]
