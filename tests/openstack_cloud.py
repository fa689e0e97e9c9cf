"""A loopback OpenStack cloud for the openstack driver: Keystone v3 with a service catalog,
version documents, then recorded Nova, Neutron, Cinder, Glance and Aodh exchanges.

The driver gets a real openstacksdk connection (password auth against this Keystone), so every
call goes through the sdk, keystoneauth and HTTP as it would on a cloud. Each exchange is
{method, path, [query], [body], [after], status, response}: a request takes the first unused
exchange with its method and path (the walker runs independent resources in any order) whose
`query` and `body`, when given, it carries ("*" matches any value) and whose `after` request, if
named, was answered already. API requests must present the token
Keystone issued. Every API request is kept in `requests` (the tests read what was sent).
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PROJECT_ID = "5e8a2d7c0b1f4e6a9d3c8b7a6f5e4d3c"
USER = {"id": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "name": "demo",
        "domain": {"id": "default", "name": "Default"}}
TOKEN = "gAAAAABloopbacktoken0000000000000000000000000000"
# service type -> (catalog name, path of the endpoint under the loopback base)
SERVICES = {"identity": ("keystone", "/identity"), "compute": ("nova", "/compute/v2.1"),
            "network": ("neutron", "/network"), "block-storage": ("cinder", "/volume/v3/" + PROJECT_ID),
            "image": ("glance", "/image"), "alarming": ("aodh", "/alarming"),
            "messaging": ("zaqar", "/messaging")}


def matches(expected, actual) -> bool:
    if expected == "*":
        return True
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and matches(v, actual[k])
                                                for k, v in expected.items())
    return expected == actual


class Replay:
    def __init__(self, exchanges: list[dict]):
        self.exchanges = [dict(e, used=False) for e in exchanges]
        self.unexpected: list[str] = []
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                query = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(url.query).items()}
                status, body, headers = replay.answer(
                    self.command, url.path, query, json.loads(raw) if raw else None,
                    self.headers.get("X-Auth-Token"))
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for key, value in dict({"Content-Type": "application/json"}, **headers).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    # -- what the sdk asks before any API call -----------------------------------------------
    def catalog(self) -> list[dict]:
        return [{"type": kind, "name": name, "id": f"{kind}-service",
                 "endpoints": [{"id": f"{kind}-public", "interface": "public",
                                "region": "RegionOne", "region_id": "RegionOne",
                                "url": self.base + path}]}
                for kind, (name, path) in SERVICES.items()]

    def _token(self) -> dict:
        return {"token": {"methods": ["password"], "user": USER,
                          "project": {"id": PROJECT_ID, "name": "demo",
                                      "domain": {"id": "default", "name": "Default"}},
                          "roles": [{"id": "9fe2ff9ee4384b1894a90878d3e92bab", "name": "member"}],
                          "issued_at": "2026-01-02T03:04:05.000000Z",
                          "expires_at": "2099-01-02T03:04:05.000000Z",
                          "catalog": self.catalog()}}

    def _discovery(self, path: str):
        link = lambda p: [{"href": f"{self.base}{p}/", "rel": "self"}]  # noqa: E731
        return {"/identity/v3": {"version": {"id": "v3.14", "status": "stable",
                                             "links": link("/identity/v3")}},
                "/network": {"versions": [{"id": "v2.0", "status": "CURRENT",
                                           "links": link("/network/v2.0")}]},
                "/compute/v2.1": {"version": {"id": "v2.1", "status": "CURRENT",
                                              "min_version": "2.1", "version": "2.79",
                                              "links": link("/compute/v2.1")}},
                "/volume/v3": {"version": {"id": "v3.0", "status": "CURRENT",
                                           "min_version": "3.0", "version": "3.60",
                                           "links": link("/volume/v3")}},
                "/image": {"versions": [{"id": "v2.15", "status": "CURRENT",
                                         "links": link("/image/v2")}]},
                "/alarming": {"versions": {"values": [{"id": "v2", "status": "stable",
                                                       "links": link("/alarming/v2")}]}},
                }.get(path.rstrip("/").replace("/" + PROJECT_ID, ""))

    def answer(self, method: str, path: str, query: dict, body, token: str | None):
        if method == "GET" and self._discovery(path) is not None:
            return 200, self._discovery(path), {}
        if method == "POST" and path == "/identity/v3/auth/tokens":
            identity = (body or {}).get("auth", {}).get("identity", {})
            if identity.get("password", {}).get("user", {}).get("password") != "pass-word":
                return 401, {"error": {"code": 401, "message": "The request you have made "
                                       "requires authentication."}}, {}
            return 201, self._token(), {"X-Subject-Token": TOKEN}
        if token != TOKEN:
            return 401, {"error": {"code": 401, "message": "no valid token"}}, {}
        with self._lock:
            self.requests.append({"method": method, "path": path, "query": query, "body": body})
            self._arrived.notify_all()
            for exchange in self.exchanges:
                if (not exchange["used"] and exchange["method"] == method
                        and exchange["path"] == path
                        and matches(exchange.get("query", "*"), query)
                        and matches(exchange.get("body", "*"), body)
                        and not self._waiting(exchange)):
                    exchange["used"] = True
                    return exchange.get("status", 200), exchange.get("response"), {}
            self.unexpected.append(f"{method} {path} {query or ''} {json.dumps(body)}")
        return 404, {"itemNotFound": {"code": 404, "message": f"not recorded: {method} {path}"}}, {}

    def _waiting(self, exchange: dict) -> bool:
        """An exchange with `after: "METHOD /path"` waits until every exchange of that request
        was answered: a delete that must follow another's completion."""
        if "after" not in exchange:
            return False
        method, path = exchange["after"].split(" ", 1)
        return any(not e["used"] for e in self.exchanges
                   if e["method"] == method and e["path"] == path)

    def connection(self):
        """A real openstacksdk connection to this cloud, authenticated by password."""
        import openstack
        return openstack.connection.Connection(**self.cloud())

    def wait_for(self, method: str, path: str, timeout: float) -> dict:
        """The first request of that method and path, once it has arrived."""
        def first():
            return next((r for r in self.requests
                         if r["method"] == method and r["path"] == path), None)
        with self._arrived:
            if not self._arrived.wait_for(first, timeout):
                raise AssertionError(f"no {method} {path} within {timeout:g} s; "
                                     f"unexpected: {self.unexpected}")
            return first()

    def cloud(self) -> dict:
        """This cloud as a clouds.yaml entry (for a `stoker server --os-cloud`)."""
        return {"auth_type": "password", "region_name": "RegionOne", "auth": {
            "auth_url": f"{self.base}/identity/v3", "username": USER["name"],
            "password": "pass-word", "project_name": "demo",
            "user_domain_name": "Default", "project_domain_name": "Default"}}

    def unused(self) -> list[str]:
        return [f"{e['method']} {e['path']}" for e in self.exchanges if not e["used"]]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
