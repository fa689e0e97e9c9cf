"""The gunicorn worker of `stoker server --workers N`: no thread waits on a slow client.

gunicorn's gthread worker hands a connection to a thread as soon as it is readable, and the
thread then blocks until the whole request head has arrived: a few hundred clients that send
half a request hold every thread, and nothing else is answered. This worker keeps such a
connection in its event loop (non-blocking reads into a buffer) until the request head, and a
body of declared length up to BODY_BUFFER_BYTES (while the worker holds less than
BUFFERED_MAX_BYTES in all), are in memory; only then does a thread take it, and the thread finds
everything it needs in gunicorn's parser buffer. A connection whose request is not complete
within `client_timeout` gets 408 and is closed; one whose head grows past HEAD_MAX_BYTES gets
431. While a thread reads the rest of a larger body or writes an
answer, the socket's kernel timeouts (SO_RCVTIMEO / SO_SNDTIMEO) end a stall of the same length.

The event loop owning a connection until its request is complete is also where a long poll
could later wait without a thread.
"""
from __future__ import annotations

import re
import selectors
import socket
import struct
import time
from dataclasses import dataclass, field
from functools import partial

from gunicorn import http
from gunicorn.workers.gthread import ThreadWorker

HEAD_MAX_BYTES = 32 * 1024  # gunicorn's own limits allow more; no client of ours sends 8 KiB
BODY_BUFFER_BYTES = 1024 * 1024 + 4096  # the app's body limit; it refuses larger ones unread
BUFFERED_MAX_BYTES = 32 * 1024 * 1024  # per worker: past this, bodies are read by threads
READ_BYTES = 64 * 1024
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*(\d{1,12})[ \t]*\r?$", re.I | re.M)
_CHUNKED = re.compile(rb"^transfer-encoding[ \t]*:.*chunked", re.I | re.M)
_EXPECT = re.compile(rb"^expect[ \t]*:[ \t]*100-continue[ \t]*\r?\n", re.I | re.M)



def _plain(status: str, text: str) -> bytes:
    body = (text + "\n").encode()
    return (f"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


_408 = _plain("408 Request Timeout", "the request was not complete in time (--client-timeout)")
_431 = _plain("431 Request Header Fields Too Large",
              f"the request head is over {HEAD_MAX_BYTES} bytes")


@dataclass
class _Incoming:
    """A request being read in the event loop."""
    deadline: float
    data: bytearray = field(default_factory=bytearray)
    head_end: int = -1  # index just past the blank line, once seen
    wanted: int = -1  # total bytes to buffer (head + body), once the head is read
    scanned: int = 0  # where the search for the blank line resumes: a byte-a-time client
    # must not make every read rescan its whole head


class HeadFirstWorker(ThreadWorker):
    client_timeout = 30.0  # set by gunicorn_app.worker_class()

    def init_process(self):
        self.incoming: dict = {}
        self.buffered = 0  # bytes held in self.incoming
        super().init_process()

    # -- taking a connection: gthread calls this from its event loop for new, kept-alive and
    # -- pipelined connections alike ----------------------------------------------------------
    def enqueue_req(self, conn):
        if self.cfg.is_ssl:  # the bytes are TLS records: gthread reads them itself
            return super().enqueue_req(conn)
        state = _Incoming(time.monotonic() + self.client_timeout)
        if conn.parser is not None:  # bytes a previous request's thread read ahead
            state.data += conn.parser.unreader.buf.getvalue()
            self.buffered += len(state.data)
            conn.parser.unreader.buf = type(conn.parser.unreader.buf)()
        else:
            _set_stall_timeouts(conn.sock, self.client_timeout)
        conn.sock.setblocking(False)
        self.incoming[conn] = state
        if self._complete(conn, state):
            self._dispatch(conn, state, registered=False)
            return
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))

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
        if self._complete(conn, state):
            self._dispatch(conn, state, registered=True)
        elif state.head_end < 0 and len(state.data) > HEAD_MAX_BYTES:
            self._drop(conn, _431)

    def _complete(self, conn, state: _Incoming) -> bool:
        if state.head_end < 0:
            found = _HEAD_END.search(state.data, state.scanned)
            if found is None:
                state.scanned = max(len(state.data) - 3, 0)
                return False
            state.head_end = found.end()
            head = bytes(state.data[:state.head_end])
            length = _CONTENT_LENGTH.search(head)
            body = int(length.group(1)) if length else 0
            if (_CHUNKED.search(head) or body > BODY_BUFFER_BYTES
                    or self.buffered + body > BUFFERED_MAX_BYTES):
                body = 0  # the thread reads it, under the stall timeouts
            state.wanted = state.head_end + body
            if body and len(state.data) < state.wanted and _EXPECT.search(head):
                # answer the client's Expect here (and drop the header so gunicorn does not
                # answer it again): it sends its body now instead of after waiting for us
                self._continue(conn, state, body)
        return len(state.data) >= state.wanted

    def _continue(self, conn, state: _Incoming, body: int) -> None:
        head = _EXPECT.sub(b"", bytes(state.data[:state.head_end]), count=1)
        self.buffered -= state.head_end - len(head)
        state.data[:state.head_end] = head
        state.head_end = len(head)
        state.wanted = state.head_end + body
        try:
            conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        except OSError:
            pass

    def _dispatch(self, conn, state: _Incoming, registered: bool) -> None:
        del self.incoming[conn]
        self.buffered -= len(state.data)
        if registered:
            self.poller.unregister(conn.sock)
        if conn.parser is None:
            # what TConn.init does for plain HTTP/1.x, with the bytes already read put back
            conn.sock.setblocking(True)
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
            conn.initialized = True
        conn.parser.unreader.unread(bytes(state.data))
        conn.data_ready = True
        super().enqueue_req(conn)

    def _drop(self, conn, answer: bytes | None) -> None:
        state = self.incoming.pop(conn, None)
        if state is not None:
            self.buffered -= len(state.data)
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
    """Kernel timeouts for the blocking reads and writes a thread makes: a client that stops
    reading our answer, or stops sending a body, frees the thread after `seconds`."""
    whole = int(seconds)
    value = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
    for option in (socket.SO_RCVTIMEO, socket.SO_SNDTIMEO):
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, value)
        except OSError:
            pass
