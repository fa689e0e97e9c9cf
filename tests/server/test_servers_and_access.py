"""Servers, their credentials, their documents, and who may touch what."""
import pytest


def _deploy(api, config_id, server_id, tenant="t1", transport="TEMP_URL_SIGNAL"):
    response = api.post(f"/v1/{tenant}/software_deployments",
                        {"config_id": config_id, "server_id": server_id,
                         "signal_transport": transport})
    assert response.status_code == 200, response.json
    return response.json["software_deployment"]


def test_register_returns_token_once_and_agent_config(api, make_server):
    registered = make_server(name="web-1", id="srv-web-1")
    assert registered["server"]["id"] == "srv-web-1"
    token = registered["credential"]["token"]
    assert len(token) >= 32
    assert registered["agent_config"] == {
        "metadata_url": "http://stoker.test/v1/t1/servers/srv-web-1/metadata",
        "auth_token": token}
    shown = api.get("/v1/t1/servers/srv-web-1").json["server"]
    assert token not in str(shown) and shown["last_seen_time"] is None


def test_duplicate_server_id_is_409(make_server, api):
    make_server(id="dup")
    assert api.post("/v1/t1/servers", {"name": "again", "id": "dup"}).status_code == 409


def test_register_needs_a_name(api):
    response = api.post("/v1/t1/servers", {})
    assert response.status_code == 400
    assert response.json["error"]["message"].startswith("name: required")


def test_document_with_etag_and_304(api, make_server, make_config):
    server = make_server()
    sid, agent = server["server"]["id"], api.as_(server["credential"]["token"])
    url = f"/v1/t1/servers/{sid}/metadata"
    first = agent.get(url)
    assert first.status_code == 200
    assert first.json == {"deployments": [], "os-collect-config": {
        "collectors": ["watch"], "watch": {"metadata_url": f"http://stoker.test{url}"}}}
    etag = first.headers["ETag"]
    unchanged = agent.get(url, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.data == b""
    _deploy(api, make_config()["id"], sid)
    changed = agent.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert len(changed.json["deployments"]) == 1
    assert server["credential"]["token"] not in changed.get_data(as_text=True)


def test_poll_records_last_seen(api, make_server):
    server = make_server()
    api.as_(server["credential"]["token"]).get(f"/v1/t1/servers/{server['server']['id']}/metadata")
    assert api.get(f"/v1/t1/servers/{server['server']['id']}").json["server"]["last_seen_time"]


def test_deleted_server_token_is_refused(api, make_server):
    server = make_server()
    sid, token = server["server"]["id"], server["credential"]["token"]
    assert api.delete(f"/v1/t1/servers/{sid}").status_code == 204
    assert api.as_(token).get(f"/v1/t1/servers/{sid}/metadata").status_code == 401
    assert api.get(f"/v1/t1/servers/{sid}").status_code == 404


def test_cross_access_matrix(api, make_server, make_config):
    """Every server credential against every other server's routes: all denied."""
    config = make_config()
    servers = [make_server(name=f"vm{i}") for i in range(3)]
    deployments = {s["server"]["id"]: _deploy(api, config["id"], s["server"]["id"])
                   for s in servers}
    for caller in servers:
        agent = api.as_(caller["credential"]["token"])
        own = caller["server"]["id"]
        for target in servers:
            sid = target["server"]["id"]
            expected = 200 if sid == own else 403
            assert agent.get(f"/v1/t1/servers/{sid}/metadata").status_code == expected
            assert agent.get(f"/v1/t1/software_deployments/metadata/{sid}").status_code == expected
            signal = agent.put(f"/v1/signal/deployments/{deployments[sid]['id']}",
                               {"deploy_status_code": 0})
            assert signal.status_code == expected
        # another tenant's URL for its own server
        assert agent.get(f"/v1/t2/servers/{own}/metadata").status_code == 403
        # and nothing an operator does
        for method, path in [("get", "/v1/t1/software_configs"),
                             ("get", f"/v1/t1/software_configs/{config['id']}"),
                             ("get", "/v1/t1/software_deployments"),
                             ("get", f"/v1/t1/software_deployments/{deployments[own]['id']}"),
                             ("put", f"/v1/t1/software_deployments/{deployments[own]['id']}"),
                             ("delete", f"/v1/t1/software_deployments/{deployments[own]['id']}"),
                             ("post", "/v1/t1/software_configs"),
                             ("post", "/v1/t1/software_deployments"),
                             ("get", "/v1/t1/servers"),
                             ("post", "/v1/t1/servers"),
                             ("get", f"/v1/t1/servers/{own}"),
                             ("delete", f"/v1/t1/servers/{own}")]:
            assert getattr(agent, method)(path).status_code == 403, (method, path)


def test_signal_by_url_applies_heat_rules_and_echoes(api, make_server, make_config):
    sid = make_server()["server"]["id"]
    deployment = _deploy(api, make_config()["id"], sid)
    derived = api.get(f"/v1/t1/software_configs/{deployment['config_id']}").json["software_config"]
    url = next(i["value"] for i in derived["inputs"] if i["name"] == "deploy_signal_id")
    path = url.removeprefix("http://stoker.test")
    anonymous = api.as_(None)
    response = anonymous.put(path, {"deploy_stdout": "hi", "deploy_status_code": 0,
                                    "result": "r", "undeclared": 1})
    assert response.status_code == 200
    assert response.json["signal"] == {
        "deployment_id": deployment["id"], "applied": True, "status": "COMPLETE",
        "status_reason": "Outputs received",
        "event": f"deployment {deployment['id']} succeeded"}
    again = anonymous.client.post(path, json={"deploy_status_code": 1})
    assert again.json["signal"]["applied"] is False
    shown = api.get(f"/v1/t1/software_deployments/{deployment['id']}").json["software_deployment"]
    assert shown["status"] == "COMPLETE"
    assert shown["output_values"] == {"result": "r", "deploy_stdout": "hi",
                                      "deploy_stderr": None, "deploy_status_code": 0}


@pytest.mark.parametrize("query", ["?sig=0000", "?sig=", ""])
def test_signal_without_valid_signature_is_refused(api, make_server, make_config, query):
    sid = make_server()["server"]["id"]
    deployment = _deploy(api, make_config()["id"], sid)
    response = api.as_(None).put(f"/v1/signal/deployments/{deployment['id']}{query}",
                                 {"deploy_status_code": 0})
    assert response.status_code in (401, 403)
    shown = api.get(f"/v1/t1/software_deployments/{deployment['id']}").json["software_deployment"]
    assert shown["status"] == "IN_PROGRESS"


def test_signal_unknown_deployment_is_404(api):
    assert api.put("/v1/signal/deployments/nope", {}).status_code == 404


def test_signal_with_malformed_body_is_400(api, make_server, make_config):
    sid = make_server()["server"]["id"]
    deployment = _deploy(api, make_config()["id"], sid)
    response = api.client.put(f"/v1/signal/deployments/{deployment['id']}", data=b"{oops",
                              headers={"X-Auth-Token": api.token})
    assert response.status_code == 400


def _signal_path(api, deployment):
    derived = api.get(f"/v1/t1/software_configs/{deployment['config_id']}").json["software_config"]
    url = next(i["value"] for i in derived["inputs"] if i["name"] == "deploy_signal_id")
    return url.removeprefix("http://stoker.test")


def test_repeated_attempt_is_a_duplicate_and_changes_nothing(api, make_server, make_config):
    sid = make_server()["server"]["id"]
    deployment = _deploy(api, make_config()["id"], sid)
    path, anonymous = _signal_path(api, deployment), api.as_(None)
    headers = {"X-Stoker-Attempt": "attempt-1"}
    first = anonymous.put(path, {"deploy_status_code": 0, "result": "one"}, headers=headers)
    assert first.json["signal"]["applied"] is True
    # an operator re-opens the deployment; a late retry of the same attempt must not close it
    api.put(f"/v1/t1/software_deployments/{deployment['id']}", {"status": "IN_PROGRESS"})
    again = anonymous.put(path, {"deploy_status_code": 1, "result": "two"}, headers=headers)
    assert again.json["signal"]["duplicate"] is True
    assert again.json["signal"]["applied"] is False
    assert again.json["signal"]["status"] == "COMPLETE"  # the verdict of the first delivery
    shown = api.get(f"/v1/t1/software_deployments/{deployment['id']}").json["software_deployment"]
    assert shown["status"] == "IN_PROGRESS" and shown["output_values"]["result"] == "one"
    other = anonymous.put(path, {"deploy_status_code": 0, "result": "three"},
                          headers={"X-Stoker-Attempt": "attempt-2"})
    assert other.json["signal"]["applied"] is True


def test_phase_signal_records_progress_without_completing(api, make_server, make_config):
    sid = make_server()["server"]["id"]
    deployment = _deploy(api, make_config()["id"], sid)
    path = _signal_path(api, deployment)
    response = api.as_(None).put(path, {}, headers={"X-Stoker-Phase": "running"})
    assert response.json["signal"]["phase"] == "running"
    assert response.json["signal"]["applied"] is False
    shown = api.get(f"/v1/t1/software_deployments/{deployment['id']}").json["software_deployment"]
    assert shown["status"] == "IN_PROGRESS"
    assert shown["phase"] == "running" and "last_signal_time" in shown


@pytest.mark.parametrize("header, value", [("X-Stoker-Phase", "Running!"),
                                           ("X-Stoker-Attempt", "a" * 65),
                                           ("X-Stoker-Attempt", "has space")])
def test_bad_signal_headers_are_400(api, make_server, make_config, header, value):
    sid = make_server()["server"]["id"]
    deployment = _deploy(api, make_config()["id"], sid)
    response = api.as_(None).put(_signal_path(api, deployment), {}, headers={header: value})
    assert response.status_code == 400
    assert header in response.json["error"]["message"]


def test_signal_url_expires_a_day_after_the_deadline(api, make_server, make_config, clock):
    from datetime import timedelta
    sid = make_server()["server"]["id"]
    deployment = _deploy(api, make_config()["id"], sid)
    path = _signal_path(api, deployment)
    clock.now += timedelta(seconds=3600 + 60) + timedelta(days=1, seconds=5)
    response = api.as_(None).put(path, {"deploy_status_code": 0})
    assert response.status_code == 403
    assert "expired" in response.json["error"]["message"]


def test_tampered_expiry_is_refused(api, make_server, make_config):
    sid = make_server()["server"]["id"]
    deployment = _deploy(api, make_config()["id"], sid)
    path = _signal_path(api, deployment)
    tampered = path.replace("expires=", "expires=9")
    assert api.as_(None).put(tampered, {"deploy_status_code": 0}).status_code == 403
