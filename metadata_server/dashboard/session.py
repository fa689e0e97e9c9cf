"""The dashboard's sign-in: a signed, HttpOnly cookie that names the credential without holding it.

The cookie carries which credential signed in (the admin token, or an operator token's id), a
fingerprint of that credential's stored digest keyed with the server's signing key, the tenant
shown, and the session's CSRF token; it is signed with the same key (shared by every worker and
node through the database). Each request checks the credential again, so revoking or expiring an
operator token ends its dashboard sessions at once. Neither the token nor its digest is in it.
"""
from __future__ import annotations

import hmac
import hashlib
import secrets
from dataclasses import dataclass
from functools import wraps

from flask import abort, redirect, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from metadata_server.api.common import ctx
from metadata_server.service.auth import ADMIN
from metadata_server.service.credentials import token_hash
from metadata_server.service.errors import ServiceError
from metadata_server.service.validate import identifier, max_length

COOKIE = "stoker_dashboard"
SIGN_IN_COOKIE = "stoker_dashboard_sign_in"   # the sign-in form's own CSRF nonce
MAX_AGE = 12 * 3600          # a session lasts a working day at most
SALT = "stoker-dashboard-session"
MAX_TOKEN = 512              # longer is no token of ours; never hashed


@dataclass(frozen=True)
class Session:
    tenant: str
    csrf: str
    scoped: bool    # an operator token confined to one tenant


def _fingerprint(key: str, digest: str) -> str:
    return hmac.new(key.encode(), ("dashboard\n" + digest).encode(), hashlib.sha256).hexdigest()


def _serializer(key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt=SALT)


def sign_in(token: str, tenant: str) -> tuple[str | None, str | None]:
    """(cookie value, None) for a valid operator token, else (None, what is wrong)."""
    c = ctx()
    tenant = tenant.strip()
    if not token or len(token) > MAX_TOKEN:
        return None, "The token is not valid (unknown, revoked or expired)."
    try:
        principal = c.authenticate(token)
    except ServiceError:
        return None, "The token is not valid (unknown, revoked or expired)."
    if principal.kind != ADMIN:
        return None, "This is a server's credential; sign in with an operator token."
    digest = token_hash(token)
    if hmac.compare_digest(digest, c.admin_token_hash):
        who = "admin"
    else:
        row = c.store.operator_for_token(digest, c.clock())
        if row is None:   # revoked between the two reads
            return None, "The token is not valid (unknown, revoked or expired)."
        who = row["id"]
    if principal.tenant is not None:
        if tenant and tenant != principal.tenant:
            return None, f"This token is scoped to tenant {principal.tenant}; leave the tenant empty or give that one."
        tenant = principal.tenant
    if not tenant:
        return None, "Tenant: give the tenant (project id) whose stacks and servers to show."
    try:
        max_length("tenant", tenant, 64)
        identifier("tenant", tenant)
    except ServiceError as exc:
        return None, exc.message
    key = c.signing_key()
    payload = {"w": who, "f": _fingerprint(key, digest), "t": tenant,
               "c": secrets.token_urlsafe(24), "s": principal.tenant is not None}
    return _serializer(key).dumps(payload), None


def current() -> Session | None:
    """The signed-in session of this request, or None."""
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 4096:
        return None
    c = ctx()
    for key in c.signing_keys():
        try:
            payload = _serializer(key).loads(raw, max_age=MAX_AGE)
        except BadSignature:
            continue
        if _still_valid(c, key, payload):
            return Session(payload["t"], payload["c"], bool(payload.get("s")))
        return None
    return None


def _still_valid(c, key: str, payload: dict) -> bool:
    who, fingerprint = payload.get("w"), payload.get("f", "")
    if who == "admin":
        digest = c.admin_token_hash
    else:
        now = c.clock()
        row = next((r for r in c.store.list_operator_tokens() if r["id"] == who), None)
        if row is None or row["revoked_at"] is not None or (
                row["expires_at"] is not None and row["expires_at"] <= now):
            return False
        digest = row["token_hash"]
    return hmac.compare_digest(_fingerprint(key, digest), fingerprint)


def _secure() -> bool:
    return (ctx().public_url or request.host_url).startswith("https:")


def set_cookie(response, value: str) -> None:
    response.set_cookie(COOKIE, value, max_age=MAX_AGE, httponly=True, samesite="Strict",
                        secure=_secure(), path="/dashboard")


def clear_cookie(response) -> None:
    response.delete_cookie(COOKIE, path="/dashboard", httponly=True, samesite="Strict")


def sign_in_nonce(response_factory):
    """Render the sign-in form with a fresh nonce, also set as a cookie: a sign-in posted from
    another site (to sign the victim in as the attacker) carries no matching pair."""
    nonce = secrets.token_urlsafe(24)
    response = response_factory(nonce)
    response.set_cookie(SIGN_IN_COOKIE, nonce, max_age=3600, httponly=True, samesite="Strict",
                        secure=_secure(), path="/dashboard")
    return response


def sign_in_nonce_matches() -> bool:
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    given = request.form.get("csrf_token", "")
    return bool(expected) and hmac.compare_digest(expected.encode("utf-8", "replace"),
                                                  given.encode("utf-8", "replace"))


def signed_in(view):
    """The view gets the session as its first argument; a visitor is sent to sign in, and a
    POST without this session's CSRF token is refused."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        session = current()
        if session is None:
            if request.method == "GET" and not request.path.endswith(".json"):
                return redirect(url_for("dashboard.sign_in_page", next=request.full_path))
            abort(401)
        if request.method == "POST":
            check_csrf(session)
        return view(session, *args, **kwargs)
    return wrapper


def check_csrf(session: Session) -> None:
    given = request.form.get("csrf_token", "")
    if not hmac.compare_digest(session.csrf.encode(), given.encode("utf-8", "replace")):
        abort(403, "The form's CSRF token is missing or stale; reload the page and try again.")
