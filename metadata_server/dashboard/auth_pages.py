"""Sign in with an operator token, sign out, and the landing page."""
from __future__ import annotations

from flask import make_response, redirect, render_template, request, url_for

from metadata_server.dashboard import session as sessions
from metadata_server.dashboard.blueprint import bp


def _next_page(value: str | None) -> str:
    """Where to go after signing in: only a dashboard page of this server (no open redirect)."""
    if value and value.startswith("/dashboard/") and not value.startswith("//") \
            and "\\" not in value and len(value) < 2048:
        return value
    return url_for("dashboard.stacks")


@bp.get("/")
def home():
    if sessions.current() is None:
        return redirect(url_for("dashboard.sign_in_page"))
    return redirect(url_for("dashboard.stacks"))


def _form(error: str | None, tenant: str, next_page: str, code: int = 200):
    return sessions.sign_in_nonce(lambda nonce: make_response(render_template(
        "dashboard/sign_in.html", error=error, tenant=tenant[:255], next=next_page[:2048],
        csrf=nonce, session=None), code))


@bp.get("/sign-in")
def sign_in_page():
    return _form(None, "", request.args.get("next", ""))


@bp.post("/sign-in")
def sign_in():
    tenant, next_page = request.form.get("tenant", ""), request.form.get("next", "")
    if not sessions.sign_in_nonce_matches():
        return _form("The sign-in form is stale or came from another site; sign in again.",
                     tenant, next_page, 403)
    cookie, error = sessions.sign_in(request.form.get("token", ""), tenant)
    if cookie is None:
        return _form(error, tenant, next_page, 401)
    response = redirect(_next_page(next_page), code=303)
    sessions.set_cookie(response, cookie)
    response.delete_cookie(sessions.SIGN_IN_COOKIE, path="/dashboard", httponly=True,
                           samesite="Strict")
    return response


@bp.post("/sign-out")
@sessions.signed_in
def sign_out(session):
    response = redirect(url_for("dashboard.sign_in_page"), code=303)
    sessions.clear_cookie(response)
    return response
