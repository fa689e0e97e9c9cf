"""The dashboard through Flask's test client: an app, and a browser-like client that signs in."""
from __future__ import annotations

import re

import pytest

ADMIN = "admin-token-for-dashboard-tests"
TENANT = "dash"


@pytest.fixture
def make_app(store, clock):
    from metadata_server.app import create_app
    from metadata_server.service.credentials import token_hash

    made = []

    def make(public_url="http://stoker.test"):
        app = create_app(store, token_hash(ADMIN), clock=clock, public_url=public_url)
        made.append(app)
        return app
    yield make
    for app in made:
        engine = app.extensions.get("stoker-engine")   # made by a stack page, if any
        if engine is not None:
            engine.close()


@pytest.fixture
def app(make_app):
    return make_app()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


class Browser:
    """A test client that keeps the dashboard's cookie, as a browser would."""

    def __init__(self, client):
        self.client = client

    def sign_in(self, token=ADMIN, tenant=TENANT, **extra):
        """The sign-in form, filled in and posted with its CSRF nonce."""
        form = self.get("/dashboard/sign-in").get_data(as_text=True)
        return self.client.post("/dashboard/sign-in", data=dict(
            token=token, tenant=tenant, csrf_token=csrf_of(form), **extra))

    def get(self, path, **kw):
        return self.client.get(path, **kw)

    def post(self, path, data=None, **kw):
        return self.client.post(path, data=data or {}, **kw)

    def csrf(self) -> str:
        return csrf_of(self.get("/dashboard/stacks").get_data(as_text=True))


@pytest.fixture
def browser(app):
    return Browser(app.test_client())
