"""The gunicorn worker of `stoker server --workers N`: long polls wait in the event loop.

A watching agent's long poll (GET .../metadata?wait=N with the ETag it has) mostly waits. Here it
waits without a thread: the request runs in a thread as any other, under
document_endpoint.held_in_loop, which answers at once when it can and otherwise raises Park. The
worker then keeps the connection in its event loop (held_watches) until the server's document
changes (DocumentCache.wakers: changes made in this process, and those learnt from other
processes and nodes) or the wait ends. The client sees what a thread that waited would have
answered. A held connection costs a file descriptor and a few hundred bytes; a client that hangs
up meanwhile is noticed and let go; a stopping worker answers the polls it holds at once.

Waking many watchers of one server costs little: one of them (the leader) runs again in a
thread, which rebuilds the document and puts its credential back in memory if the change dropped
them; then the others are answered in the loop from memory (fast_path's `again`: the same
credential check and answer, framed as gunicorn would, loop_answer), with no thread and no
parsing. A poll that cannot be answered from memory (not in the fast path, a credential no longer
in memory) runs again in a thread with the wait's end kept.

Answers that end with Connection: close are closed without blocking the loop (gunicorn's own
graceful close waits up to 2 s for the client inside its loop, stalling every watcher behind).
"""
from __future__ import annotations

import selectors
import socket
import time
from functools import partial

from gunicorn.workers.gthread import _DEFER

from metadata_server.api.document_endpoint import Park, held_in_loop
from metadata_server.held_watches import Held, HeldWatches
from metadata_server.http_worker import READ_BYTES, HeadFirstWorker, _Incoming
from metadata_server.loop_answer import Framer

CLOSE_LINGER = 2.0  # seconds a closed answer waits for its client to hang up (gunicorn's)


class WatchWorker(HeadFirstWorker):
    def init_process(self):
        self.held = HeldWatches()
        self.closing: dict = {}  # conn -> when to stop waiting for the client to hang up
        self.leading: dict = {}  # server id -> the woken poll rebuilding its document
        self.framer = Framer(self.cfg)
        self.documents = None  # the app's DocumentCache, once loaded
        super().init_process()

    def load_wsgi(self):
        super().load_wsgi()
        context = getattr(self.wsgi, "extensions", {}).get("stoker")
        if context is not None:
            self.documents = context.documents
            self.documents.wakers.append(self._changed_anywhere)

    def handle_request(self, req, conn):  # in a thread
        if self.documents is None or getattr(conn, "stoker_request", None) is None:
            return super().handle_request(req, conn)
        try:
            with held_in_loop(conn.stoker_deadline):
                return super().handle_request(req, conn)
        except Park as park:
            park.http_request = req
            conn.stoker_park = park  # nothing was written: finish_request holds the connection
            return True

    def finish_request(self, conn, fs):  # in the loop
        lead = getattr(conn, "stoker_lead", None)
        conn.stoker_lead = None
        try:
            self._finish(conn, fs)
        finally:
            if lead is not None:  # the document is rebuilt: answer the others from memory
                del self.leading[lead]
                self._follow(lead, after_leader=True)

    def _finish(self, conn, fs) -> None:
        park = getattr(conn, "stoker_park", None)
        if park is None:
            try:
                result = not fs.cancelled() and fs.result()
            except Exception:
                result = False
            if result or result is _DEFER:
                super().finish_request(conn, fs)
            else:
                self._close_later(conn)
            return
        conn.stoker_park = None
        try:
            usable = not fs.cancelled() and fs.result()
        except Exception:
            usable = False
        if not usable:
            self.nr_conns -= 1
            conn.close()
            return
        held = Held(park.server_id, park.deadline, conn.stoker_request, park.http_request,
                    park.again)
        if not self.alive:  # stopping: answer now rather than hold
            held.deadline = time.monotonic()
            self._run_again(conn, held)
            return
        self._hold(conn, held, park.version)

    def _hold(self, conn, held: Held, version: int) -> None:
        self.held.hold(conn, held)
        self.documents.count_held(1)
        conn.sock.setblocking(False)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._held_readable, conn))
        if self.documents.version(held.server_id) != version:
            self._wake(conn)  # it changed between the look at it and now

    def _close_later(self, conn) -> None:
        """gunicorn's graceful close, without blocking the loop: the answer's end is sent (FIN),
        then what the client still sends is drained here until it hangs up, so that unread
        bytes do not make the kernel reset the connection and cut the answer short. With
        nothing unread there is nothing to drain: closed at once."""
        try:
            unread = conn.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            unread = b""
        except OSError:
            unread = b""
        if not unread:
            self.nr_conns -= 1
            conn.close()
            return
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, selectors.EVENT_READ,
                                 partial(self._closing_readable, conn))
        except (OSError, ValueError, KeyError):
            self._closed(conn)
            return
        self.closing[conn] = time.monotonic() + CLOSE_LINGER

    def _closing_readable(self, conn, sock) -> None:
        try:
            if sock.recv(READ_BYTES):
                return
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self._closed(conn)

    def _closed(self, conn) -> None:
        if self.closing.pop(conn, None) is not None:
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
        self.nr_conns -= 1
        conn.close()

    def _changed_anywhere(self, server_id: str) -> None:  # any thread: DocumentCache.wakers
        if self.held.holds_server(server_id):
            self.method_queue.defer(self._changed, server_id)

    def _changed(self, server_id: str) -> None:
        if server_id not in self.leading:  # else the leader's end answers them all
            self._follow(server_id)

    def _follow(self, server_id: str, after_leader: bool = False) -> None:
        for conn in self.held.changed(server_id):
            if conn not in self.held:
                continue
            if self.documents.peek(server_id) is None:
                if after_leader:  # not rebuilt by the leader (e.g. the server is gone): no
                    self._wake(conn)  # point in leading one by one, each runs in full
                    continue
                held = self._release(conn)  # not rebuilt yet: this one rebuilds it
                conn.stoker_lead = server_id
                self.leading[server_id] = conn
                self._run_again(conn, held)
                return
            self._wake(conn)

    def _wake(self, conn) -> None:
        held = self._release(conn)
        if held is not None and not self._answer_here(conn, held):
            self._run_again(conn, held)

    def _answer_here(self, conn, held: Held) -> bool:
        """Answer from memory in the loop, as the fast path would (False: it cannot)."""
        if held.again is None:
            return False
        try:
            with held_in_loop(held.deadline):
                answer = held.again()
        except Park as park:  # nothing new for this one after all
            self._hold(conn, held, park.version)
            return True
        if answer is None:
            return False
        force_close = (not self.alive or not self.cfg.keepalive
                       or len(self.keepalived_conns) >= self.max_keepalived)
        data, keep = self.framer.frame(held.http_request, *answer, force_close)
        try:
            sent = conn.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:  # the client is gone
            self.nr_conns -= 1
            conn.close()
            return True
        if sent < len(data):  # a full send buffer: rare, a thread waits for room
            conn.sock.setblocking(True)
            future = self.tpool.submit(conn.sock.sendall, data[sent:])
            future.add_done_callback(
                lambda done: self.method_queue.defer(self._sent, conn, done, keep))
        else:
            self._answered(conn, keep)
        return True

    def _sent(self, conn, future, keep: bool) -> None:
        if future.exception() is not None:
            self.nr_conns -= 1
            conn.close()
        else:
            self._answered(conn, keep)

    def _answered(self, conn, keep: bool) -> None:
        """What gthread does once a thread has answered: keep the connection or close it."""
        if not keep:
            self._close_later(conn)
        elif conn.parser.unreader.buf.getvalue():
            self.enqueue_req(conn)  # the next request is read already
        else:
            conn.sock.setblocking(False)
            conn.set_timeout()
            self.keepalived_conns.append(conn)
            self.poller.register(conn.sock, selectors.EVENT_READ,
                                 partial(self.on_client_socket_readable, conn))

    def _release(self, conn) -> Held | None:
        held = self.held.release(conn)
        if held is not None:
            self.documents.count_held(-1)
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass  # unregistered already: the client had sent more
        return held

    def _run_again(self, conn, held: Held) -> None:
        """The held request, as first received, goes back through the loop to a thread; what
        the client sent after it stays behind it."""
        leftover = conn.parser.unreader.buf.getvalue() if conn.parser is not None else b""
        conn.parser = None  # a fresh parser: the old one ended with this request
        state = _Incoming(time.monotonic() + self.client_timeout, held_until=held.deadline)
        state.data += held.request + leftover
        self.buffered += len(state.data)
        self.incoming[conn] = state
        self._progress(conn, state, registered=False)

    def _held_readable(self, conn, sock) -> None:
        try:
            more = sock.recv(1, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            more = b""
        if more:  # a pipelined request: read once this one is answered
            self.poller.unregister(sock)
            return
        self._release(conn)  # the client hung up
        self.nr_conns -= 1
        conn.close()

    def wait_for_and_dispatch_events(self, timeout):
        due = self.held.next_deadline()
        if due is not None:
            timeout = max(0.0, min(timeout, due - time.monotonic()))
        super().wait_for_and_dispatch_events(timeout)
        for conn in self.held.expired(time.monotonic()):
            self._wake(conn)

    # -- called by gthread's loop about once a second, and while it stops ------------------------
    def murder_keepalived(self, force=False):
        super().murder_keepalived(force)
        now = time.monotonic()
        for server_id, conn in list(self.leading.items()):
            if conn.sock.fileno() < 0:  # dropped before a thread took it: another leads
                del self.leading[server_id]
                self._follow(server_id)
        for conn, until in list(self.closing.items()):
            if force or until <= now:
                self._closed(conn)
        if force or not self.alive:
            for conn in self.held.all():
                held = self._release(conn)
                if force:
                    self.nr_conns -= 1
                    conn.close()
                else:  # answered now (304, or 200 if it changed), with Connection: close
                    held.deadline = now
                    if not self._answer_here(conn, held):
                        self._run_again(conn, held)
