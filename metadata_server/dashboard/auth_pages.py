"""Sign in with an operator token, sign out, and the landing page."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for

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


@bp.get("/sign-in")
def sign_in_page():
    return render_template("dashboard/sign_in.html", error=None, tenant="",
                           next=request.args.get("next", ""), session=None)


@bp.post("/sign-in")
def sign_in():
    tenant = request.form.get("tenant", "")
    cookie, error = sessions.sign_in(request.form.get("token", ""), tenant)
    if cookie is None:
        return render_template("dashboard/sign_in.html", error=error, tenant=tenant[:255],
                               next=request.form.get("next", ""), session=None), 401
    response = redirect(_next_page(request.form.get("next")), code=303)
    sessions.set_cookie(response, cookie)
    return response


@bp.post("/sign-out")
@sessions.signed_in
def sign_out(session):
    response = redirect(url_for("dashboard.sign_in_page"), code=303)
    sessions.clear_cookie(response)
    return response
