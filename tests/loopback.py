"""A tiny recording HTTP server on 127.0.0.1 (port 0) for tests of the agent's HTTP clients.

Answers come from a queue (`respond`) or, when the queue is empty, from `handler(request)`;
every request is recorded, and `wait_for(n)` blocks until n have arrived (no sleeps in tests).
An answer that names a `Date` header is sent with that one instead of the real clock's.
Loaded by path from both tests/agent and tests/collector conftests.
"""
from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)

    def json(self) -> Any:
        return json.loads(self.body)


Answer = tuple[int, dict[str, str], bytes]


class Loopback:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.queue: deque[Answer] = deque()
        self.handler: Callable[[Request], Answer] = lambda request: (200, {}, b"{}")
        self._cond = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                  self.rfile.read(length) if length else b"")
                with owner._cond:
                    answer = owner.queue.popleft() if owner.queue else None
                if answer is None:
                    answer = owner.handler(request)
                status, headers, body = answer
                if "Date" in headers:
                    self.send_response_only(status)  # the answer's own Date, not the real clock's
                else:
                    self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if status not in (204, 304):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status not in (204, 304):
                    try:
                        self.wfile.write(body)
                    except (BrokenPipeError, ConnectionResetError):
                        # the client gave up first (a timeout under test): the request still
                        # arrived, and a traceback on the terminal would only be noise
                        self.close_connection = True
                # Recorded after answering so a waiter sees the request once its answer is out.
                with owner._cond:
                    owner.requests.append(request)
                    owner._cond.notify_all()

            do_GET = do_PUT = do_POST = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A short poll interval keeps shutdown (teardown) quick.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> "Loopback":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def respond(self, status: int = 200, body: Any = b"", headers: dict[str, str] | None = None,
                times: int = 1) -> None:
        """Queue an answer; a dict or list body is sent as JSON."""
        headers = dict(headers or {})
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        data = body.encode() if isinstance(body, str) else body
        with self._cond:
            self.queue.extend([(status, headers, data)] * times)

    def wait_for(self, count: int, timeout: float = 10) -> list[Request]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"expected {count} requests, got {len(self.requests)}")
            return list(self.requests)


def closed_port_url(path: str = "/") -> str:
    """A loopback URL nobody listens on (bind a port, then release it)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
