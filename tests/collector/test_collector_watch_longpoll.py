"""The watch collector's long poll (`wait` with If-None-Match) and the server-set poll interval."""
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from collector.watch import WatchCollector

DOC1 = {"deployments": [], "v": 1}
DOC2 = {"deployments": [], "v": 2}


def watch(replay, **overrides):
    settings = {"metadata_url": replay.base + "/v1/t/servers/s/metadata", "auth_token": "tok", "timeout": 5.0,
                "wait": 20.0}
    settings.update(overrides)
    return WatchCollector(settings)


def query(request):
    return parse_qs(urlsplit(request["path"]).query)


@pytest.mark.timeout(30)
def test_first_request_plain_then_wait_with_if_none_match(replay):
    replay.add("GET", "/v1/t/servers/s/metadata*", 200, DOC1, {"ETag": '"e1"', "X-Stoker-Poll-Interval": "60"}, times=1)
    replay.add("GET", "/v1/t/servers/s/metadata*", 304, b"", {"ETag": '"e1"', "X-Stoker-Poll-Interval": "60"})
    collector = watch(replay)
    assert collector.collect() == [("watch", DOC1)]
    assert collector.poll_interval == 60
    # a server that ignores `wait` answers at once: plain conditional polling, nothing held
    assert collector.collect() == [("watch", DOC1)]
    first, second = replay.requests
    assert query(first) == {} and "if-none-match" not in first["headers"]
    assert query(second) == {"wait": ["20"]} and second["headers"]["if-none-match"] == '"e1"'
    assert collector.held_for < 5


@pytest.mark.timeout(30)
def test_a_prompt_poll_sends_no_wait(replay):
    replay.add("GET", "/v1/t/servers/s/metadata*", 200, DOC1, {"ETag": '"e1"'}, times=1)
    replay.add("GET", "/v1/t/servers/s/metadata*", 304, b"", {"ETag": '"e1"'})
    collector = watch(replay)
    collector.collect()
    assert collector.collect_promptly() == [("watch", DOC1)]
    collector.collect()
    first, prompt, waiting = replay.requests
    assert query(prompt) == {} and prompt["headers"]["if-none-match"] == '"e1"'
    assert query(waiting) == {"wait": ["20"]} and collector.wait == 20


@pytest.mark.timeout(30)
def test_held_request_returns_as_soon_as_the_document_changes(replay):
    arrived, changed = threading.Event(), threading.Event()

    def hold(request):
        arrived.set()
        assert changed.wait(10)

    replay.add("GET", "/v1/t/servers/s/metadata*", 200, DOC1, {"ETag": '"e1"'}, times=1)
    replay.exchanges.append({"method": "GET", "path": "/v1/t/servers/s/metadata*", "status": 200, "body": DOC2,
                             "headers": {"ETag": '"e2"'}, "hold": hold})
    collector = watch(replay)
    collector.collect()
    result = {}
    worker = threading.Thread(target=lambda: result.update(r=collector.collect()))
    worker.start()
    assert arrived.wait(10)
    assert worker.is_alive()  # held by the server
    changed.set()
    worker.join(10)
    assert result["r"] == [("watch", DOC2)]


@pytest.mark.timeout(30)
def test_held_304_reports_how_long_it_was_held(replay):
    replay.add("GET", "/v1/t/servers/s/metadata*", 200, DOC1, {"ETag": '"e1"'}, times=1)
    replay.exchanges.append({"method": "GET", "path": "/v1/t/servers/s/metadata*", "status": 304, "body": b"",
                             "headers": {"ETag": '"e1"'}, "hold": lambda request: time.sleep(0.3)})
    collector = watch(replay)
    collector.collect()
    assert collector.collect() == [("watch", DOC1)]
    assert collector.held_for >= 0.3


@pytest.mark.timeout(30)
def test_wait_zero_turns_long_polling_off(replay):
    replay.add("GET", "/v1/t/servers/s/metadata*", 200, DOC1, {"ETag": '"e1"'}, times=1)
    replay.add("GET", "/v1/t/servers/s/metadata*", 304, b"")
    collector = watch(replay, wait=0.0)
    collector.collect()
    collector.collect()
    assert query(replay.requests[1]) == {}
    assert replay.requests[1]["headers"]["if-none-match"] == '"e1"'


@pytest.mark.parametrize("header, expected", [("30", 30.0), ("2.5", 2.5), ("0", None), ("-1", None),
                                              ("soon", None), ("1e9", None)])
def test_poll_interval_header_is_validated(replay, header, expected):
    replay.add("GET", "/v1/t/servers/s/metadata*", 200, DOC1, {"ETag": '"e1"', "X-Stoker-Poll-Interval": header})
    collector = watch(replay)
    collector.collect()
    assert collector.poll_interval == expected
