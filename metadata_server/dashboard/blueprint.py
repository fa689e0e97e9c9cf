"""The dashboard's blueprint, its security headers and its HTML error pages."""
from __future__ import annotations

from flask import Blueprint, render_template
from werkzeug.exceptions import HTTPException

from metadata_server.dashboard import session as sessions
from metadata_server.service.errors import ServiceError

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates",
               static_folder="static", static_url_path="/static")


@bp.after_request
def headers(response):
    # no framing, no inline script, nothing fetched from elsewhere
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _page(code: int, title: str, message: str):
    return render_template("dashboard/error.html", title=title, message=message,
                           session=sessions.current()), code


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError):
    return _page(exc.code, exc.title, exc.message)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    return _page(exc.code or 500, exc.name, exc.description or "")
