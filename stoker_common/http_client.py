"""The in-guest agent's one HTTP client, on the standard library's http.client.

Every HTTP exchange of the agent (collectors, signal transports, phase reports, `agent doctor`)
goes through `HttpClient.request(method, url, headers, body, timeout) -> Response`. It is not
`requests` because the agent spends most of its life idle in a long poll, and importing requests
(with urllib3, charset_normalizer, idna, certifi) costs about 10 MB of RSS, a third of the
agent's. What it keeps of requests' behaviour, because the agent relied on it:

- `timeout` bounds the connect and each wait for data (not the whole exchange), as requests'.
- TLS verifies certificates and host names; `verify` is True (the system's trust store, or the
  bundle named by REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE when set), a CA bundle file or directory, or
  False. requests used certifi's bundle instead of the system's.
- Proxies from the environment (http_proxy, https_proxy, all_proxy, no_proxy), http:// proxies
  only; urllib.request is imported only when such a variable is set.
- Redirects are followed (at most MAX_REDIRECTS) with requests' method rules (303, and 301/302
  after a POST, become GET without a body). Unlike requests, a redirect to another origin drops
  X-Auth-Token too, not only Authorization: a token must not follow a redirect off its server.
- Credentials in the URL (`http://user:pw@host/`) become Basic authorization.
- An answer's body is capped (`max_body`, 64 MiB by default) as read and again as decompressed,
  so neither a huge answer nor a small gzip bomb can exhaust the guest's memory
  (ResponseTooLarge).
- gzip and deflate answers are decoded; one idle connection per origin is kept for the next
  request (a long poll reuses it), and a reused connection the server had closed is replaced once
  for idempotent methods.

A failure to get an answer raises TransportError (Timeout for a timeout) whose `reason` is one
line without the URL's secrets; any HTTP status is an answer, returned as a Response.
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import select
import threading
from typing import Any, Mapping
from urllib.parse import quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

from stoker_common import http_body
from stoker_common.http_errors import SOCKET_TIMEOUTS, describe, redact_url

USER_AGENT = "stoker-agent"
MAX_REDIRECTS = 10
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
# Safe to send again when a kept-alive connection turns out to have been closed by the server.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Headers that carry credentials for the origin they were meant for.
CREDENTIAL_HEADERS = ("authorization", "x-auth-token", "cookie")
DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters left as they are when a URL's path and query are quoted (requests' requote_uri set).
URL_SAFE = "!#$%&'()*+,/:;=?@[]~"


class TransportError(Exception):
    """No HTTP answer: connection refused, name not resolved, TLS failure, cut-short answer..."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Timeout(TransportError):
    """No answer within the timeout."""


class ResponseTooLarge(TransportError):
    """The answer's body, as sent or decompressed, is over the client's `max_body` (`limit`).
    `url` (redacted) is the one that answered, a redirect's target included."""

    def __init__(self, reason: str, url: str, limit: int):
        super().__init__(reason)
        self.url = url
        self.limit = limit


class Headers(dict):
    """Response headers; names are case-insensitive and a repeated header's values are joined
    with ', ' (as requests did)."""

    def __init__(self, items: Any = ()):
        super().__init__()
        for name, value in items:
            key = name.lower()
            dict.__setitem__(self, key, f"{dict.__getitem__(self, key)}, {value}" if key in self else value)

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and dict.__contains__(self, name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return dict.get(self, name.lower(), default)


class Response:
    def __init__(self, status: int, reason: str, headers: Headers, body: bytes, url: str):
        self.status, self.reason, self.headers, self.body, self.url = status, reason, headers, body, url

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        """The body decoded with the Content-Type's charset, UTF-8 when it names none."""
        charset = "utf-8"
        for param in (self.headers.get("Content-Type") or "").split(";")[1:]:
            key, _, value = param.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"\'')
        try:
            return self.body.decode(charset, "replace")
        except LookupError:
            return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body as JSON; ValueError if it is not."""
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason}>"


def with_query(url: str, params: Mapping[str, Any] | None) -> str:
    """`url` with `params` appended to its query string (form-encoded, as requests' `params=`)."""
    if not params:
        return url
    encoded = urlencode(list(params.items()), doseq=True)
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=f"{parts.query}&{encoded}" if parts.query else encoded))


class HttpClient:
    def __init__(self, verify: bool | str = True, user_agent: str = USER_AGENT,
                 max_redirects: int = MAX_REDIRECTS, max_body: int = http_body.MAX_RESPONSE_BYTES):
        self.verify = verify
        self.max_body = max_body
        self.user_agent = user_agent
        self.max_redirects = max_redirects
        self._idle: dict[tuple, http.client.HTTPConnection] = {}
        self._lock = threading.Lock()
        self._tls: Any = None  # the ssl.SSLContext, made on the first https request

    def request(self, method: str, url: str, headers: Mapping[str, str] | None = None,
                body: bytes | None = None, timeout: float = 10.0) -> Response:
        """Send one request (following redirects) and read the whole answer."""
        method = method.upper()
        sent = {"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate", "Accept": "*/*"}
        sent.update(headers or {})
        for _ in range(self.max_redirects + 1):
            resp = self._exchange(method, url, sent, body, timeout)
            location = resp.headers.get("Location")
            if resp.status not in REDIRECT_STATUS or not location:
                return resp
            target = urljoin(url, location)
            if (resp.status == 303 and method != "HEAD") or (resp.status in (301, 302) and method == "POST"):
                method, body = "GET", None
                sent = {k: v for k, v in sent.items() if k.lower() not in ("content-type", "content-length")}
            if _origin(target) != _origin(url):
                sent = {k: v for k, v in sent.items() if k.lower() not in CREDENTIAL_HEADERS}
            url = target
        raise TransportError(f"more than {self.max_redirects} redirects")

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conn in idle.values():
            conn.close()

    # -- one exchange on one connection

    def _exchange(self, method: str, url: str, headers: dict[str, str], body: bytes | None,
                  timeout: float) -> Response:
        try:
            parts = urlsplit(url)
            port = parts.port or DEFAULT_PORTS.get(parts.scheme)
        except ValueError as exc:
            raise TransportError(f"invalid URL ({exc})") from None
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise TransportError("not an http(s) URL")
        headers = dict(headers)
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode("utf-8")
            headers.setdefault("Authorization", "Basic " + base64.b64encode(pair).decode("ascii"))
        target = quote(urlunsplit(("", "", parts.path or "/", parts.query, "")), safe=URL_SAFE)
        proxy = _proxy_for(parts.scheme, parts.hostname, port)
        if proxy and parts.scheme == "http":
            # Through a plain proxy the request line carries the absolute URL (and http.client takes
            # the Host header from it); an https URL goes through a CONNECT tunnel instead.
            target = "http://" + parts.netloc.rpartition("@")[2] + target
            if proxy[2]:
                headers["Proxy-Authorization"] = proxy[2]
        key = (parts.scheme, parts.hostname, port, proxy)
        for attempt in (1, 2):
            conn, reused = self._checkout(key, timeout)
            try:
                conn.request(method, target, body=body, headers=headers)
                answer = conn.getresponse()
                data = http_body.read_capped(answer, self.max_body)
            except BaseException as exc:  # Stopped (a SIGTERM during a long poll) too: the connection is spent
                conn.close()
                if isinstance(exc, Exception):
                    if (reused and attempt == 1 and method in IDEMPOTENT
                            and isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError,
                                                 ConnectionResetError))):
                        continue  # the server closed the kept-alive connection meanwhile
                    raise _failure(exc, url) from None
                raise
            if answer.will_close:
                conn.close()
            else:
                self._checkin(key, conn)
            try:
                data = http_body.decoded(data, answer.getheader("Content-Encoding"), self.max_body)
            except http_body.BodyError as exc:
                raise _failure(exc, url) from None
            return Response(answer.status, answer.reason, Headers(answer.getheaders()), data, url)
        raise AssertionError("unreachable")

    def _checkout(self, key: tuple, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            conn = self._idle.pop(key, None)
        if conn is not None and conn.sock is not None and not _dropped(conn.sock):
            conn.timeout = timeout
            conn.sock.settimeout(timeout)
            return conn, True
        if conn is not None:
            conn.close()
        return self._connection(key, timeout), False

    def _checkin(self, key: tuple, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            previous = self._idle.get(key)
            self._idle[key] = conn
        if previous is not None:
            previous.close()

    def _connection(self, key: tuple, timeout: float) -> http.client.HTTPConnection:
        scheme, host, port, proxy = key
        if proxy is None:
            if scheme == "https":
                return http.client.HTTPSConnection(host, port, timeout=timeout, context=self._context())
            return http.client.HTTPConnection(host, port, timeout=timeout)
        proxy_host, proxy_port, proxy_auth = proxy
        if scheme == "http":
            return http.client.HTTPConnection(proxy_host, proxy_port, timeout=timeout)
        conn = http.client.HTTPSConnection(proxy_host, proxy_port, timeout=timeout, context=self._context())
        conn.set_tunnel(host, port, headers={"Proxy-Authorization": proxy_auth} if proxy_auth else None)
        return conn

    def _context(self) -> Any:
        if self._tls is None:
            import ssl  # already loaded by http.client when Python has TLS; named here for clarity

            verify = self.verify
            if verify is True:
                verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            if verify is True:
                context = ssl.create_default_context()
            elif verify is False:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            elif os.path.isdir(verify):
                context = ssl.create_default_context(capath=verify)
            else:
                try:
                    context = ssl.create_default_context(cafile=verify)
                except (OSError, ssl.SSLError) as exc:
                    raise TransportError(f"cannot load the CA bundle {verify}: {describe(exc)}") from None
            self._tls = context
        return self._tls


def _failure(exc: Exception, url: str) -> TransportError:
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, http_body.TooLarge):
        return ResponseTooLarge(str(exc), redact_url(url), exc.limit)
    if isinstance(exc, http_body.BodyError):
        return TransportError(str(exc))
    if isinstance(exc, SOCKET_TIMEOUTS):
        return Timeout("timed out")
    if isinstance(exc, http.client.RemoteDisconnected):
        return TransportError("the server closed the connection without answering")
    if isinstance(exc, http.client.IncompleteRead):
        return TransportError("the answer was cut short")
    if isinstance(exc, http.client.InvalidURL):
        return TransportError("invalid URL (a character HTTP forbids, or a bad port)")
    if isinstance(exc, http.client.HTTPException) and not isinstance(exc, OSError):
        return TransportError(f"not an HTTP answer ({type(exc).__name__})")
    if isinstance(exc, ValueError) and not isinstance(exc, OSError):  # (a certificate error is both)
        # http.client's message would quote the offending header value, which may be a token.
        return TransportError("invalid request: the URL or a header has a character HTTP forbids")
    return TransportError(describe(exc))


def _dropped(sock: Any) -> bool:
    """An idle kept-alive socket that is readable has been closed (or spoken on) by the server."""
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme, (parts.hostname or "").lower(), port or DEFAULT_PORTS.get(parts.scheme)


def _proxy_for(scheme: str, host: str, port: int | None) -> tuple[str, int, str | None] | None:
    """(host, port, Proxy-Authorization) of the environment's proxy for this URL, if any."""
    if not any(name.lower().endswith("_proxy") for name in os.environ):
        return None  # the common case, decided without importing urllib.request
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    url = proxies.get(scheme) or proxies.get("all")
    where = f"[{host}]" if ":" in host else host
    if not url or urllib.request.proxy_bypass_environment(f"{where}:{port}" if port else where, proxies):
        return None
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise TransportError(f"proxy {parts.scheme}://{parts.hostname or ''}: only http:// proxies are supported")
    auth = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode("utf-8")
        auth = "Basic " + base64.b64encode(pair).decode("ascii")
    return parts.hostname, parts.port or 80, auth

