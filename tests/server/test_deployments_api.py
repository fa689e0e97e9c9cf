"""/v1/{tenant}/software_deployments: Heat's behaviour, plus stoker's server-side derivation."""


def _create(api, tenant="t1", **body):
    return api.post(f"/v1/{tenant}/software_deployments", body)


def test_heat_style_create_uses_heat_defaults(api, make_config):
    config = make_config()
    response = _create(api, config_id=config["id"], server_id="srv-1")
    assert response.status_code == 200
    deployment = response.json["software_deployment"]
    assert set(deployment) == {"id", "server_id", "config_id", "input_values", "output_values",
                               "action", "status", "status_reason", "creation_time"}
    assert (deployment["action"], deployment["status"]) == ("INIT", "COMPLETE")
    assert deployment["config_id"] == config["id"]
    assert deployment["input_values"] == {} and deployment["output_values"] is None


def test_client_derived_config_is_served_as_is(api, make_config):
    """openstack software deployment create derives the config itself; keep it untouched."""
    derived = make_config(name="dep1", inputs=[
        {"name": "deploy_server_id", "type": "String", "value": "srv-1"},
        {"name": "deploy_action", "type": "String", "value": "CREATE"},
        {"name": "deploy_signal_transport", "type": "String", "value": "NO_SIGNAL"}])
    _create(api, config_id=derived["id"], server_id="srv-1", action="CREATE",
            status="IN_PROGRESS")
    items = api.get("/v1/t1/software_deployments/metadata/srv-1").json["metadata"]
    assert [i["id"] for i in items] == [derived["id"]]
    assert items[0]["inputs"] == derived["inputs"]


def test_unknown_config_is_400(api):
    response = _create(api, config_id="missing", server_id="srv-1")
    assert response.status_code == 400
    assert "config_id: config with id missing not found" in response.json["error"]["message"]


def test_missing_server_id_is_400(api, make_config):
    response = _create(api, config_id=make_config()["id"])
    assert response.status_code == 400
    assert response.json["error"]["message"].startswith("server_id: required")


def test_long_stack_user_project_id_is_400(api, make_config):
    response = _create(api, config_id=make_config()["id"], server_id="s",
                       stack_user_project_id="p" * 65)
    assert response.status_code == 400


def test_derived_config_has_deploy_inputs_in_heat_order(api, make_config):
    config = make_config()
    deployment = _create(api, config_id=config["id"], server_id="srv-1",
                         signal_transport="TEMP_URL_SIGNAL", input_values={"name": "you", "x": 1},
                         stack_id="st/123", resource_name="dep").json["software_deployment"]
    assert deployment["status"] == "IN_PROGRESS"
    assert deployment["status_reason"] == "Deploy data available"
    assert deployment["action"] == "CREATE"
    assert deployment["config_id"] != config["id"]
    derived = api.get(f"/v1/t1/software_configs/{deployment['config_id']}").json["software_config"]
    names = [i["name"] for i in derived["inputs"]]
    assert names == ["name", "x", "deploy_server_id", "deploy_action", "deploy_stack_id",
                     "deploy_resource_name", "deploy_signal_transport", "deploy_signal_id",
                     "deploy_signal_verb"]
    values = {i["name"]: i["value"] for i in derived["inputs"]}
    assert values["name"] == "you" and values["x"] == 1
    assert values["deploy_stack_id"] == "st/123" and values["deploy_resource_name"] == "dep"
    assert values["deploy_signal_verb"] == "PUT"
    assert values["deploy_signal_id"].startswith(
        f"http://stoker.test/v1/signal/deployments/{deployment['id']}?expires=")
    assert "&sig=" in values["deploy_signal_id"]


def test_cfn_signal_posts(api, make_config):
    deployment = _create(api, config_id=make_config()["id"], server_id="s",
                         signal_transport="CFN_SIGNAL").json["software_deployment"]
    derived = api.get(f"/v1/t1/software_configs/{deployment['config_id']}").json["software_config"]
    assert {i["name"]: i["value"] for i in derived["inputs"]}["deploy_signal_verb"] == "POST"


def test_no_signal_is_complete_at_once(api, make_config):
    deployment = _create(api, config_id=make_config()["id"], server_id="s",
                         signal_transport="NO_SIGNAL").json["software_deployment"]
    assert deployment["status"] == "COMPLETE"
    assert deployment["status_reason"] == "Not waiting for outputs signal"


def test_unknown_transport_is_400(api, make_config):
    response = _create(api, config_id=make_config()["id"], server_id="s",
                       signal_transport="PIGEON")
    assert response.status_code == 400
    assert "signal_transport: 'PIGEON'" in response.json["error"]["message"]


def test_update_applies_truthy_values_only(api, make_config):
    config = make_config()
    deployment = _create(api, config_id=config["id"], server_id="s",
                         status_reason="first").json["software_deployment"]
    response = api.put(f"/v1/t1/software_deployments/{deployment['id']}",
                       {"status": "FAILED", "status_reason": "", "output_values": {},
                        "action": None})
    updated = response.json["software_deployment"]
    assert response.status_code == 200
    assert updated["status"] == "FAILED"
    assert updated["status_reason"] == "first"
    assert updated["action"] == "INIT"
    assert "updated_time" in updated


def test_update_to_unknown_config_is_400(api, make_config):
    deployment = _create(api, config_id=make_config()["id"], server_id="s").json["software_deployment"]
    response = api.put(f"/v1/t1/software_deployments/{deployment['id']}", {"config_id": "nope"})
    assert response.status_code == 400


def test_update_and_delete_unknown_are_404(api):
    assert api.put("/v1/t1/software_deployments/nope", {"status": "X"}).status_code == 404
    assert api.delete("/v1/t1/software_deployments/nope").status_code == 404
    assert api.get("/v1/t1/software_deployments/nope").status_code == 404


def test_list_filters_by_server_oldest_first(api, make_config):
    config = make_config()
    first = _create(api, config_id=config["id"], server_id="a").json["software_deployment"]
    _create(api, config_id=config["id"], server_id="b")
    third = _create(api, config_id=config["id"], server_id="a").json["software_deployment"]
    listed = api.get("/v1/t1/software_deployments?server_id=a").json["software_deployments"]
    assert [d["id"] for d in listed] == [first["id"], third["id"]]
    assert len(api.get("/v1/t1/software_deployments").json["software_deployments"]) == 3


def test_delete_removes_it_from_the_metadata(api, make_config):
    config = make_config()
    deployment = _create(api, config_id=config["id"], server_id="s").json["software_deployment"]
    assert len(api.get("/v1/t1/software_deployments/metadata/s").json["metadata"]) == 1
    assert api.delete(f"/v1/t1/software_deployments/{deployment['id']}").status_code == 204
    assert api.get("/v1/t1/software_deployments/metadata/s").json["metadata"] == []
