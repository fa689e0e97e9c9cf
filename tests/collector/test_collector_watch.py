"""The watch collector against a loopback HTTP server."""
import json

import pytest

from collector.cache import Cache
from collector.errors import SourceNotAvailable, SourceNotConfigured
from collector.fake import FakeCollector
from collector.watch import WatchCollector

TOKEN = "server-token-123"
DOC = {"deployments": [], "os-collect-config": {"collectors": ["watch"]}}


def watch(server, **overrides):
    settings = {"metadata_url": server.url("/v1/t/servers/s/metadata"), "auth_token": TOKEN, "timeout": 5.0}
    settings.update(overrides)
    return WatchCollector(settings)


def test_200_then_304_reuses_the_document(http_server):
    http_server.respond(200, DOC, {"ETag": '"v1"'})
    http_server.respond(304)
    collector = watch(http_server)
    assert collector.collect() == [("watch", DOC)]
    assert collector.collect() == [("watch", DOC)]
    first, second = http_server.wait_for(2)
    assert first.method == "GET" and first.path == "/v1/t/servers/s/metadata"
    assert first.headers["x-auth-token"] == TOKEN
    assert "if-none-match" not in first.headers
    assert second.headers["if-none-match"] == '"v1"'


def test_new_etag_replaces_document(http_server):
    http_server.respond(200, DOC, {"ETag": '"v1"'})
    http_server.respond(200, {"deployments": [1]}, {"ETag": '"v2"'})
    http_server.respond(304)
    collector = watch(http_server)
    collector.collect()
    assert collector.collect() == [("watch", {"deployments": [1]})]
    assert collector.collect() == [("watch", {"deployments": [1]})]
    assert http_server.wait_for(3)[2].headers["if-none-match"] == '"v2"'


def test_500_names_the_url_but_not_the_token(http_server):
    http_server.respond(500, {"code": 500, "error": {"message": "database is down"}})
    with pytest.raises(SourceNotAvailable) as err:
        watch(http_server).collect()
    reason = err.value.reason
    assert http_server.url("/v1/t/servers/s/metadata") in reason
    assert "500" in reason and "database is down" in reason
    assert TOKEN not in reason


def test_connection_refused_is_one_clear_line(closed_url):
    url = closed_url("/v1/t/servers/s/metadata")
    collector = WatchCollector({"metadata_url": url, "auth_token": TOKEN, "timeout": 5.0})
    with pytest.raises(SourceNotAvailable) as err:
        collector.collect()
    assert err.value.reason == f"cannot reach {url}: connection refused"


@pytest.mark.parametrize("body, why", [(b"{not json", "not JSON"), (b"[1, 2]", "JSON list, not an object")])
def test_malformed_body_keeps_the_last_good_cache(http_server, tmp_path, body, why):
    cache = Cache(str(tmp_path))
    collector = watch(http_server)
    http_server.respond(200, DOC, {"ETag": '"v1"'})
    for key, content in collector.collect():
        cache.store(key, content)
    http_server.respond(200, body, {"ETag": '"v2"'})
    with pytest.raises(SourceNotAvailable, match=why):
        collector.collect()
    assert cache.load("watch") == DOC
    # and the held document still answers a later 304
    http_server.respond(304)
    assert collector.collect() == [("watch", DOC)]
    assert http_server.wait_for(3)[2].headers["if-none-match"] == '"v1"'


def test_304_without_a_held_document_is_not_available(http_server):
    http_server.respond(304)
    with pytest.raises(SourceNotAvailable, match="304"):
        watch(http_server).collect()


def test_timeout(http_server):
    import threading

    release = threading.Event()

    def slow(request):
        release.wait(5)
        return 200, {}, b"{}"

    http_server.handler = slow
    try:
        with pytest.raises(SourceNotAvailable, match=r"no answer from .* within 0.2s"):
            watch(http_server, timeout=0.2).collect()
    finally:
        release.set()


def test_not_configured_without_url():
    with pytest.raises(SourceNotConfigured):
        WatchCollector({"metadata_url": None}).collect()


def test_fake_collector():
    fake = FakeCollector(document={"a": 1})
    assert fake.collect() == [("fake", {"a": 1})]
    fake.fail("down")
    with pytest.raises(SourceNotAvailable, match="down"):
        fake.collect()
    fake.set({"b": 2})
    assert fake.collect() == [("fake", {"b": 2})]
    assert fake.calls == 3
    assert json.dumps(fake.document)
