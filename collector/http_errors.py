"""Turn HTTP client failures into one line an operator can act on, without leaking secrets."""
from __future__ import annotations

import errno
import os
import socket
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests


def redact_url(url: str) -> str:
    """The URL with query values masked: signal URLs carry their signature in `?sig=`."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = urlencode([(k, "***") for k, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit(parts._replace(query=query))


def describe(exc: BaseException) -> str:
    """A short cause such as 'connection refused' or 'timed out after 10s' for a requests error."""
    if isinstance(exc, (requests.ConnectTimeout, requests.ReadTimeout, socket.timeout)):
        return "timed out"
    root = _root_cause(exc)
    if isinstance(root, socket.gaierror):
        return "cannot resolve host name"
    if isinstance(root, OSError) and root.errno:
        if root.errno == errno.ECONNREFUSED:
            return "connection refused"
        return os.strerror(root.errno).lower()
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error: " + _first_line(root)
    return _first_line(root) or type(root).__name__


def _root_cause(exc: BaseException) -> BaseException:
    # requests wraps urllib3 errors, which wrap the socket error; urllib3 keeps it in `.reason`.
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        nxt = getattr(exc, "reason", None)
        if not isinstance(nxt, BaseException):
            nxt = exc.__cause__ or exc.__context__
        if nxt is None and exc.args and isinstance(exc.args[0], BaseException):
            nxt = exc.args[0]
        if not isinstance(nxt, BaseException):
            break
        exc = nxt
    return exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""
