"""An answer framed in a worker's event loop byte for byte as gunicorn frames one a thread
writes (status line, Server, Date, Connection, the app's headers, body), by gunicorn's own
Response writing into a buffer instead of a socket."""
from __future__ import annotations

import time

from gunicorn.http import wsgi

from metadata_server.api.fast_path import STATUS


class _Buffer:
    def __init__(self):
        self.data = bytearray()

    def sendall(self, data: bytes) -> None:
        self.data += data


class Framer:
    """Frames answers; the watchers of one server woken together get one answer, so the bytes of
    an identical answer framed in the same second (gunicorn's Date has seconds) are reused."""

    def __init__(self, cfg):
        self.cfg = cfg
        self._second = 0
        self._framed: dict = {}

    def frame(self, http_request, status: int, headers: list, body: bytes,
              force_close: bool) -> tuple[bytes, bool]:
        """The bytes to send, and whether the connection stays open after them."""
        second = int(time.time())
        if second != self._second:
            self._second, self._framed = second, {}
        key = (status, tuple(headers), body, http_request.version, http_request.method,
               http_request.should_close(), force_close)
        framed = self._framed.get(key)
        if framed is None:
            framed = self._framed[key] = _frame(http_request, self.cfg, status, headers, body,
                                                force_close)
        return framed


def _frame(http_request, cfg, status: int, headers: list, body: bytes,
           force_close: bool) -> tuple[bytes, bool]:
    sink = _Buffer()
    response = wsgi.Response(http_request, sink, cfg)
    if force_close:
        response.force_close()
    response.start_response(STATUS[status], headers)
    response.write(body)
    response.close()
    return bytes(sink.data), not response.should_close()
