"""The agent's HTTP client caps what it reads: raw bytes, and bytes after gzip/deflate.

One case per file in fixtures/agent_http/: how a loopback server frames its answer (`length`,
`chunked`, `close` for a body ended by closing the connection, or `length-claims-N` for a
Content-Length of N that the body does not have), its status line (`200 OK` when absent),
Content-Encoding and size of the body before encoding, the request's method (GET when absent), the
client's `max_body` (the default when absent), and what must come of it: `"expect": "ok"` (the
whole body), or the `error` class raised and its one-line `reason`. Below the table, the messages
an operator sees from a collector, a signal and `agent doctor` name the URL and the limit.
"""
import gzip
import json
import socket
import threading
import time
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from agent import doctor
from agent.outbox import Outbox
from agent.signals.cfn import CfnTransport
from collector.errors import SourceNotAvailable
from collector.watch import WatchCollector
from stoker_common.http_client import HttpClient, ResponseTooLarge, TransportError

CASES = Path(__file__).parent / "fixtures" / "agent_http"
pytestmark = pytest.mark.timeout(60)


def encoded(body: bytes, encoding):
    if encoding is None:
        return body, None
    if encoding == "gzip":
        return gzip.compress(body), "gzip"
    if encoding == "gzip-truncated":
        return gzip.compress(body)[:-20], "gzip"
    if encoding == "deflate":
        return zlib.compress(body), "deflate"
    if encoding == "raw-deflate":
        squeeze = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        return squeeze.compress(body) + squeeze.flush(), "deflate"
    raise ValueError(encoding)


def framed(data: bytes, framing: str, encoding, status: str = "200 OK") -> bytes:
    head = [f"HTTP/1.1 {status}", "Content-Type: application/octet-stream"]
    if encoding:
        head.append(f"Content-Encoding: {encoding}")
    if framing == "length":
        head.append(f"Content-Length: {len(data)}")
    elif framing.startswith("length-claims-"):
        head.append(f"Content-Length: {framing.rsplit('-', 1)[1]}")
    elif framing == "chunked":
        head.append("Transfer-Encoding: chunked")
        step = 4096
        data = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + step]), data[i:i + step])
                        for i in range(0, len(data), step)) + b"0\r\n\r\n"
    elif framing == "close":
        head.append("Connection: close")
    else:
        raise ValueError(framing)
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


class OneAnswer:
    """Answers the first request on 127.0.0.1 with fixed bytes, then closes."""

    def __init__(self, raw: bytes):
        self.raw = raw
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/doc"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return  # stopped before any request
        with conn:
            seen = b""
            while b"\r\n\r\n" not in seen:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                seen += chunk
            try:
                conn.sendall(self.raw)
            except OSError:
                pass  # the client gave up reading, as it should past its limit

    def stop(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        except OSError:
            pass
        self.listener.close()
        self.thread.join(10)


@pytest.mark.parametrize("case", sorted(p.stem for p in CASES.glob("*.json")))
def test_agent_http_limit(case):
    spec = json.loads((CASES / f"{case}.json").read_text())
    body = b"0" * spec["body"]
    data, encoding = encoded(body, spec.get("encoding"))
    server = OneAnswer(framed(data, spec["framing"], encoding, spec.get("status", "200 OK")))
    client = HttpClient(**({"max_body": spec["max_body"]} if "max_body" in spec else {}))
    method = spec.get("method", "GET")
    try:
        if spec.get("expect") == "ok":
            assert client.request(method, server.url, timeout=20).body == body
            return
        wanted = {"ResponseTooLarge": ResponseTooLarge, "TransportError": TransportError}[spec["error"]]
        with pytest.raises(wanted) as raised:
            client.request(method, server.url, timeout=20)
        assert raised.value.reason == spec["reason"]
        if wanted is TransportError:
            assert not isinstance(raised.value, ResponseTooLarge)
    finally:
        client.close()
        server.stop()


BIG = b'{"padding": "' + b"x" * 5000 + b'"}'


def test_a_collector_names_the_url_and_the_limit(http_server):
    http_server.handler = lambda request: (200, {"Content-Type": "application/json"}, BIG)
    collector = WatchCollector({"metadata_url": http_server.url("/v1/t/servers/s/metadata?token=secret"),
                                "wait": 0}, http=HttpClient(max_body=1000))
    with pytest.raises(SourceNotAvailable) as raised:
        collector.collect()
    assert str(raised.value) == (f"{http_server.url('/v1/t/servers/s/metadata')}?token=***: the answer is "
                                 f"{len(BIG)} bytes (Content-Length), over the limit of 1000 bytes")


def test_a_signal_answered_too_large_names_the_url_and_stays_in_the_outbox(http_server, tmp_path):
    http_server.handler = lambda request: (200, {"Content-Type": "application/json"}, BIG)
    transport = CfnTransport(http=HttpClient(max_body=1000), attempts=1)
    outbox = Outbox(str(tmp_path / "outbox"), choose=lambda item: transport, clock=lambda: 1000.0,
                    retry_base=1.0, jitter=0.0)
    signal_url = http_server.url("/signal?sig=secret")
    item = {"id": "dep-1", "name": "dep-1", "group": "script",
            "inputs": [{"name": "deploy_signal_id", "value": signal_url}]}

    assert outbox.deliver(item, {"deploy_status_code": 0}) == "pending"

    [entry] = outbox.entries()
    assert entry["last_error"] == (f"POST {http_server.url('/signal')}?sig=***: the answer is {len(BIG)} "
                                   "bytes (Content-Length), over the limit of 1000 bytes")


def test_doctor_names_the_url_and_the_limit(http_server):
    http_server.handler = lambda request: (200, {"Content-Type": "application/json"}, BIG)
    config = SimpleNamespace(settings={"watch": {"metadata_url": http_server.url("/v1/t/servers/s/metadata"),
                                                 "auth_token": "tok"}})
    [(level, check, message)] = doctor._server(config, HttpClient(max_body=1000), time.time)
    assert (level, check) == (doctor.FAIL, "server")
    assert message == (f"{http_server.url('/v1/t/servers/s/metadata')}: the answer is {len(BIG)} bytes "
                       "(Content-Length), over the limit of 1000 bytes")
