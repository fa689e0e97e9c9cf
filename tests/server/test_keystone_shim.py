"""stoker's keystone v3 for agents: server users (POLL_SERVER_HEAT) and deployment users
(HEAT_SIGNAL), the tokens they get, and what those tokens may and may not do."""
from __future__ import annotations

import base64
import json

import pytest

from metadata_server.service import keystone


def password_auth(user_id, password, project="t1", by_name=False):
    user = {"name" if by_name else "id": user_id, "password": password}
    if by_name:
        user["domain"] = {"id": "default"}
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}
    if project is not None:
        body["auth"]["scope"] = {"project": {"id": project}}
    return body


def login(api, user_id, password, **kw):
    response = api.as_(None).post("/v3/auth/tokens", password_auth(user_id, password, **kw))
    assert response.status_code == 201, response.json
    return response.headers["X-Subject-Token"], response.json["token"]


def heat_deployment(api, make_config, server_id, resource="deploy"):
    response = api.post("/v1/t1/software_deployments", {
        "config_id": make_config()["id"], "server_id": server_id, "signal_transport": "HEAT_SIGNAL",
        "stack_id": "app/0e1f", "resource_name": resource})
    assert response.status_code == 200, response.json
    deployment = response.json["software_deployment"]
    derived = api.get(f"/v1/t1/software_configs/{deployment['config_id']}").json["software_config"]
    return deployment, {i["name"]: i.get("value") for i in derived["inputs"]}


def test_version_document_for_discovery(api):
    for path in ("/v3", "/v3/"):
        response = api.as_(None).get(path)
        assert response.status_code == 200
        version = response.json["version"]
        assert version["id"].startswith("v3.") and version["status"] == "stable"
        assert version["links"] == [{"rel": "self", "href": "http://stoker.test/v3/"}]


def test_server_user_gets_a_scoped_token_with_the_catalog(api, make_server):
    registered = make_server()
    sid, password = registered["server"]["id"], registered["credential"]["token"]
    token, body = login(api, sid, password)
    assert token.startswith("stk-ks.") and password not in token
    assert body["user"]["id"] == sid and body["project"]["id"] == "t1"
    assert body["roles"] == [{"id": "heat_stack_user", "name": "heat_stack_user"}]
    assert body["expires_at"].endswith("Z") and body["methods"] == ["password"]
    urls = {(s["type"], e["interface"]): e["url"] for s in body["catalog"] for e in s["endpoints"]}
    assert urls[("orchestration", "public")] == "http://stoker.test/v1/t1"
    assert urls[("identity", "public")] == "http://stoker.test/v3"
    # the token reads this server's metadata, as the server's own token does
    agent = api.as_(token)
    assert agent.get(f"/v1/t1/servers/{sid}/metadata").status_code == 200
    other = make_server(name="other")["server"]["id"]
    assert agent.get(f"/v1/t1/servers/{other}/metadata").status_code == 403
    assert agent.get("/v1/t1/software_configs").status_code == 403
    # unscoped requests are scoped to the user's project, as its only one
    token, body = login(api, sid, password, project=None)
    assert body["project"]["id"] == "t1"


@pytest.mark.parametrize("case", ["wrong password", "unknown user", "other project",
                                  "another server's password"])
def test_wrong_credentials_are_401_in_keystone_shape(api, make_server, case):
    registered, other = make_server(), make_server(name="other")
    sid, password = registered["server"]["id"], registered["credential"]["token"]
    user, secret, project = {
        "wrong password": (sid, password + "x", "t1"),
        "unknown user": ("nobody", password, "t1"),
        "other project": (sid, password, "t2"),
        "another server's password": (sid, other["credential"]["token"], "t1"),
    }[case]
    response = api.as_(None).post("/v3/auth/tokens", password_auth(user, secret, project))
    assert response.status_code == 401
    assert response.json["error"]["code"] == 401 and response.json["error"]["title"] == "Unauthorized"
    assert "X-Subject-Token" not in response.headers
    assert password not in response.get_data(as_text=True)
    assert response.headers["WWW-Authenticate"] == 'Keystone uri="http://stoker.test/v3"'


@pytest.mark.parametrize("body, field", [
    ({}, "auth.identity"),
    ({"auth": {"identity": {"methods": ["token"], "token": {"id": "x"}}}}, "auth.identity.methods"),
    ({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "x"}}}}},
     "auth.identity.password.user"),
    ({"auth": {"identity": {"methods": ["password"], "password": {"user": {"password": "p"}}}}},
     "auth.identity.password.user.id"),
    ({"auth": {"identity": {"methods": ["password"],
                            "password": {"user": {"id": "x", "password": "p"}}},
               "scope": {"project": {"id": 7}}}}, "auth.scope.project.id"),
    ([], "auth.identity"),
])
def test_malformed_auth_is_400_naming_the_field(api, body, field):
    response = api.as_(None).post("/v3/auth/tokens", body)
    assert response.status_code == 400
    assert response.json["error"]["message"].startswith(field + ":")


def test_non_json_auth_is_400(api):
    response = api.client.post("/v3/auth/tokens", data=b"user=x", content_type="text/plain")
    assert response.status_code == 400 and "not valid JSON" in response.json["error"]["message"]


def test_rotation_and_deletion_revoke_issued_tokens(api, make_server):
    registered = make_server()
    sid = registered["server"]["id"]
    token, _ = login(api, sid, registered["credential"]["token"])
    agent = api.as_(token)
    assert agent.get(f"/v1/t1/servers/{sid}/metadata").status_code == 200
    rotated = api.post(f"/v1/t1/servers/{sid}/credentials")
    assert rotated.status_code in (200, 201), rotated.json
    assert agent.get(f"/v1/t1/servers/{sid}/metadata").status_code == 401
    token, _ = login(api, sid, rotated.json["credential"]["token"])
    assert api.as_(token).get(f"/v1/t1/servers/{sid}/metadata").status_code == 200
    assert api.delete(f"/v1/t1/servers/{sid}").status_code == 204
    assert api.as_(token).get(f"/v1/t1/servers/{sid}/metadata").status_code == 401


def test_tampered_and_expired_tokens_are_refused(api, make_server, clock):
    registered = make_server()
    sid = registered["server"]["id"]
    token, _ = login(api, sid, registered["credential"]["token"])
    payload, signature = token.removeprefix("stk-ks.").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload))
    forged = base64.urlsafe_b64encode(json.dumps(dict(claims, s="other")).encode()).decode()
    assert api.as_(f"stk-ks.{forged}.{signature}").get(f"/v1/t1/servers/{sid}/metadata").status_code == 401
    clock.now += keystone.TOKEN_LIFETIME
    response = api.as_(token).get(f"/v1/t1/servers/{sid}/metadata")
    assert response.status_code == 401 and "expired" in response.json["error"]["message"]


def test_heat_signal_inputs_in_heats_order_and_their_user(api, make_server, make_config):
    registered = make_server()
    sid = registered["server"]["id"]
    deployment, values = heat_deployment(api, make_config, sid)
    derived = api.get(f"/v1/t1/software_configs/{deployment['config_id']}").json["software_config"]
    names = [i["name"] for i in derived["inputs"]]
    assert names[-6:] == ["deploy_signal_transport", "deploy_auth_url", "deploy_username",
                          "deploy_user_id", "deploy_password", "deploy_project_id"]
    assert "deploy_signal_id" not in names
    assert values["deploy_auth_url"] == "http://stoker.test/v3"
    assert values["deploy_user_id"] == values["deploy_username"] == deployment["id"]
    assert values["deploy_project_id"] == "t1"
    token, body = login(api, values["deploy_user_id"], values["deploy_password"],
                        project=values["deploy_project_id"])
    assert body["user"]["id"] == deployment["id"]
    # by name, as a client given deploy_username would
    login(api, values["deploy_username"], values["deploy_password"], by_name=True)
    signaller = api.as_(token)
    # a deployment user may signal its deployment and nothing else
    assert signaller.get(f"/v1/t1/servers/{sid}/metadata").status_code == 403
    other, _ = heat_deployment(api, make_config, sid, resource="other")
    assert signaller.put(f"/v1/signal/deployments/{other['id']}", {}).status_code == 403
    response = signaller.put(f"/v1/signal/deployments/{deployment['id']}", {"deploy_status_code": 0})
    assert response.status_code == 200 and response.json["signal"]["status"] == "COMPLETE"
    # a deployment's password is not its server's, nor another deployment's
    bad = api.as_(None).post("/v3/auth/tokens", password_auth(other["id"], values["deploy_password"]))
    assert bad.status_code == 401
    assert api.delete(f"/v1/t1/software_deployments/{deployment['id']}").status_code == 204
    assert signaller.put(f"/v1/signal/deployments/{deployment['id']}", {}).status_code == 401


def test_heat_signal_outside_a_stack_is_400(api, make_server, make_config):
    sid = make_server()["server"]["id"]
    response = api.post("/v1/t1/software_deployments", {
        "config_id": make_config()["id"], "server_id": sid, "signal_transport": "HEAT_SIGNAL"})
    assert response.status_code == 400
    assert "HEAT_SIGNAL" in response.json["error"]["message"]


def test_an_expired_keystone_token_is_refused_even_when_its_polls_were_answered_from_memory(
        api, make_server, clock, app):
    registered = make_server()
    sid = registered["server"]["id"]
    token, _ = login(api, sid, registered["credential"]["token"])
    agent = api.as_(token)
    # the first poll builds the document and caches the credential; the second is the one the
    # fast path answers from memory
    assert agent.get(f"/v1/t1/servers/{sid}/metadata").status_code == 200
    before = app.extensions["stoker"].metrics.value("stoker_polls_total", answer="200", path="fast")
    assert agent.get(f"/v1/t1/servers/{sid}/metadata").status_code == 200
    assert app.extensions["stoker"].metrics.value(
        "stoker_polls_total", answer="200", path="fast") == before + 1
    clock.now += keystone.TOKEN_LIFETIME
    response = agent.get(f"/v1/t1/servers/{sid}/metadata")
    assert response.status_code == 401 and "expired" in response.json["error"]["message"]
