"""EC2 signature version 2, as Heat's CFN API and os-collect-config's cfn collector use it.

string to sign = VERB \\n host \\n path \\n canonical query, where the canonical query is every
parameter but Signature, sorted by name, each `quote(name, safe='') = quote(value, safe='-_~')`;
the signature is base64(HMAC-SHA256(secret, string to sign)).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone
from urllib.parse import quote, urlsplit


def canonical_query(params: dict[str, str]) -> str:
    return "&".join(f"{quote(str(k), safe='')}={quote(str(v), safe='-_~')}"
                    for k, v in sorted(params.items()) if k != "Signature")


def sign_v2(secret_key: str, verb: str, host: str, path: str, params: dict[str, str]) -> str:
    to_sign = "\n".join((verb.upper(), host, path or "/", canonical_query(params)))
    digest = hmac.new(secret_key.encode(), to_sign.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_query(access_key: str, secret_key: str, verb: str, url: str,
                 params: dict[str, str], now: datetime | None = None) -> dict[str, str]:
    """`params` plus the signature parameters, ready to send with `url`.

    The signed Timestamp (`now`, default the current UTC time) lets the server refuse a
    captured request after 15 minutes, as AWS does.
    """
    parts = urlsplit(url)
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is not None:
        now = now.astimezone(timezone.utc)
    query = dict(params, AWSAccessKeyId=access_key, SignatureVersion="2",
                 SignatureMethod="HmacSHA256", Timestamp=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    query["Signature"] = sign_v2(secret_key, verb, parts.netloc, parts.path, query)
    return query
