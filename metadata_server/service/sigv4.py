"""AWS signature version 4, as boto signs the CFN API requests of heat-cfntools' cfn-init and
cfn-hup (keystone's ec2tokens verifies the same for Heat).

The request carries `Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/
aws4_request, SignedHeaders=host;x-amz-date, Signature=<hex>` and an `X-Amz-Date` header. The
canonical request is the method, the normalised and quoted path, the sorted and quoted query (empty
for a POST, whose form is the payload), the signed headers as `name:value` lines, their names, and
the payload's SHA-256; the signing key is derived from the secret through the date, region and
service the client named. Verification is local, with the server's stored secret.
"""
from __future__ import annotations

import hashlib
import hmac
import posixpath
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Mapping
from urllib.parse import quote

from metadata_server.service.cfn import MAX_CLOCK_SKEW, CfnError

ALGORITHM = "AWS4-HMAC-SHA256"
_FIELD = re.compile(r"\s*(Credential|SignedHeaders|Signature)\s*=\s*([^,\s]*)\s*")


@dataclass(frozen=True)
class Authorization:
    access_key: str
    scope: tuple[str, str, str]  # date (YYYYMMDD), region, service, as the client named them
    signed_headers: tuple[str, ...]
    signature: str


def is_v4(header: str | None) -> bool:
    return bool(header) and header.lstrip().startswith(ALGORITHM + " ")


def parse(header: str) -> Authorization:
    """The parts of a v4 Authorization header, or the AWS error naming what is missing."""
    fields = {}
    for part in header.strip()[len(ALGORITHM):].split(","):
        match = _FIELD.fullmatch(part)
        if match:
            fields[match.group(1)] = match.group(2)
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
    if missing:
        raise CfnError(400, "IncompleteSignature", "The request signature does not conform to "
                       f"AWS standards: the Authorization header has no {', '.join(missing)}")
    credential = fields["Credential"].split("/")
    if len(credential) != 5 or credential[4] != "aws4_request" or not all(credential[:4]):
        raise CfnError(400, "IncompleteSignature", "The request signature does not conform to "
                       "AWS standards: Credential must be <key>/<date>/<region>/<service>/"
                       "aws4_request")
    signed = tuple(fields["SignedHeaders"].lower().split(";"))
    if "host" not in signed:
        raise CfnError(400, "IncompleteSignature", "The request signature does not conform to "
                       "AWS standards: SignedHeaders must include host")
    return Authorization(credential[0], (credential[1], credential[2], credential[3]), signed,
                         fields["Signature"])


def canonical_request(method: str, path: str, query: Iterable[tuple[str, str]],
                      headers: Mapping[str, str], signed_headers: Iterable[str],
                      payload: bytes) -> str:
    normalised = posixpath.normpath(path or "/")
    uri = quote(normalised, safe="/-_.~") + ("/" if len(path) > 1 and path.endswith("/") else "")
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in query)
    lower = {k.lower(): v for k, v in headers.items()}
    names = list(signed_headers)
    lines = [f"{name}:{' '.join(str(lower.get(name, '')).split())}" for name in names]
    return "\n".join([method.upper(), uri, "&".join(f"{k}={v}" for k, v in encoded),
                      "\n".join(lines) + "\n", ";".join(names),
                      hashlib.sha256(payload).hexdigest()])


def signature(secret_key: str, amz_date: str, scope: tuple[str, str, str], canonical: str) -> str:
    date, region, service = scope
    to_sign = "\n".join([ALGORITHM, amz_date, f"{date}/{region}/{service}/aws4_request",
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{secret_key}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def verify(secret_key: str, auth: Authorization, method: str, path: str,
           query: Iterable[tuple[str, str]], headers: Mapping[str, str], payload: bytes,
           now: datetime) -> None:
    """Raise CfnError unless the request is signed with `secret_key` within 15 minutes of `now`
    (naive UTC)."""
    lower = {k.lower(): v for k, v in headers.items()}
    amz_date = lower.get("x-amz-date", "")
    try:
        stamp = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    except ValueError:
        raise CfnError(400, "IncompleteSignature", f"X-Amz-Date {amz_date[:40]!r} is not a "
                       "time such as 20260102T030405Z") from None
    if "x-amz-date" not in auth.signed_headers or auth.scope[0] != amz_date[:8]:
        raise CfnError(400, "IncompleteSignature", "The request signature does not conform to "
                       "AWS standards: X-Amz-Date must be signed and match the Credential's date")
    canonical = canonical_request(method, path, query, headers, auth.signed_headers, payload)
    expected = signature(secret_key, amz_date, auth.scope, canonical)
    if not hmac.compare_digest(expected.encode(), auth.signature.encode()):
        raise CfnError(403, "SignatureDoesNotMatch", "The request signature we calculated does "
                       "not match the signature you provided")
    if abs(now - stamp) > MAX_CLOCK_SKEW:
        raise CfnError(400, "RequestExpired", f"Request has expired: its X-Amz-Date {amz_date} "
                       "is more than 15 minutes from the server's time; check the client's "
                       "clock (NTP)")
