"""Where and how this agent's samples go: the URL is derived from the collectors' configuration.

- `request` collector on stoker's signed metadata URL `.../v1/metadata/{server}?sig=...`: POST to
  `.../v1/metadata/{server}/metrics?sig=...` (the signature is the credential, as for the GET);
- `watch` collector on `.../v1/{tenant}/servers/{server}/metadata` with `auth_token`: POST to
  `.../v1/{tenant}/servers/{server}/metrics` with the token in X-Auth-Token.

The first collector in `collectors` order that gives one wins. Other collectors (heat, cfn, ec2...)
talk to services that have no metrics route; with only those, metrics stay off (logged once).

One POST's answer is SENT (any 2xx), DROP (400 or 413: the same body would be refused again) or
RETRY (no answer, 408, 429, 5xx, and 401/403/404, which a token rotation or a server upgrade
mends); a RETRY carries the server's Retry-After when it gave one.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional
from urllib.parse import urlsplit, urlunsplit

from stoker_common.http_client import HttpClient, TransportError
from stoker_common.http_errors import redact_url
from stoker_common.retry_after import retry_after

SIGNED = re.compile(r"(.*/v1/metadata/[^/]+)/?")
TOKEN = re.compile(r"(.*/v1/[^/]+/servers/[^/]+)/metadata/?")
TIMEOUT = 10.0

SENT, RETRY, DROP = "sent", "retry", "drop"


@dataclass(frozen=True)
class Target:
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def shown(self) -> str:
        return redact_url(self.url)


def target_from(collectors: tuple[str, ...] | list[str], settings: Mapping[str, Mapping[str, Any]]) -> Optional[Target]:
    for name in collectors:
        options = settings.get(name) or {}
        url = options.get("metadata_url")
        if not url:
            continue
        parts = urlsplit(url)
        if name == "request":
            match = SIGNED.fullmatch(parts.path)
            if match and "sig=" in parts.query:
                return Target(urlunsplit(parts._replace(path=match.group(1) + "/metrics")))
        elif name == "watch" and options.get("auth_token"):
            match = TOKEN.fullmatch(parts.path)
            if match:
                return Target(urlunsplit(parts._replace(path=match.group(1) + "/metrics")),
                              {"X-Auth-Token": options["auth_token"]})
    return None


@dataclass(frozen=True)
class Outcome:
    result: str                       # SENT, RETRY or DROP
    detail: str = ""                  # one line, no secrets
    retry_after: Optional[float] = None


class Sender:
    def __init__(self, target: Target, http: HttpClient | None = None, timeout: float = TIMEOUT,
                 clock: Callable[[], float] = time.time):
        self.target = target
        self.http = http or HttpClient()
        self.timeout = timeout
        self.clock = clock

    def post(self, body: bytes) -> Outcome:
        headers = {"Content-Type": "application/json", **self.target.headers}
        try:
            answer = self.http.request("POST", self.target.url, headers, body, timeout=self.timeout)
        except TransportError as exc:
            return Outcome(RETRY, f"POST {self.target.shown}: {exc.reason}")
        if 200 <= answer.status < 300:
            return Outcome(SENT)
        detail = f"POST {self.target.shown}: {answer.status} {_excerpt(answer.body)}".rstrip()
        if answer.status in (400, 413):
            return Outcome(DROP, detail)
        return Outcome(RETRY, detail, retry_after(answer.headers, self.clock()))


def _excerpt(body: bytes) -> str:
    return " ".join(body[:200].decode("utf-8", "replace").split())
