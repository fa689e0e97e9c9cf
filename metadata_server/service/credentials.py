"""Tokens and signatures. Tokens are shown once and kept only as SHA-256 digests."""
from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNING_SECRET = "signal-signing-key"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign(key: str, *parts: str) -> str:
    message = "\n".join(parts).encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def verify(key: str, signature: str, *parts: str) -> bool:
    return hmac.compare_digest(sign(key, *parts), signature or "")


def signal_signature(key: str, deployment_id: str, expires: str = "") -> str:
    """Signs the deployment and the URL's expiry (unix seconds; empty for a URL that never expires)."""
    return sign(key, "signal", deployment_id, expires)


def metadata_signature(key: str, server_id: str, access_key: str) -> str:
    """Signs a server's metadata URL; covering its access key, it dies with a rotation."""
    return sign(key, "metadata", server_id, access_key)
