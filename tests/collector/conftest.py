"""Fixtures for the collector tests."""
from __future__ import annotations

import shutil
import subprocess

import pytest


class Replay:
    """A loopback HTTP server answering from recorded exchanges, for the OpenStack collectors.

    Each exchange: {"method", "path" (exact, or a prefix ending in "*"), "status", "headers", "body"}.
    "{base}" in headers and bodies becomes this server's URL, so recorded catalogs point back here.
    The first exchange matching a request answers it; `times` (default unlimited) limits its uses.
    Unlike tests/loopback.py it also answers HEAD (without a body). Each recorded request carries
    the client's port ("client_port": the same port means a kept-alive connection was reused); an
    exchange with "close": True drops the connection after answering without saying so (as a server
    whose keep-alive timeout ran out); with "close": "unanswered" it drops it without answering (as
    a server that closed an idle connection just as the request arrived). With `tls` (an ssl.SSLContext) it speaks https.
    """

    def __init__(self, exchanges=None, tls=None):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.exchanges = list(exchanges or [])
        self.requests = []
        self.hold = None  # a threading.Event a handler waits on before answering, when set
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = {"method": self.command, "path": self.path, "body": body,
                           "headers": {k.lower(): v for k, v in self.headers.items()},
                           "client_port": self.client_address[1]}
                # Recorded before answering: once a client has its answer, the request is listed.
                with owner._lock:
                    owner.requests.append(request)
                status, headers, data, close = owner._answer(request)
                if close == "unanswered":
                    self.close_connection = True
                    return
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if status not in (204, 304):
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if status not in (204, 304) and self.command != "HEAD":
                    try:
                        self.wfile.write(data)
                    except (BrokenPipeError, ConnectionResetError):
                        # the client hung up on the headers: a client refusing an answer too large
                        self.close_connection = True
                        return
                if close:
                    self.close_connection = True

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.tls = tls
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def base(self):
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.server.server_address[1]}"

    def add(self, method, path, status=200, body=b"", headers=None, times=None, close=False):
        self.exchanges.append({"method": method, "path": path, "status": status, "body": body,
                               "headers": headers or {}, "times": times, "close": close})

    def _answer(self, request):
        import json as _json
        path = request["path"]
        with self._lock:
            for exchange in self.exchanges:
                want = exchange["path"]
                if exchange["method"] != request["method"] and not (
                        request["method"] == "HEAD" and exchange["method"] == "GET"):
                    continue
                if not (path == want or (want.endswith("*") and path.startswith(want[:-1]))):
                    continue
                if exchange.get("times") is not None:
                    if exchange["times"] <= 0:
                        continue
                    exchange["times"] -= 1
                break
            else:
                return 404, {}, b'{"error": "no recorded exchange"}', False
        if callable(exchange.get("hold")):
            exchange["hold"](request)
        body = exchange["body"]
        headers = {k: str(v).replace("{base}", self.base) for k, v in exchange["headers"].items()}
        if not isinstance(body, (bytes, str)):
            body = _json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.replace("{base}", self.base).encode()
        return exchange["status"], headers, body, exchange.get("close") or False

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def replay():
    server = Replay()
    yield server
    server.stop()


@pytest.fixture
def another_replay():
    """A second, independent Replay (another origin: a redirect target, a proxy)."""
    server = Replay()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it (made with openssl(1)):
    {"ca": path, "cert": path, "key": path}."""
    if not shutil.which("openssl"):
        pytest.skip("openssl(1) is not installed: cannot make test certificates")
    d = tmp_path_factory.mktemp("tls")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=30)

    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=stoker test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                               "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                               "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
    return {"ca": str(d / "ca.pem"), "cert": str(d / "server.pem"), "key": str(d / "server.key")}


@pytest.fixture
def tls_replay(tls_files):
    """A Replay speaking https with the certificate of `tls_files` (trusted only through its CA)."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files["cert"], tls_files["key"])
    server = Replay(tls=context)
    yield server
    server.stop()
