"""An answer framed in a worker's event loop byte for byte as gunicorn frames one a thread
writes (status line, Server, Date, Connection, the app's headers, body), by gunicorn's own
Response writing into a buffer instead of a socket."""
from __future__ import annotations

from gunicorn.http import wsgi

from metadata_server.api.fast_path import STATUS


class _Buffer:
    def __init__(self):
        self.data = bytearray()

    def sendall(self, data: bytes) -> None:
        self.data += data


def frame(http_request, cfg, status: int, headers: list, body: bytes,
          force_close: bool) -> tuple[bytes, bool]:
    """The bytes to send, and whether the connection stays open after them."""
    sink = _Buffer()
    response = wsgi.Response(http_request, sink, cfg)
    if force_close:
        response.force_close()
    response.start_response(STATUS[status], headers)
    response.write(body)
    response.close()
    return bytes(sink.data), not response.should_close()
