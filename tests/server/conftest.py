from __future__ import annotations

import pytest

ADMIN = "admin-token-for-tests"


@pytest.fixture
def app(store, clock):
    from metadata_server.app import create_app
    from metadata_server.service.credentials import token_hash

    app = create_app(store, token_hash(ADMIN), clock=clock, public_url="http://stoker.test")
    yield app
    engine = app.extensions.get("stoker-engine")  # made by a stack request, if any
    if engine is not None:
        engine.close()


class Api:
    """A Flask test client that speaks as one caller."""

    def __init__(self, client, token: str | None):
        self.client, self.token = client, token

    def _headers(self, extra=None):
        headers = {"X-Auth-Token": self.token} if self.token else {}
        headers.update(extra or {})
        return headers

    def get(self, path, **kw):
        return self.client.get(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, path, **kw):
        return self.client.delete(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path, body=None, **kw):
        return self.client.post(path, json=body, headers=self._headers(kw.pop("headers", None)), **kw)

    def put(self, path, body=None, **kw):
        return self.client.put(path, json=body, headers=self._headers(kw.pop("headers", None)), **kw)

    def as_(self, token):
        return Api(self.client, token)


@pytest.fixture
def api(app):
    return Api(app.test_client(), ADMIN)


SCRIPT_CONFIG = {
    "name": "hello", "group": "script", "config": "#!/bin/sh\necho hello $name\n",
    "inputs": [{"name": "name", "type": "String", "default": "world"}],
    "outputs": [{"name": "result", "description": "the result"}],
}


@pytest.fixture
def make_config(api):
    def make(tenant="t1", **overrides):
        response = api.post(f"/v1/{tenant}/software_configs", dict(SCRIPT_CONFIG, **overrides))
        assert response.status_code == 200, response.json
        return response.json["software_config"]
    return make


@pytest.fixture
def make_server(api):
    def make(tenant="t1", name="vm", **extra):
        response = api.post(f"/v1/{tenant}/servers", dict(name=name, **extra))
        assert response.status_code == 201, response.json
        return response.json
    return make
