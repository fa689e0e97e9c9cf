"""stoker_common/http_client.py, the agent's one HTTP client, against real loopback servers (plain and TLS)."""
import base64
import gzip
import json
import signal
import threading
import zlib

import pytest

from stoker_common.http_client import HttpClient, ResponseTooLarge, Timeout, TransportError, with_query

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def client():
    http = HttpClient()
    yield http
    http.close()


def test_get_sends_headers_and_reads_status_headers_body(replay, client):
    replay.add("GET", "/doc", 200, {"k": "v"}, {"ETag": '"e1"', "X-Two": "a"})
    resp = client.request("GET", replay.base + "/doc", {"X-Auth-Token": "tok", "Accept": "application/json"},
                          timeout=5)
    assert (resp.status, resp.reason, resp.ok) == (200, "OK", True)
    assert resp.json() == {"k": "v"}
    assert resp.headers["etag"] == '"e1"' and resp.headers.get("ETAG") == '"e1"' and "x-two" in resp.headers
    [sent] = replay.requests
    assert sent["headers"]["x-auth-token"] == "tok" and sent["headers"]["accept"] == "application/json"
    assert sent["headers"]["user-agent"] == "stoker-agent"


def test_any_status_is_an_answer_and_head_has_no_body(replay, client):
    replay.add("GET", "/missing", 404, b"nope")
    resp = client.request("GET", replay.base + "/missing")
    assert (resp.status, resp.ok, resp.body) == (404, False, b"nope")
    head = client.request("HEAD", replay.base + "/missing")
    assert head.status == 404 and head.body == b"" and head.headers["content-length"] == "4"


def test_body_and_put(replay, client):
    replay.add("PUT", "/signal", 200, b"{}")
    client.request("PUT", replay.base + "/signal", {"Content-Type": "application/json"}, b'{"a": 1}')
    [sent] = replay.requests
    assert sent["body"] == b'{"a": 1}' and sent["headers"]["content-type"] == "application/json"


def test_the_connection_is_kept_alive_and_replaced_when_the_server_closed_it(replay, client):
    replay.add("GET", "/a", 200, b"1", times=2)
    replay.add("GET", "/a", 200, b"2", times=1, close=True)  # closes after answering, without saying so
    replay.add("GET", "/a", 200, b"3")
    bodies = [client.request("GET", replay.base + "/a").body for _ in range(4)]
    assert bodies == [b"1", b"1", b"2", b"3"]
    ports = [r["client_port"] for r in replay.requests]
    assert ports[0] == ports[1] == ports[2] != ports[3]


def test_a_kept_alive_connection_closed_unanswered_is_retried_once_for_idempotent_methods(replay, client):
    replay.add("GET", "/a", 200, b"1", times=1)
    replay.add("GET", "/a", 200, b"", times=1, close="unanswered")
    replay.add("GET", "/a", 200, b"2", times=1)
    assert client.request("GET", replay.base + "/a").body == b"1"
    assert client.request("GET", replay.base + "/a").body == b"2"
    ports = [r["client_port"] for r in replay.requests]
    assert len(ports) == 3 and ports[0] == ports[1] != ports[2]

    # a POST may have been acted on: it is not sent again, the caller decides (the outbox retries)
    replay.add("POST", "/s", 200, b"", times=1)
    replay.add("POST", "/s", 200, b"", times=1, close="unanswered")
    client.request("POST", replay.base + "/s", body=b"{}")
    with pytest.raises(TransportError, match="closed the connection without answering"):
        client.request("POST", replay.base + "/s", body=b"{}")
    assert [r["method"] for r in replay.requests].count("POST") == 2


def test_connection_refused(client, closed_url):
    with pytest.raises(TransportError) as err:
        client.request("GET", closed_url("/x"), timeout=5)
    assert err.value.reason == "connection refused" and not isinstance(err.value, Timeout)


def test_timeout(replay, client):
    release = threading.Event()
    replay.exchanges.append({"method": "GET", "path": "/slow", "status": 200, "body": b"", "headers": {},
                             "hold": lambda request: release.wait(10)})
    try:
        with pytest.raises(Timeout, match="timed out"):
            client.request("GET", replay.base + "/slow", timeout=0.2)
    finally:
        release.set()


def test_not_http(client):
    for url, why in (("ftp://example.org/x", r"not an http\(s\) URL"), ("http://127.0.0.1:99999/", "invalid URL")):
        with pytest.raises(TransportError, match=why):
            client.request("GET", url)


def test_a_bad_header_value_is_refused_without_quoting_it(replay, client):
    with pytest.raises(TransportError) as err:
        client.request("GET", replay.base + "/x", {"X-Auth-Token": "s3cret\r\nX-Evil: 1"})
    assert "s3cret" not in err.value.reason and "forbids" in err.value.reason
    assert replay.requests == []


def test_a_stop_signal_during_a_long_poll_propagates_and_the_client_stays_usable(replay, client):
    class Stop(BaseException):
        pass

    def stop(signum, frame):
        raise Stop()

    release = threading.Event()
    replay.exchanges.append({"method": "GET", "path": "/held", "status": 304, "body": b"", "headers": {},
                             "hold": lambda request: release.wait(10), "times": 1})
    replay.add("GET", "/held", 200, b"after")
    previous = signal.signal(signal.SIGALRM, stop)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(Stop):  # not wrapped in TransportError: the agent's Stopped must get through
            client.request("GET", replay.base + "/held", timeout=10)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        release.set()
    assert client.request("GET", replay.base + "/held").body == b"after"


def test_redirects_follow_requests_rules(replay, client):
    replay.add("GET", "/old", 302, b"", {"Location": "/new"})
    replay.add("GET", "/new", 200, b"here")
    resp = client.request("GET", replay.base + "/old")
    assert resp.body == b"here" and resp.url == replay.base + "/new"

    replay.add("POST", "/form", 303, b"", {"Location": "/result"})
    replay.add("GET", "/result", 200, b"seen")
    assert client.request("POST", replay.base + "/form", {"Content-Type": "application/json"}, b"{}").body == b"seen"
    assert replay.requests[-1]["method"] == "GET" and replay.requests[-1]["body"] == b""
    assert "content-type" not in replay.requests[-1]["headers"]

    replay.add("PUT", "/moved", 307, b"", {"Location": "/here"})
    replay.add("PUT", "/here", 201, b"")
    assert client.request("PUT", replay.base + "/moved", body=b"data").status == 201
    assert replay.requests[-1]["method"] == "PUT" and replay.requests[-1]["body"] == b"data"


def test_a_redirect_to_another_origin_drops_credentials(replay, another_replay, client):
    another_replay.add("GET", "/there", 200, b"ok")
    replay.add("GET", "/go", 301, b"", {"Location": another_replay.base + "/there"})
    client.request("GET", replay.base + "/go", {"X-Auth-Token": "tok", "Authorization": "Basic x", "X-Keep": "1"})
    [there] = another_replay.requests
    assert "x-auth-token" not in there["headers"] and "authorization" not in there["headers"]
    assert there["headers"]["x-keep"] == "1"


def test_too_many_redirects(replay):
    replay.add("GET", "/loop", 302, b"", {"Location": "/loop"})
    with pytest.raises(TransportError, match="more than 3 redirects"):
        HttpClient(max_redirects=3).request("GET", replay.base + "/loop")
    assert len(replay.requests) == 4


def test_compressed_answers_are_decoded(replay, client):
    replay.add("GET", "/gz", 200, gzip.compress(b'{"z": 1}'), {"Content-Encoding": "gzip"})
    replay.add("GET", "/deflate", 200, zlib.compress(b"plain"), {"Content-Encoding": "deflate"})
    replay.add("GET", "/broken", 200, b"not gzip", {"Content-Encoding": "gzip"})
    assert client.request("GET", replay.base + "/gz").json() == {"z": 1}
    assert client.request("GET", replay.base + "/deflate").body == b"plain"
    with pytest.raises(TransportError, match="cannot decode the gzip answer"):
        client.request("GET", replay.base + "/broken")
    assert "gzip" in replay.requests[0]["headers"]["accept-encoding"]


def test_text_uses_the_charset_else_utf8(replay, client):
    replay.add("GET", "/latin", 200, "é".encode("latin-1"), {"Content-Type": "text/plain; charset=ISO-8859-1"})
    replay.add("GET", "/utf8", 200, "é".encode(), {"Content-Type": "text/plain"})
    assert client.request("GET", replay.base + "/latin").text == "é"
    assert client.request("GET", replay.base + "/utf8").text == "é"


def test_credentials_in_the_url_become_basic_auth(replay, client):
    replay.add("GET", "/x", 200, b"")
    client.request("GET", replay.base.replace("://", "://us%40er:p%3Ass@") + "/x")
    auth = replay.requests[0]["headers"]["authorization"]
    assert base64.b64decode(auth.split()[1]) == b"us@er:p:ss"


def test_query_and_unsafe_characters(replay, client):
    replay.add("GET", "/a%20b*", 200, b"")
    client.request("GET", with_query(replay.base + "/a b?x=1", {"wait": "25", "s": "a b&c"}))
    assert replay.requests[0]["path"] == "/a%20b?x=1&wait=25&s=a+b%26c"
    assert with_query("http://h/p", {}) == "http://h/p"


def test_tls_verifies_with_the_given_ca_only(tls_replay, tls_files):
    tls_replay.add("GET", "/secure", 200, b"secret")
    assert HttpClient(verify=tls_files["ca"]).request("GET", tls_replay.base + "/secure").body == b"secret"
    with pytest.raises(TransportError, match="TLS error: certificate verify failed"):
        HttpClient().request("GET", tls_replay.base + "/secure", timeout=5)
    assert HttpClient(verify=False).request("GET", tls_replay.base + "/secure").body == b"secret"


def test_tls_host_name_is_checked(tls_replay, tls_files):
    # the certificate is for 127.0.0.1; "localhost" reaches the same server under another name
    url = tls_replay.base.replace("127.0.0.1", "localhost") + "/x"
    with pytest.raises(TransportError, match="TLS error: certificate verify failed: .*(?i:mismatch)"):
        HttpClient(verify=tls_files["ca"]).request("GET", url, timeout=5)


def test_requests_ca_bundle_is_honoured(tls_replay, tls_files, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls_files["ca"])
    tls_replay.add("GET", "/secure", 200, b"ok")
    assert HttpClient().request("GET", tls_replay.base + "/secure").body == b"ok"


def test_a_missing_ca_bundle_is_named(tls_replay, tmp_path):
    with pytest.raises(TransportError, match="cannot load the CA bundle .*nope.pem"):
        HttpClient(verify=str(tmp_path / "nope.pem")).request("GET", tls_replay.base + "/x")


@pytest.fixture
def no_proxy_env(monkeypatch):
    import os
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_http_proxy_from_the_environment(replay, another_replay, no_proxy_env, client):
    proxy = another_replay
    proxy.add("GET", "http://*", 200, b"via proxy")
    no_proxy_env.setenv("http_proxy", proxy.base.replace("://", "://pu:pp@"))
    target = replay.base + "/doc?x=1"
    assert client.request("GET", target).body == b"via proxy"
    [seen] = proxy.requests
    assert seen["path"] == target
    assert base64.b64decode(seen["headers"]["proxy-authorization"].split()[1]) == b"pu:pp"
    assert replay.requests == []

    no_proxy_env.setenv("no_proxy", "127.0.0.1")
    replay.add("GET", "/doc*", 200, b"direct")
    assert client.request("GET", target).body == b"direct"


def test_https_goes_through_a_connect_tunnel(tls_replay, tls_files, no_proxy_env):
    """A minimal CONNECT proxy relays bytes to the TLS server; the certificate is still checked
    against the target's name."""
    import socket
    import socketserver

    port = int(tls_replay.base.rsplit(":", 1)[1])
    seen = []

    class Tunnel(socketserver.StreamRequestHandler):
        def handle(self):
            seen.append(self.rfile.readline().decode().strip())
            while self.rfile.readline() not in (b"\r\n", b""):
                pass
            upstream = socket.create_connection(("127.0.0.1", port))
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

            def pump(src, dst):
                try:
                    while data := src.recv(65536):
                        dst.sendall(data)
                except OSError:
                    pass
                finally:
                    for s in (src, dst):
                        try:
                            s.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass

            back = threading.Thread(target=pump, args=(upstream, self.connection), daemon=True)
            back.start()
            pump(self.connection, upstream)
            back.join(5)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Tunnel)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        no_proxy_env.setenv("https_proxy", f"http://127.0.0.1:{server.server_address[1]}")
        tls_replay.add("GET", "/secure", 200, json.dumps({"ok": True}))
        http = HttpClient(verify=tls_files["ca"])
        assert http.request("GET", tls_replay.base + "/secure", timeout=5).json() == {"ok": True}
        http.close()
        assert len(seen) == 1 and seen[0].startswith(f"CONNECT 127.0.0.1:{port} HTTP/")
    finally:
        server.shutdown()
        server.server_close()


def test_an_answer_over_the_cap_is_refused_and_the_client_carries_on(replay):
    replay.add("GET", "/big", 200, b"x" * 2000)
    replay.add("GET", "/small", 200, b"fine")
    client = HttpClient(max_body=1000)
    try:
        with pytest.raises(ResponseTooLarge, match=r"^the answer is 2000 bytes \(Content-Length\), over the limit of 1000 bytes$"):
            client.request("GET", replay.base + "/big")
        assert client.request("GET", replay.base + "/small").body == b"fine"
    finally:
        client.close()
