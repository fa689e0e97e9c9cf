"""Sign-in: a signed HttpOnly cookie that holds no token, CSRF on every form, revocation ends it."""
from __future__ import annotations

import hashlib

from tests.dashboard.conftest import ADMIN, TENANT, Browser


def _cookie_header(response) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("stoker_dashboard=")]
    assert len(headers) == 1, response.headers
    return headers[0]


def test_a_visitor_is_sent_to_sign_in_and_the_live_feed_answers_401(browser):
    page = browser.get("/dashboard/stacks")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/dashboard/sign-in?next=/dashboard/stacks")
    assert browser.get("/dashboard/stacks/x/live.json").status_code == 401
    assert browser.get("/dashboard/").headers["Location"] == "/dashboard/sign-in"


def test_a_wrong_token_is_refused_without_a_session(browser):
    response = browser.sign_in(token="not-a-token")
    assert response.status_code == 401
    assert "The token is not valid" in response.get_data(as_text=True)
    assert not [h for h in response.headers.getlist("Set-Cookie")
                if h.startswith("stoker_dashboard=")]


def test_a_sign_in_without_the_forms_nonce_is_refused(browser):
    """Login CSRF: another site cannot sign the browser in as someone else."""
    response = browser.client.post("/dashboard/sign-in", data={"token": ADMIN, "tenant": TENANT,
                                                               "csrf_token": "guessed"})
    assert response.status_code == 403
    assert "sign in again" in response.get_data(as_text=True)
    assert browser.get("/dashboard/stacks").status_code == 302


def test_the_cookie_is_httponly_strict_and_holds_neither_token_nor_digest(browser):
    response = browser.sign_in()
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard/stacks"
    header = _cookie_header(response)
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/dashboard" in header
    assert "Secure" not in header                        # the public URL is http
    assert ADMIN not in header
    assert hashlib.sha256(ADMIN.encode()).hexdigest() not in header
    page = browser.get("/dashboard/stacks")
    assert page.status_code == 200
    assert f"Tenant: <strong>{TENANT}</strong>" in page.get_data(as_text=True)
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_an_https_public_url_makes_the_cookie_secure(make_app):
    response = Browser(make_app("https://stoker.example").test_client()).sign_in()
    assert "; Secure" in _cookie_header(response)


def test_a_forged_cookie_is_not_a_session(app, browser):
    client = app.test_client()
    client.set_cookie("stoker_dashboard", "eyJ3IjoiYWRtaW4ifQ.forged.sig", path="/dashboard")
    assert client.get("/dashboard/stacks").status_code == 302


def test_posts_need_the_sessions_csrf_token(browser):
    browser.sign_in()
    assert browser.post("/dashboard/sign-out").status_code == 403
    assert browser.post("/dashboard/sign-out", {"csrf_token": "guess"}).status_code == 403
    assert browser.get("/dashboard/stacks").status_code == 200     # still signed in
    signed_out = browser.post("/dashboard/sign-out", {"csrf_token": browser.csrf()})
    assert signed_out.status_code == 303
    assert browser.get("/dashboard/stacks").status_code == 302


def test_revoking_an_operator_token_ends_its_session(app, browser):
    api = app.test_client()
    made = api.post("/v1/tokens", json={"name": "ops"}, headers={"X-Auth-Token": ADMIN})
    assert made.status_code == 201, made.json
    token, token_id = made.json["secret"], made.json["token"]["id"]
    assert browser.sign_in(token=token).status_code == 303
    assert browser.get("/dashboard/servers").status_code == 200
    assert api.delete(f"/v1/tokens/{token_id}", headers={"X-Auth-Token": ADMIN}).status_code == 204
    assert browser.get("/dashboard/servers").status_code == 302


def test_a_scoped_token_shows_only_its_own_tenant(app, browser):
    api = app.test_client()
    made = api.post("/v1/tokens", json={"name": "t", "tenant": "mine"},
                    headers={"X-Auth-Token": ADMIN})
    token = made.json["secret"]
    refused = browser.sign_in(token=token, tenant="other")
    assert refused.status_code == 401
    assert "scoped to tenant mine" in refused.get_data(as_text=True)
    assert browser.sign_in(token=token, tenant="").status_code == 303
    assert "Tenant: <strong>mine</strong>" in browser.get("/dashboard/stacks").get_data(as_text=True)


def test_a_server_credential_cannot_sign_in(app, browser):
    api = app.test_client()
    made = api.post(f"/v1/{TENANT}/servers", json={"name": "vm"}, headers={"X-Auth-Token": ADMIN})
    response = browser.sign_in(token=made.json["credential"]["token"])
    assert response.status_code == 401
    assert "sign in with an operator token" in response.get_data(as_text=True)


def test_sign_in_goes_back_only_to_a_dashboard_page(browser):
    for target, expected in (("/dashboard/servers", "/dashboard/servers"),
                             ("https://evil.example/", "/dashboard/stacks"),
                             ("//evil.example/dashboard/", "/dashboard/stacks")):
        response = browser.sign_in(next=target)
        assert response.headers["Location"] == expected


def test_a_bad_tenant_is_refused_with_the_reason(browser):
    for tenant, reason in (("x" * 65, "longer than 64 characters"), ("a/b", "holds a character"),
                           ("", "give the tenant")):
        response = browser.sign_in(tenant=tenant)
        assert response.status_code == 401 and reason in response.get_data(as_text=True)
