"""Slow and half-open clients: under `stoker server --workers N` hundreds of connections that
never finish their request hold no thread, so other requests keep being answered; a connection
whose request is not complete within --client-timeout gets 408 and is closed. Ordinary requests
(kept-alive, pipelined, chunked, `Expect: 100-continue`, a body sent in pieces) still work."""
from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from cli.processes import Process, ProcessFailed, child_env, stoker_argv

HALF_OPEN = 200
CLIENT_TIMEOUT = 5  # seconds; half-open connections are held for less than this, then closed
PROBE_FOR = 3.0  # seconds of /healthz probes while all of them are open

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One `stoker server --workers 2` (4 threads each) for the module: (host, port, token)."""
    tmp = tmp_path_factory.mktemp("gunicorn")
    env = child_env()
    env.pop("STOKER_ADMIN_TOKEN", None)
    process = Process("server", stoker_argv(
        "server", "--bind", "127.0.0.1:0", "--state-dir", str(tmp / "state"),
        "--workers", "2", "--threads", "4", "--client-timeout", str(CLIENT_TIMEOUT)),
        tmp / "server.log", env)
    try:
        try:
            line = process.wait_for_line("listening on", 60)
        except ProcessFailed:
            pytest.fail(process.log())
        token = next(x for x in process.lines if x.startswith("admin token")).rsplit(" ", 1)[1]
        host, port = line.rsplit("//", 1)[1].rsplit(":", 1)
        yield host, int(port), token
        assert "Traceback" not in process.log()
    finally:
        assert process.stop(timeout=15) == 0


def _exchange(host: str, port: int, raw: bytes, answers: int = 1, timeout: float = 5) -> bytes:
    """Send `raw` on a fresh connection; read until `answers` complete responses are in."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(raw)
        return _read_answers(sock, answers)


def _read_answers(sock: socket.socket, answers: int) -> bytes:
    data = b""
    while _complete_answers(data) < answers:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _complete_answers(data: bytes) -> int:
    count, rest = 0, data
    while b"\r\n\r\n" in rest:
        head, rest = rest.split(b"\r\n\r\n", 1)
        if head.startswith(b"HTTP/1.1 100"):
            continue
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        if len(rest) < length:
            break
        count, rest = count + 1, rest[length:]
    return count


def _healthz(host: str, port: int) -> float:
    """Seconds one GET /healthz took on a fresh connection (fails on no answer within 1 s)."""
    started = time.monotonic()
    answer = _exchange(host, port, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                       timeout=1)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:80]
    return time.monotonic() - started


# never finished: part of the head; a head and part of its body; part of a chunked body
UNFINISHED = [
    b"POST /v1/t1/software_configs HTTP/1.1\r\nHost: t\r\nX-Slow: 1",
    b"POST /v1/t1/software_configs HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{\"na",
    b"POST /v1/t1/software_configs HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"10\r\n{\"name\"",
]


def _half_open(host: str, port: int, index: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=5)
    sock.sendall(UNFINISHED[index % len(UNFINISHED)])
    return sock


def _answer_on_close(sock: socket.socket, deadline: float) -> bytes | None:
    """What the server sent before closing, or None if it was still open at `deadline`."""
    sock.settimeout(max(deadline - time.monotonic(), 0.1))
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except ConnectionResetError:
        pass
    except socket.timeout:
        return None
    return data


def test_half_open_connections_do_not_stop_healthz(server):
    host, port, _ = server
    _healthz(host, port)
    sockets: list[socket.socket] = []
    try:
        opened = time.monotonic()
        sockets = [_half_open(host, port, i) for i in range(HALF_OPEN)]
        slowest, probes = 0.0, 0
        while time.monotonic() - opened < PROBE_FOR:
            slowest = max(slowest, _healthz(host, port))
            probes += 1
        assert slowest < 1.0 and probes >= 10
        for sock in sockets:  # all still held: none was refused or dropped early
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)
        # ...and each is answered 408 and closed once the client timeout has passed
        deadline = opened + CLIENT_TIMEOUT + 10
        answers = [_answer_on_close(sock, deadline) for sock in sockets]
        assert all(a is not None and a.startswith(b"HTTP/1.1 408") for a in answers), \
            {a[:40] if a else a for a in answers}
        _healthz(host, port)
    finally:
        for sock in sockets:
            sock.close()


def test_ordinary_requests_still_work(server):
    host, port, token = server
    auth = f"X-Auth-Token: {token}\r\nHost: t\r\n"
    body = json.dumps({"name": "c1", "group": "script", "config": "#!/bin/sh\n"}).encode()
    post = (f"POST /v1/t1/software_configs HTTP/1.1\r\n{auth}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n").encode()

    # kept alive: several requests on one connection (requests' session)
    with requests.Session() as http:
        http.headers["X-Auth-Token"] = token
        created = http.post(f"http://{host}:{port}/v1/t1/software_configs", timeout=5,
                            json={"name": "c0", "group": "script", "config": "x"})
        assert created.status_code == 200, created.text
        config_id = created.json()["software_config"]["id"]
        for _ in range(3):
            got = http.get(f"http://{host}:{port}/v1/t1/software_configs/{config_id}", timeout=5)
            assert got.json()["software_config"]["name"] == "c0"

    # pipelined: two requests in one send, two answers in order
    two = _exchange(host, port, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
                    b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", answers=2)
    assert two.count(b"HTTP/1.1 200") == 2

    # a body sent in pieces is answered once it is complete
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(post + b"\r\n")
        for start in range(0, len(body), 7):
            sock.sendall(body[start:start + 7])
            time.sleep(0.01)  # the pieces must arrive separately for this case to mean anything
        assert _read_answers(sock, 1).startswith(b"HTTP/1.1 200")

    # Expect: 100-continue gets its 100 before the body is sent, and one final answer
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(post + b"Expect: 100-continue\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        answer = _read_answers(sock, 1)
        assert answer.startswith(b"HTTP/1.1 200") and b"100 Continue" not in answer

    # chunked, in one piece and in pieces (with a chunk extension and a trailer)
    chunked_head = (f"POST /v1/t1/software_configs HTTP/1.1\r\n{auth}Content-Type: "
                    "application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    chunked = chunked_head + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    assert _exchange(host, port, chunked).startswith(b"HTTP/1.1 200")
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(chunked_head)
        for start in range(0, len(body), 9):
            piece = body[start:start + 9]
            sock.sendall(f"{len(piece):x};ext=1\r\n".encode() + piece + b"\r\n")
            time.sleep(0.01)
        sock.sendall(b"0\r\nX-Trailer: t\r\n\r\n")
        assert _read_answers(sock, 1).startswith(b"HTTP/1.1 200")

    # refused in the loop, in the app's error shape: too large a body, broken chunk framing
    too_large = _exchange(host, port, post.replace(f"Content-Length: {len(body)}".encode(),
                                                   b"Content-Length: 5000000") + b"\r\n")
    assert too_large.startswith(b"HTTP/1.1 413")
    assert json.loads(too_large.split(b"\r\n\r\n", 1)[1])["error"]["type"] == "PayloadTooLarge"
    broken = _exchange(host, port, chunked_head + b"zz\r\nhello\r\n0\r\n\r\n")
    assert broken.startswith(b"HTTP/1.1 400")

    # a head over the limit is refused, not buffered without end
    huge = b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + b"X-Pad: " + b"a" * 40000 + b"\r\n"
    assert _exchange(host, port, huge).startswith(b"HTTP/1.1 431")
