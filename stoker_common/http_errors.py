"""Turn HTTP client failures into one line an operator can act on, without leaking secrets.

Used by the agent's own client (http_client.py) and by `stoker agent doctor`; it does not import
requests (its timeout classes are recognised by name), so the idle agent does not carry it.
"""
from __future__ import annotations

import errno
import os
import socket
import ssl
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Class names of requests' and urllib3's timeout errors.
# Before Python 3.10 a socket timeout is socket.timeout, a class of its own; from 3.10 it is
# TimeoutError under another name.
SOCKET_TIMEOUTS = (TimeoutError, socket.timeout)
TIMEOUT_CLASSES = frozenset({"Timeout", "ConnectTimeout", "ReadTimeout", "ConnectTimeoutError",
                             "ReadTimeoutError"})


def redact_url(url: str) -> str:
    """The URL with query values (signal URLs carry their signature in `?sig=`) and a password in
    it masked."""
    parts = urlsplit(url)
    if not parts.query and parts.password is None:
        return url
    if parts.password is not None:
        user, _, host = parts.netloc.rpartition("@")
        parts = parts._replace(netloc=f"{user.partition(':')[0]}:***@{host}")
    if not parts.query:
        return urlunsplit(parts)
    query = urlencode([(k, "***") for k, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit(parts._replace(query=query))


def describe(exc: BaseException) -> str:
    """A short cause such as 'connection refused' or 'timed out' for a transport failure."""
    if isinstance(exc, SOCKET_TIMEOUTS) or any(c.__name__ in TIMEOUT_CLASSES for c in type(exc).__mro__):
        return "timed out"
    root = _root_cause(exc)
    if isinstance(root, SOCKET_TIMEOUTS):
        return "timed out"
    if isinstance(root, ssl.SSLCertVerificationError):
        return "TLS error: certificate verify failed: " + (root.verify_message or _first_line(root))
    if isinstance(root, ssl.SSLError):  # before errno: an SSLError's errno is OpenSSL's, not the OS's
        return "TLS error: " + (_first_line(root) or str(root.reason))
    if isinstance(root, socket.gaierror):
        return "cannot resolve host name"
    if isinstance(root, OSError) and root.errno:
        if root.errno == errno.ECONNREFUSED:
            return "connection refused"
        return os.strerror(root.errno).lower()
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
