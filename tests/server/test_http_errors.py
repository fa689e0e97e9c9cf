"""Bad requests get Heat's error body with a message that says what is wrong; never a 500."""


def test_malformed_json_is_400_naming_the_problem(api):
    response = api.client.post("/v1/t1/software_configs", data=b'{"name": ',
                               headers={"X-Auth-Token": api.token,
                                        "Content-Type": "application/json"})
    assert response.status_code == 400
    assert "not valid JSON" in response.json["error"]["message"]


def test_body_must_be_an_object(api):
    response = api.post("/v1/t1/software_configs", [1, 2])
    assert response.status_code == 400
    assert "must be a JSON object, got list" in response.json["error"]["message"]


def test_non_utf8_body_is_400(api):
    response = api.client.post("/v1/t1/software_configs", data=b"\xff\xfe{",
                               headers={"X-Auth-Token": api.token})
    assert response.status_code == 400


def test_oversized_body_is_413(api):
    response = api.post("/v1/t1/software_configs", {"config": "x" * (1024 * 1024 + 1)})
    assert response.status_code == 413
    assert response.json["code"] == 413


def test_unknown_route_is_404_json(api):
    response = api.get("/v1/t1/nothing-here")
    assert response.status_code == 404
    assert response.json["error"]["type"] == "NotFound"


def test_unhandled_method_is_405_with_allow(api):
    response = api.client.patch("/v1/t1/software_configs", headers={"X-Auth-Token": api.token})
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"] and "GET" in response.headers["Allow"]


def test_missing_token_is_401(api):
    response = api.as_(None).get("/v1/t1/software_configs")
    assert response.status_code == 401
    assert "X-Auth-Token" in response.json["error"]["message"]


def test_wrong_token_is_401(api):
    assert api.as_("guess").get("/v1/t1/software_configs").status_code == 401


def test_version_documents(api):
    response = api.as_(None).get("/v1")
    assert response.status_code == 300
    assert response.json["versions"][0]["id"] == "v1.0"
    assert api.as_(None).get("/").status_code == 300
