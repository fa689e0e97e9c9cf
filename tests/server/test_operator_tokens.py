"""Operator tokens: hashed, scoped, expiring, revocable."""
from datetime import timedelta


def test_token_lifecycle_and_scope(api, store):
    created = api.post("/v1/tokens", {"name": "ci", "tenant": "t1"})
    assert created.status_code == 201
    secret = created.json["secret"]
    assert secret not in str(store.list_operator_tokens())  # only the hash is kept
    scoped = api.as_(secret)
    assert scoped.post("/v1/t1/software_configs", {}).status_code == 200
    assert scoped.get("/v1/t2/software_configs").status_code == 403
    assert scoped.get("/v1/tokens").status_code == 403
    listed = api.get("/v1/tokens").json["tokens"]
    assert [t["name"] for t in listed] == ["ci"] and "secret" not in listed[0]
    assert api.delete(f"/v1/tokens/{created.json['token']['id']}").status_code == 204
    assert scoped.get("/v1/t1/software_configs").status_code == 401
    assert api.delete(f"/v1/tokens/{created.json['token']['id']}").status_code == 404


def test_unscoped_token_acts_in_any_tenant(api):
    secret = api.post("/v1/tokens", {"name": "ops"}).json["secret"]
    assert api.as_(secret).get("/v1/t9/software_configs").status_code == 200


def test_expired_token_is_refused(api, clock):
    secret = api.post("/v1/tokens", {"name": "short", "expires_in": 10}).json["secret"]
    assert api.as_(secret).get("/v1/t1/software_configs").status_code == 200
    clock.now += timedelta(seconds=30)
    assert api.as_(secret).get("/v1/t1/software_configs").status_code == 401


def test_bad_token_requests(api):
    assert api.post("/v1/tokens", {}).status_code == 400
    response = api.post("/v1/tokens", {"name": "x", "expires_in": "soon"})
    assert response.status_code == 400 and "expires_in" in response.json["error"]["message"]
