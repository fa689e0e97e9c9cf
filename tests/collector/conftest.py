"""Fixtures for the collector tests."""
from __future__ import annotations


import pytest


class Replay:
    """A loopback HTTP server answering from recorded exchanges, for the OpenStack collectors.

    Each exchange: {"method", "path" (exact, or a prefix ending in "*"), "status", "headers", "body"}.
    "{base}" in headers and bodies becomes this server's URL, so recorded catalogs point back here.
    The first exchange matching a request answers it; `times` (default unlimited) limits its uses.
    Unlike tests/loopback.py it also answers HEAD (without a body).
    """

    def __init__(self, exchanges=None):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.exchanges = list(exchanges or [])
        self.requests = []
        self.hold = None  # a threading.Event a handler waits on before answering, when set
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = {"method": self.command, "path": self.path, "body": body,
                           "headers": {k.lower(): v for k, v in self.headers.items()}}
                # Recorded before answering: once a client has its answer, the request is listed.
                with owner._lock:
                    owner.requests.append(request)
                status, headers, data = owner._answer(request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if status not in (204, 304):
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if status not in (204, 304) and self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def base(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, method, path, status=200, body=b"", headers=None, times=None):
        self.exchanges.append({"method": method, "path": path, "status": status, "body": body,
                               "headers": headers or {}, "times": times})

    def _answer(self, request):
        import json as _json
        path = request["path"]
        with self._lock:
            for exchange in self.exchanges:
                want = exchange["path"]
                if exchange["method"] != request["method"] and not (
                        request["method"] == "HEAD" and exchange["method"] == "GET"):
                    continue
                if not (path == want or (want.endswith("*") and path.startswith(want[:-1]))):
                    continue
                if exchange.get("times") is not None:
                    if exchange["times"] <= 0:
                        continue
                    exchange["times"] -= 1
                break
            else:
                return 404, {}, b'{"error": "no recorded exchange"}'
        if callable(exchange.get("hold")):
            exchange["hold"](request)
        body = exchange["body"]
        headers = {k: str(v).replace("{base}", self.base) for k, v in exchange["headers"].items()}
        if not isinstance(body, (bytes, str)):
            body = _json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.replace("{base}", self.base).encode()
        return exchange["status"], headers, body

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def replay():
    server = Replay()
    yield server
    server.stop()
