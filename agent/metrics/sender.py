"""Where and how this agent's samples go: the URL is derived from the collectors' configuration.

- `request` collector on stoker's signed metadata URL `.../v1/metadata/{server}?sig=...`: POST to
  `.../v1/metadata/{server}/metrics?sig=...` (the signature is the credential, as for the GET);
- `watch` collector on `.../v1/{tenant}/servers/{server}/metadata` with `auth_token`: POST to
  `.../v1/{tenant}/servers/{server}/metrics` with the token in X-Auth-Token;
- `heat` collector with `auth_url`, `user_id`, `password` and `project_id` (stoker's keystone
  issues user_id = the server id, password = the server's token): a keystone password login, as
  the collector and the signals do (stoker_common/keystone.py), then POST
  `{orchestration endpoint of the token's catalog}/servers/{user_id}/metrics` with that token.
  The token is kept until it nears its expiry; a 401 logs in once more.

The first collector in `collectors` order that gives one wins. Other collectors (cfn, ec2...)
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
from urllib.parse import quote, urlsplit, urlunsplit

from stoker_common.http_client import HttpClient, TransportError
from stoker_common.http_errors import redact_url
from stoker_common.keystone import Credentials, Keystone, KeystoneError
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

    def client(self) -> HttpClient:
        return HttpClient()

    def open(self, http: HttpClient) -> tuple[str, Mapping[str, str]]:
        """The URL and headers of the next POST (raises Unreachable when there is none yet)."""
        return self.url, self.headers

    def refused(self) -> bool:
        """The server answered 401: whether a fresh credential is worth one more POST now."""
        return False


class Unreachable(Exception):
    """No URL to POST to yet (keystone down, or it refused the credentials): a retry."""


class KeystoneTarget:
    """The `heat` collector's credentials: a keystone token, and the orchestration endpoint of its
    catalog (in `region`), whose `servers/{user_id}/metrics` takes this server's samples."""

    def __init__(self, credentials: Credentials, region: Optional[str] = None, verify: bool | str = True,
                 timeout: float = TIMEOUT):
        self.credentials = credentials
        self.region = region
        self.verify = verify
        self.timeout = timeout
        self._keystone: Optional[Keystone] = None
        self._token = None

    @property
    def shown(self) -> str:
        return (f"servers/{self.credentials.user_id}/metrics on the orchestration endpoint of keystone "
                f"{redact_url(self.credentials.auth_url)}")

    def client(self) -> HttpClient:
        return HttpClient(verify=self.verify)

    def open(self, http: HttpClient) -> tuple[str, Mapping[str, str]]:
        if self._keystone is None:
            self._keystone = Keystone(http, self.timeout)
        try:
            self._token = self._keystone.token(self.credentials)
            endpoint = self._token.endpoint("orchestration", self.region)
        except KeystoneError as exc:
            raise Unreachable(exc.reason) from None
        url = f"{endpoint}/servers/{quote(self.credentials.user_id or '', safe='')}/metrics"
        return url, {"X-Auth-Token": self._token.value}

    def refused(self) -> bool:
        if self._keystone is None or self._token is None:
            return False
        self._keystone.forget(self._token)  # revoked, or expired before keystone said
        self._token = None
        return True


HEAT_KEYS = ("auth_url", "user_id", "password", "project_id")


def target_from(collectors: tuple[str, ...] | list[str],
                settings: Mapping[str, Mapping[str, Any]]) -> "Target | KeystoneTarget | None":
    for name in collectors:
        options = settings.get(name) or {}
        if name == "heat" and all(options.get(key) for key in HEAT_KEYS):
            return KeystoneTarget(Credentials(options["auth_url"], options["password"], user_id=options["user_id"],
                                              project_id=options["project_id"]),
                                  options.get("region_name"), options.get("ca_file") or True,
                                  float(options.get("timeout") or TIMEOUT))
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
    def __init__(self, target: "Target | KeystoneTarget", http: HttpClient | None = None,
                 timeout: float = TIMEOUT, clock: Callable[[], float] = time.time):
        self.target = target
        self.http = http or target.client()
        self.timeout = timeout
        self.clock = clock

    def post(self, body: bytes) -> Outcome:
        outcome, status = self._post(body)
        if status == 401 and self.target.refused():
            outcome, _ = self._post(body)
        return outcome

    def _post(self, body: bytes) -> tuple[Outcome, Optional[int]]:
        try:
            url, extra = self.target.open(self.http)
        except Unreachable as exc:
            return Outcome(RETRY, f"POST {self.target.shown}: {exc}"), None
        headers = {"Content-Type": "application/json", **extra}
        shown = redact_url(url)
        try:
            answer = self.http.request("POST", url, headers, body, timeout=self.timeout)
        except TransportError as exc:
            return Outcome(RETRY, f"POST {shown}: {exc.reason}"), None
        return self._taken(shown, answer), answer.status

    def _taken(self, shown: str, answer) -> Outcome:
        if 200 <= answer.status < 300:
            return Outcome(SENT)
        detail = f"POST {shown}: {answer.status} {_excerpt(answer.body)}".rstrip()
        if answer.status in (400, 413):
            return Outcome(DROP, detail)
        return Outcome(RETRY, detail, retry_after(answer.headers, self.clock()))


def _excerpt(body: bytes) -> str:
    return " ".join(body[:200].decode("utf-8", "replace").split())
