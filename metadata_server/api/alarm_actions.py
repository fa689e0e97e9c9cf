"""How stoker's alarm evaluator calls an alarm action URL, as Aodh's REST notifier does: a POST
of the alarm's JSON (service/alarm_evaluator.py builds it) with an `x-openstack-request-id`.

A URL under one of the server's own base URLs (a ScalingPolicy's pre-signed `alarm_url`) is
called in-process, through the app's own routes, so the signature is checked as for any caller
and no socket, proxy or balancer is involved. Any other http(s) URL gets a real POST with a
timeout, following no redirects; a target on a loopback, private or link-local address is
refused unless the operator allowed its network (a tenant must not make the server probe the
operator's network). `trust+http(s)://` is called without the trust's token (stoker has no
Keystone trusts); `log://` only logs, as in Aodh. Answers None, or what went wrong (never the
URL's query, which holds the signature).
"""
from __future__ import annotations

import ipaddress
import json
import logging
import socket
import uuid
from typing import Callable, Iterable
from urllib.parse import urlsplit

import requests

log = logging.getLogger("stoker.alarms")


class ActionCaller:
    def __init__(self, app, own_bases: Callable[[], Iterable[str | None]], *,
                 timeout: float = 5.0, allow_networks: Iterable[str] = ()):
        """`own_bases`: the base URLs of this server (the public one, the engine's), read at
        each call since the engine's is known only once it is made."""
        self.app = app
        self._own_bases = own_bases
        self.timeout = timeout
        self.networks = [ipaddress.ip_network(n, strict=False) for n in allow_networks]
        self._session = requests.Session()
        self._session.trust_env = False   # a tenant's URL never goes through the operator's proxy

    def __call__(self, url: str, payload: dict) -> str | None:
        headers = {"Content-Type": "application/json",
                   "x-openstack-request-id": f"req-{uuid.uuid4()}"}
        if url.startswith("trust+"):
            url = url[len("trust+"):]
        scheme = urlsplit(url).scheme
        if scheme == "log":
            log.info("alarm %s: %s -> %s (%s)", payload.get("alarm_name"), payload.get("previous"),
                     payload.get("current"), payload.get("reason"))
            return None
        if scheme not in ("http", "https"):
            return f"{scheme or 'this'} actions are not supported by stoker's evaluator"
        bases = sorted({b.rstrip("/") for b in self._own_bases() if b}, key=len, reverse=True)
        for base in bases:
            if url.startswith(base + "/"):
                return self._in_process(url[len(base):], payload, headers)
        problem = self._internal(url)
        if problem:
            return problem
        try:
            answer = self._session.post(url, data=json.dumps(payload), headers=headers,
                                        timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            return type(exc).__name__
        with answer:
            return None if 200 <= answer.status_code < 300 else f"HTTP {answer.status_code}"

    def _in_process(self, path: str, payload: dict, headers: dict) -> str | None:
        answer = self.app.test_client().post(path, data=json.dumps(payload), headers=headers)
        if 200 <= answer.status_code < 300:
            return None
        try:
            message = answer.get_json()["error"]["message"]
        except (TypeError, KeyError):
            message = answer.status
        return f"HTTP {answer.status_code}: {message}"

    def _internal(self, url: str) -> str | None:
        host = urlsplit(url).hostname
        if not host:
            return "the URL names no host"
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return f"{host} does not resolve"
        for info in infos:
            address = ipaddress.ip_address(info[4][0].split("%")[0])
            if any(address in network for network in self.networks):
                continue
            if not address.is_global or address.is_multicast:
                return (f"target address {address} is internal; an operator may allow it with "
                        "--alarm-action-allow-network")
        return None
