"""The gunicorn worker of `stoker server --workers N`: no thread waits on a slow client.

gunicorn's gthread worker hands a connection to a thread as soon as it is readable, and the
thread then blocks until the whole request has arrived: a few hundred clients that send half a
request hold every thread, and nothing else is answered. This worker keeps a connection in its
event loop, reading without blocking into a buffer, until the whole request (head, and a body
sized by Content-Length or chunked) is in memory; only then does a thread take it, and the thread
finds every byte in gunicorn's parser buffer. Refused in the loop, in the app's (Heat's) error
shape and without a thread: a request not complete within `client_timeout` (408), a head over
HEAD_MAX_BYTES (431), a body over the app's limit (413), malformed chunked framing (400), and
bytes the worker has no room left to hold (503 with Retry-After, once its unfinished requests
hold BUFFERED_MAX_BYTES). While a thread writes the answer, the socket's kernel send timeout
(SO_SNDTIMEO) ends a stall of `client_timeout`.

The same loop holds long polls with no thread each: see watch_worker.WatchWorker.
"""
from __future__ import annotations

import json
import re
import selectors
import socket
import struct
import time
from dataclasses import dataclass, field
from functools import partial

from gunicorn import http
from gunicorn.workers.gthread import ThreadWorker

from metadata_server.app import MAX_BODY_BYTES

HEAD_MAX_BYTES = 32 * 1024  # gunicorn's own limits allow more; no client of ours sends 8 KiB
BUFFERED_MAX_BYTES = 64 * 1024 * 1024  # per worker: what unfinished requests may hold
READ_BYTES = 64 * 1024
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*(\d{1,15})[ \t]*\r?$", re.I | re.M)
_CHUNKED = re.compile(rb"^transfer-encoding[ \t]*:.*chunked", re.I | re.M)
_EXPECT = re.compile(rb"^expect[ \t]*:[ \t]*100-continue[ \t]*\r?\n", re.I | re.M)
_CHUNK_SIZE = re.compile(rb"([0-9a-fA-F]{1,8})[ \t]*(?:;[^\r\n]*)?\r\n")
CHUNK_LINE_MAX = 1024


def _error(code: int, title: str, error_type: str, message: str, *headers: str) -> bytes:
    """A complete response that closes the connection, in the app's (Heat's) error shape."""
    body = json.dumps({"code": code, "title": title, "explanation": message,
                       "error": {"type": error_type, "traceback": None, "message": message}})
    lines = [f"HTTP/1.1 {code} {title}", "Connection: close", "Content-Type: application/json",
             f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


_408 = _error(408, "Request Timeout", "RequestTimeout",
              "the request was not complete in time (the server's --client-timeout)")
_413 = _error(413, "Request Entity Too Large", "PayloadTooLarge",
              f"request body is larger than {MAX_BODY_BYTES} bytes")
_431 = _error(431, "Request Header Fields Too Large", "RequestHeaderFieldsTooLarge",
              f"the request head is larger than {HEAD_MAX_BYTES} bytes")
_400 = _error(400, "Bad Request", "InvalidInput", "the chunked request body is malformed")
_503 = _error(503, "Service Unavailable", "ServiceUnavailable",
              "the server is holding too many unfinished requests; retry shortly",
              "Retry-After: 1")


class Refused(Exception):
    """The request is answered with `answer` from the loop, and the connection closed."""

    def __init__(self, answer: bytes):
        super().__init__(answer[:40])
        self.answer = answer


@dataclass
class _Incoming:
    """A request being read in the event loop."""
    deadline: float
    data: bytearray = field(default_factory=bytearray)
    scanned: int = 0  # where the search for the head's end resumes (a byte-a-time client
    # must not make every read rescan its whole head)
    head_end: int = -1  # index just past the blank line, once seen
    length: int = -1  # head + body, when Content-Length gives it
    chunked: bool = False
    chunk_at: int = 0  # the next chunk-size line of a chunked body
    chunked_bytes: int = 0
    held_until: float | None = None  # a held long poll run again: when its wait ends


class HeadFirstWorker(ThreadWorker):
    client_timeout = 30.0  # set by gunicorn_app.worker_class()

    def init_process(self):
        self.incoming: dict = {}
        self.buffered = 0  # bytes held by the requests in self.incoming
        super().init_process()

    # -- taking a connection: gthread calls this from its event loop for new, kept-alive and
    # -- pipelined connections alike ----------------------------------------------------------
    def enqueue_req(self, conn):
        if self.cfg.is_ssl:  # the bytes are TLS records: gthread reads them itself
            return super().enqueue_req(conn)
        state = _Incoming(time.monotonic() + self.client_timeout)
        if conn.parser is not None:  # bytes a previous request's thread read ahead
            state.data += conn.parser.unreader.buf.getvalue()
            conn.parser.unreader.buf = type(conn.parser.unreader.buf)()
            self.buffered += len(state.data)
        else:
            _set_stall_timeouts(conn.sock, self.client_timeout)
        conn.sock.setblocking(False)
        self.incoming[conn] = state
        self._progress(conn, state, registered=False)

    def _readable(self, conn, _sock):
        state = self.incoming.get(conn)
        if state is None:
            return
        try:
            data = conn.sock.recv(READ_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away before finishing its request
            self._drop(conn, None)
            return
        state.data += data
        self.buffered += len(data)
        if self.buffered > BUFFERED_MAX_BYTES:
            self._drop(conn, _503)
            return
        self._progress(conn, state, registered=True)

    def _progress(self, conn, state: _Incoming, registered: bool) -> None:
        try:
            complete = self._complete(conn, state)
        except Refused as refused:
            self._drop(conn, refused.answer)
            return
        if complete:
            self._dispatch(conn, state, registered)
        elif not registered:
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))

    def _complete(self, conn, state: _Incoming) -> bool:
        if state.head_end < 0 and not self._read_head(conn, state):
            return False
        if state.chunked:
            return self._read_chunks(state)
        return len(state.data) >= state.length

    def _read_head(self, conn, state: _Incoming) -> bool:
        found = _HEAD_END.search(state.data, state.scanned)
        if found is None:
            if len(state.data) > HEAD_MAX_BYTES:
                raise Refused(_431)
            state.scanned = max(len(state.data) - 3, 0)
            return False
        state.head_end = found.end()
        head = bytes(state.data[:state.head_end])
        state.chunked = bool(_CHUNKED.search(head))
        length = _CONTENT_LENGTH.search(head)
        declared = int(length.group(1)) if length else 0
        if declared > MAX_BODY_BYTES:
            raise Refused(_413)
        state.length = state.head_end + declared
        state.chunk_at = state.head_end
        if ((declared or state.chunked) and len(state.data) == state.head_end
                and _EXPECT.search(head)):
            self._continue(conn, state)
        return True

    def _continue(self, conn, state: _Incoming) -> None:
        """Answer the client's Expect here, so it sends its body now rather than after waiting
        for us, and drop the header so that gunicorn does not answer it a second time."""
        head = _EXPECT.sub(b"", bytes(state.data[:state.head_end]), count=1)
        shift = state.head_end - len(head)
        self.buffered -= shift
        state.data[:state.head_end] = head
        state.head_end -= shift
        state.length -= shift
        state.chunk_at -= shift
        try:
            conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        except OSError:
            pass

    def _read_chunks(self, state: _Incoming) -> bool:
        """Walk the chunked framing as far as it has arrived: True once the last chunk and the
        trailers are in. Each call resumes at the chunk it stopped at."""
        data = state.data
        while True:
            size_line = _CHUNK_SIZE.match(data, state.chunk_at)
            if size_line is None:
                pending = data[state.chunk_at:state.chunk_at + CHUNK_LINE_MAX + 1]
                if b"\n" in pending or len(pending) > CHUNK_LINE_MAX:
                    raise Refused(_400)
                return False
            size = int(size_line.group(1), 16)
            if size == 0:
                rest = size_line.end()
                if data[rest:rest + 2] == b"\r\n":
                    return True
                if data.find(b"\r\n\r\n", rest) >= 0:  # trailers, then the blank line
                    return True
                if len(data) - rest > HEAD_MAX_BYTES:
                    raise Refused(_431)
                return False
            if state.chunked_bytes + size > MAX_BODY_BYTES:
                raise Refused(_413)
            after = size_line.end() + size
            if len(data) < after + 2:
                return False
            if data[after:after + 2] != b"\r\n":
                raise Refused(_400)
            state.chunked_bytes += size
            state.chunk_at = after + 2

    def _dispatch(self, conn, state: _Incoming, registered: bool) -> None:
        self._forget(conn)
        if registered:
            self.poller.unregister(conn.sock)
        conn.sock.setblocking(True)
        if conn.parser is None:
            # what TConn.init does for plain HTTP/1.x, with the bytes already read put back
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
            conn.initialized = True
        conn.parser.unreader.unread(bytes(state.data))
        conn.data_ready = True
        # what a held long poll runs again (watch_worker; a chunked GET is not worth holding)
        conn.stoker_request = None if state.chunked else bytes(state.data[:state.length])
        conn.stoker_deadline = state.held_until
        super().enqueue_req(conn)

    def _forget(self, conn) -> None:
        state = self.incoming.pop(conn, None)
        if state is not None:
            self.buffered -= len(state.data)

    def _drop(self, conn, answer: bytes | None) -> None:
        self._forget(conn)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        if answer:
            try:
                # what the client already sent is read first: closing on unread bytes would
                # reset the connection and lose the answer
                for _ in range(4):  # bounded: a client that keeps sending is not waited for
                    if not conn.sock.recv(READ_BYTES):
                        break
            except OSError:
                pass
            try:
                conn.sock.send(answer)
                conn.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        self.nr_conns -= 1
        conn.close()

    # -- called by gthread's loop about once a second, and while it stops ------------------------
    def murder_keepalived(self, force=False):
        super().murder_keepalived(force)
        now = time.monotonic()
        stopping = force or not self.alive
        for conn, state in list(self.incoming.items()):
            if stopping or state.deadline <= now:
                self._drop(conn, None if stopping else _408)

def _set_stall_timeouts(sock: socket.socket, seconds: float) -> None:
    """Kernel timeouts for the blocking calls a thread makes: a client that stops reading its
    answer frees the thread after `seconds` without progress. A thread should never need to
    read (its request is whole in the buffer); should gunicorn's parser ever see the framing
    otherwise than this loop did, the read timeout bounds that too."""
    whole = int(seconds)
    value = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
    for option in (socket.SO_SNDTIMEO, socket.SO_RCVTIMEO):
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, value)
        except OSError:
            pass
