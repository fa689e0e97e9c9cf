"""A loopback HTTP server that replays recorded OpenStack API exchanges for the openstack driver.

Each exchange is {method, path, [body], status, response}. A request takes the first unused
exchange with its method and path (the walker runs independent resources in any order) and, when
the exchange has a body, must carry those keys with those values ("*" matches anything).
Version discovery documents are served for every service root.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _matches(expected, actual) -> bool:
    if expected == "*":
        return True
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _matches(v, actual[k])
                                                for k, v in expected.items())
    return expected == actual


class Replay:
    def __init__(self, exchanges: list[dict]):
        self.exchanges = [dict(e, used=False) for e in exchanges]
        self.unexpected: list[str] = []
        self._lock = threading.Lock()
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body = replay.answer(self.command, self.path.split("?")[0],
                                             json.loads(raw) if raw else None)
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _discovery(self, path: str):
        links = lambda p: [{"href": f"{self.base}{p}/", "rel": "self"}]  # noqa: E731
        return {"/network": {"versions": [{"id": "v2.0", "status": "CURRENT",
                                           "links": links("/network/v2.0")}]},
                "/compute/v2.1": {"version": {"id": "v2.1", "status": "CURRENT",
                                              "min_version": "2.1", "version": "2.79",
                                              "links": links("/compute/v2.1")}},
                "/volume/v3": {"version": {"id": "v3.0", "status": "CURRENT",
                                           "min_version": "3.0", "version": "3.60",
                                           "links": links("/volume/v3")}}}.get(path.rstrip("/"))

    def answer(self, method: str, path: str, body):
        if method == "GET" and self._discovery(path) is not None:
            return 200, self._discovery(path)
        with self._lock:
            for exchange in self.exchanges:
                if (not exchange["used"] and exchange["method"] == method
                        and exchange["path"] == path
                        and _matches(exchange.get("body", "*"), body)):
                    exchange["used"] = True
                    return exchange.get("status", 200), exchange.get("response")
            self.unexpected.append(f"{method} {path} {json.dumps(body)}")
        return 404, {"itemNotFound": {"code": 404, "message": f"not recorded: {method} {path}"}}

    def unused(self) -> list[str]:
        return [f"{e['method']} {e['path']}" for e in self.exchanges if not e["used"]]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
