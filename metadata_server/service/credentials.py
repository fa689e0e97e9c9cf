"""Tokens and signatures. Tokens are shown once and kept only as SHA-256 digests."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Callable, Iterable

SIGNING_SECRET = "signal-signing-key"


def new_token(nbytes: int = 32) -> str:
    """A random URL-safe secret that never starts with "-": operators paste tokens after
    options such as --os-token, where a leading dash reads as another option."""
    while True:
        token = secrets.token_urlsafe(nbytes)
        if not token.startswith("-"):
            return token


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign(key: str, *parts: str) -> str:
    message = "\n".join(parts).encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def same_secret(expected: str, given: str | None) -> bool:
    """Constant-time equality; as bytes, so a non-ASCII value from a client is a plain
    mismatch (hmac.compare_digest raises on non-ASCII str)."""
    return hmac.compare_digest(expected.encode(), (given or "").encode("utf-8", "replace"))


def signed_by_any(keys: Iterable[str], signature: str | None,
                  expected: Callable[[str], str]) -> bool:
    """Whether `signature` is `expected(key)` for one of the accepted keys (current first, then
    those still in their grace period); every key is tried, matched or not."""
    return any([same_secret(expected(key), signature) for key in keys])


def verify(keys: Iterable[str], signature: str, *parts: str) -> bool:
    if isinstance(keys, str):
        raise TypeError("verify takes the accepted keys, not one key")
    return signed_by_any(keys, signature, lambda key: sign(key, *parts))


def signal_signature(key: str, deployment_id: str, expires: str = "") -> str:
    """Signs the deployment and the URL's expiry (unix seconds; empty for a URL that never expires)."""
    return sign(key, "signal", deployment_id, expires)


def metadata_signature(key: str, server_id: str, access_key: str) -> str:
    """Signs a server's metadata URL; covering its access key, it dies with a rotation."""
    return sign(key, "metadata", server_id, access_key)
