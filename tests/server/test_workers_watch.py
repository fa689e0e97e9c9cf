"""Long polls under `stoker server --workers 2` wait in the workers' event loops, not in threads:
many more watchers than threads are held, /healthz keeps answering meanwhile, every watcher
wakes with the new document when its server changes, a wait that ends answers 304, a stopping
server answers the watchers it holds. The answers are the embedded server's (protocol.md)."""
from __future__ import annotations

import json
import re
import secrets
import selectors
import socket
import time

import pytest
import requests

from cli.processes import Process, ProcessFailed, child_env, stoker_argv

WATCHERS = 300
SERVERS = 6
THREADS = 4  # per worker: 8 in all, for 300 watchers

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One `stoker server --workers 2 --threads 4`: (base URL, admin token, process)."""
    tmp = tmp_path_factory.mktemp("workers-watch")
    admin = secrets.token_urlsafe(16)
    process = Process("server", stoker_argv(
        "server", "--bind", "127.0.0.1:0", "--state-dir", str(tmp / "state"),
        "--workers", "2", "--threads", str(THREADS)),
        tmp / "server.log", child_env(STOKER_ADMIN_TOKEN=admin))
    try:
        try:
            line = process.wait_for_line("listening on", 60)
        except ProcessFailed:
            pytest.fail(process.log())
        yield line.rsplit(" ", 1)[1], admin, process
        assert "Traceback" not in process.log()
    finally:
        process.stop(timeout=15)


@pytest.fixture(scope="module")
def targets(server):
    """SERVERS registered servers: (server id, metadata path, token, current ETag)."""
    base, admin, _ = server
    session = requests.Session()
    session.headers["X-Auth-Token"] = admin
    made = []
    for index in range(SERVERS):
        answer = session.post(f"{base}/v1/t1/servers", json={"name": f"vm{index}"}, timeout=30)
        assert answer.status_code in (200, 201), answer.text
        body = answer.json()
        sid, token = body["server"]["id"], body["credential"]["token"]
        path = f"/v1/t1/servers/{sid}/metadata"
        etag = requests.get(base + path, headers={"X-Auth-Token": token}, timeout=30).headers["ETag"]
        made.append((sid, path, token, etag))
    return made


def _address(base: str) -> tuple[str, int]:
    host, port = base.rsplit("//", 1)[1].rsplit(":", 1)
    return host, int(port)


def _watch(base: str, path: str, token: str, etag: str, wait: float, close: bool) -> socket.socket:
    sock = socket.create_connection(_address(base), timeout=30)
    # the Host the ETags were read with: without --public-url the document carries it
    sock.sendall((f"GET {path}?wait={wait:g} HTTP/1.1\r\nHost: {base.split('//')[1]}\r\nX-Auth-Token: {token}\r\n"
                  f"If-None-Match: {etag}\r\n" + ("Connection: close\r\n" if close else "")
                  + "\r\n").encode())
    return sock


def _answer(sock: socket.socket) -> tuple[int, dict, bytes]:
    """One whole response read from `sock` (blocking, within its timeout)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    return int(lines[0].split()[1]), headers, body


def _answered(socks: list[socket.socket], timeout: float) -> list[socket.socket]:
    """Those of `socks` with something to read within `timeout` (waits for the first only)."""
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            selector.register(sock, selectors.EVENT_READ)
        return [key.fileobj for key, _ in selector.select(timeout)]


def _healthz_seconds(base: str) -> float:
    started = time.monotonic()
    assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
    return time.monotonic() - started


def _deploy(base: str, admin: str, server_id: str) -> None:
    session = requests.Session()
    session.headers["X-Auth-Token"] = admin
    config = session.post(f"{base}/v1/t1/software_configs", timeout=30, json={
        "group": "script", "config": "#!/bin/sh\necho hi\n"}).json()["software_config"]["id"]
    answer = session.post(f"{base}/v1/t1/software_deployments", timeout=30, json={
        "config_id": config, "server_id": server_id, "signal_transport": "TEMP_URL_SIGNAL"})
    assert answer.status_code in (200, 201), answer.text


def test_many_more_watchers_than_threads_all_wake_on_their_change(server, targets):
    base, admin, _ = server
    socks = []
    try:
        for key in range(WATCHERS):
            _, path, token, etag = targets[key % SERVERS]
            socks.append(_watch(base, path, token, etag, 50, close=(key // SERVERS) % 2 == 0))
        # a thread per watcher would leave none of the 8 for these until the waits end (50 s);
        # 5 s allows a loaded machine
        assert max(_healthz_seconds(base) for _ in range(10)) < 5.0
        early = _answered(socks, 0.5)
        assert early == [], [_answer(s) for s in early]

        changed = targets[:SERVERS // 2]
        for sid, *_ in changed:
            _deploy(base, admin, sid)
        woken = [s for k, s in enumerate(socks) if k % SERVERS < len(changed)]
        heads = {}
        for key, sock in enumerate(socks):
            if sock not in woken:
                continue
            sid, path, token, old_etag = targets[key % SERVERS]
            status, headers, body = _answer(sock)
            assert status == 200
            assert headers["etag"] != old_etag and headers["content-type"] == "application/json"
            assert len(json.loads(body)["deployments"]) == 1
            # one woken watcher per worker rebuilds the document in a thread, the others are
            # answered from the worker's loop: byte for byte the same answer but its Date
            heads.setdefault((sid, headers["connection"]), set()).add(
                (tuple(n for n in headers if n != "date"), body, headers["etag"]))
        assert len(heads) == 2 * len(changed)
        assert all(len(variants) == 1 for variants in heads.values()), heads
        # a kept-alive connection answered from the loop takes its next request
        key = next(k for k, sock in enumerate(socks) if sock in woken and (k // SERVERS) % 2)
        sid, path, token, _ = targets[key % SERVERS]
        socks[key].sendall(f"GET {path} HTTP/1.1\r\nHost: {base.split('//')[1]}\r\n"
                           f"X-Auth-Token: {token}\r\n\r\n".encode())
        status, headers, _ = _answer(socks[key])
        assert status == 200 and headers["connection"] == "keep-alive"
        # the unchanged servers' watchers still wait, and the API still answers
        assert _answered([s for s in socks if s not in woken], 0.5) == []
        assert _healthz_seconds(base) < 5.0
    finally:
        for sock in socks:
            sock.close()


def test_a_wait_that_ends_answers_304_and_the_connection_carries_on(server, targets):
    base, _, _ = server
    sid, path, token, _ = targets[-1]
    etag = requests.get(base + path, headers={"X-Auth-Token": token}, timeout=30).headers["ETag"]
    with _watch(base, path, token, etag, 1, close=False) as sock:
        started = time.monotonic()
        status, headers, body = _answer(sock)
        took = time.monotonic() - started
        assert (status, headers["etag"], body) == (304, etag, b"")
        assert 0.9 <= took < 10
        # kept alive: a second request on the same connection is answered too
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {base.split('//')[1]}\r\nX-Auth-Token: {token}\r\n\r\n".encode())
        status, headers, body = _answer(sock)
        assert status == 200 and headers["etag"] == etag and json.loads(body)


def test_a_wrong_token_is_refused_at_once_not_held(server, targets):
    base, _, _ = server
    _, path, _, etag = targets[0]
    with _watch(base, path, "not-a-token", etag, 50, close=True) as sock:
        status, _, body = _answer(sock)
    assert status == 401 and json.loads(body)["error"]["type"]


def _watchers_gauge(base: str) -> int:
    text = requests.get(f"{base}/metrics", timeout=5).text
    return int(float(re.search(r"^stoker_watchers (\S+)", text, re.M).group(1)))


def _until_gauge(base: str, wanted: int) -> None:
    deadline = time.monotonic() + 30  # a loaded machine
    while (seen := _watchers_gauge(base)) != wanted:
        assert time.monotonic() < deadline, f"stoker_watchers is {seen}, not {wanted}"
        time.sleep(0.05)  # the gauge is polled: no event carries it to the test


def test_held_watchers_are_counted_released_when_gone_and_answered_at_stop(tmp_path):
    """One worker, so that its /metrics counts every watcher."""
    admin = secrets.token_urlsafe(16)
    process = Process("server", stoker_argv(
        "server", "--bind", "127.0.0.1:0", "--state-dir", str(tmp_path / "state"),
        "--workers", "1", "--threads", "2"), tmp_path / "server.log",
        child_env(STOKER_ADMIN_TOKEN=admin))
    socks = []
    try:
        base = process.wait_for_line("listening on", 60).rsplit(" ", 1)[1]
        session = requests.Session()
        session.headers["X-Auth-Token"] = admin
        body = session.post(f"{base}/v1/t1/servers", json={"name": "vm"}, timeout=30).json()
        sid, token = body["server"]["id"], body["credential"]["token"]
        path = f"/v1/t1/servers/{sid}/metadata"
        etag = requests.get(base + path, headers={"X-Auth-Token": token}, timeout=30).headers["ETag"]
        socks = [_watch(base, path, token, etag, 50, close=False) for _ in range(20)]
        _until_gauge(base, 20)
        for sock in socks[:5]:  # agents that went away: their connections are let go
            sock.close()
        _until_gauge(base, 15)
        assert process.stop(timeout=20) == 0
        for sock in socks[5:]:
            status, headers, _ = _answer(sock)
            assert status == 304 and headers["connection"] == "close"
        assert "Traceback" not in process.log()
    finally:
        for sock in socks:
            sock.close()
        process.stop(timeout=5)


def test_the_watchers_of_a_deleted_server_are_answered_at_once(server):
    base, admin, _ = server
    session = requests.Session()
    session.headers["X-Auth-Token"] = admin
    body = session.post(f"{base}/v1/t1/servers", json={"name": "doomed"}, timeout=30).json()
    sid, token = body["server"]["id"], body["credential"]["token"]
    path = f"/v1/t1/servers/{sid}/metadata"
    etag = requests.get(base + path, headers={"X-Auth-Token": token}, timeout=30).headers["ETag"]
    socks = [_watch(base, path, token, etag, 50, close=key % 2 == 0) for key in range(40)]
    try:
        assert _answered(socks, 0.5) == []
        assert session.delete(f"{base}/v1/t1/servers/{sid}", timeout=30).status_code == 204
        for sock in socks:
            status, _, body = _answer(sock)  # within the socket's 30 s, not the wait's 50
            # 401 where the deletion dropped the cached credential, 404 where it is still
            # cached (another worker, for up to its 60 s): as a poll that was not held
            assert status in (401, 404) and json.loads(body)["error"]["type"]
    finally:
        for sock in socks:
            sock.close()
