"""Durable signal delivery: pending results survive failures and are sent once the server is back."""
import json

import pytest
import os
import stat

from agent.outbox import NO_SIGNAL, PENDING, REJECTED, SENT, Outbox
from agent.signals.url import UrlTransport

PAYLOAD = {"deploy_stdout": "ok", "deploy_stderr": "", "deploy_status_code": 0}


def test_failed_delivery_is_kept_and_sent_by_flush(outbox, transport, item_factory):
    transport.fail_next()
    item = item_factory("d1")
    assert outbox.deliver(item, PAYLOAD) == PENDING
    path = os.path.join(outbox.directory, "d1.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert outbox.pending() == ["d1"]

    assert outbox.flush() == 0
    assert outbox.pending() == [] and not os.path.exists(path)
    assert transport.payloads("d1") == [PAYLOAD]
    assert outbox.flush() == 0
    assert len(transport.sent) == 1


def test_entry_is_written_before_sending(tmp_path, item_factory):
    seen = []

    class Checking:
        def send(self, item, payload, attempt=None):
            seen.append(json.loads((tmp_path / "d1.json").read_text())["payload"])

    outbox = Outbox(str(tmp_path), choose=lambda item: Checking())
    assert outbox.deliver(item_factory("d1"), PAYLOAD) == SENT
    assert seen == [PAYLOAD]
    assert not (tmp_path / "d1.json").exists()


def test_no_transport_means_no_entry(outbox, transport, item_factory):
    assert outbox.deliver(item_factory(signal_url=None), PAYLOAD) == NO_SIGNAL
    assert outbox.pending() == [] and transport.sent == []


def test_refused_signal_is_moved_aside_not_retried(outbox, transport, item_factory):
    transport.fail_next(message="403 Forbidden", retryable=False)
    assert outbox.deliver(item_factory("d1"), PAYLOAD) == REJECTED
    assert os.path.exists(os.path.join(outbox.directory, "rejected", "d1.json"))
    assert outbox.flush() == 0 and transport.sent == []


def test_flush_sends_oldest_first_and_stops_at_the_first_failure(paths, transport, item_factory):
    clock = iter(range(100)).__next__
    outbox = Outbox(paths.outbox_dir, choose=lambda item: transport, clock=lambda: clock(), retry_base=0)
    transport.fail_next(3)
    for ident in ("b-newer-name-first", "a", "c"):
        outbox.deliver(item_factory(ident), dict(PAYLOAD, id=ident))
    assert outbox.pending() == ["b-newer-name-first", "a", "c"]

    transport.fail_next()
    assert outbox.flush() == 3  # one attempt, then wait for the next iteration
    assert transport.sent == []
    assert outbox.flush() == 0
    assert [p["id"] for _, p in transport.sent] == ["b-newer-name-first", "a", "c"]


def test_unreadable_entry_is_moved_aside(outbox, transport, item_factory):
    os.makedirs(outbox.directory)
    with open(os.path.join(outbox.directory, "broken.json"), "w") as f:
        f.write("{not json")
    assert outbox.flush() == 0
    assert os.path.exists(os.path.join(outbox.directory, "broken.json.bad"))


def test_result_produced_while_server_down_arrives_once_after_it_is_back(http_server, paths, item_factory,
                                                                         url_selector):
    outbox = Outbox(paths.outbox_dir, choose=url_selector(lambda: UrlTransport(sleep=lambda s: None)), retry_base=0)
    item = item_factory("d1", signal_url=http_server.url("/v1/signal/deployments/d1?sig=x"))
    http_server.respond(503, times=3)
    assert outbox.deliver(item, PAYLOAD) == PENDING
    http_server.respond(200, {"signal": {"applied": True}})
    assert outbox.flush() == 0
    requests = http_server.wait_for(4)
    assert [r.json() for r in requests] == [PAYLOAD] * 4  # the same result every time
    assert [r.method for r in requests] == ["PUT"] * 4
    assert outbox.flush() == 0 and len(http_server.requests) == 4


def test_declared_transport_without_its_inputs_is_a_warning_not_silence(paths, item_factory, caplog):
    outbox = Outbox(paths.outbox_dir)  # the real selection rules
    item = item_factory(signal_url=None)
    item["inputs"] += [{"name": "deploy_signal_transport", "type": "String", "value": "HEAT_SIGNAL"}]
    assert outbox.deliver(item, PAYLOAD) == NO_SIGNAL
    assert "signal transport HEAT_SIGNAL has none of the inputs it needs; result not sent" in caplog.text


def test_retries_back_off_with_jitter_and_the_schedule_survives_a_restart(paths, transport, item_factory):
    now = [1000.0]
    rolls = iter([0.0, 1.0, 0.5, 0.5])

    def make():
        return Outbox(paths.outbox_dir, choose=lambda item: transport, clock=lambda: now[0], retry_base=2,
                      retry_max=5, jitter=0.2, rand=lambda: next(rolls))

    outbox = make()
    transport.fail_next(3)
    assert outbox.deliver(item_factory("d1"), PAYLOAD) == PENDING
    assert outbox.next_due() == 1000 + 2 * 0.8  # first delay 2 s, jitter -20%
    assert outbox.flush() == 1 and transport.sent == []  # not due yet: not tried
    now[0] = 1001.6
    assert outbox.flush() == 1
    assert outbox.next_due() == pytest.approx(1001.6 + 4 * 1.2)  # doubled, jitter +20%

    restarted = make()  # a new agent process: the schedule is in the entry, not in memory
    now[0] = 1005
    assert restarted.flush() == 1 and len(transport.failures) == 1
    now[0] = 1006.5
    assert restarted.flush() == 1  # third failure: delay capped at retry_max
    entry = restarted.entries()[0]
    assert entry["tries"] == 3 and entry["next_try_at"] == pytest.approx(1006.5 + 5)
    assert entry["last_error"] == "fake transport down"
    now[0] = 1100
    assert restarted.flush() == 0 and len(transport.sent) == 1


def test_the_attempt_id_is_kept_across_retries(outbox, transport, item_factory):
    transport.fail_next(2)
    outbox.deliver(item_factory("d1"), PAYLOAD)
    attempt = outbox.entries()[0]["attempt"]
    outbox.flush()
    outbox.flush()
    assert transport.attempts == [attempt]


def test_listener_hears_every_outcome(paths, transport, item_factory):
    heard = []
    outbox = Outbox(paths.outbox_dir, choose=lambda item: transport if "deploy_signal_id" in str(item) else None,
                    retry_base=0, listener=lambda *args: heard.append(args))
    transport.fail_next()
    outbox.deliver(item_factory("d1"), PAYLOAD)
    outbox.flush()
    transport.fail_next(message="404 Not Found", retryable=False)
    outbox.deliver(item_factory("d2"), PAYLOAD)
    outbox.deliver(item_factory("d3", signal_url=None), PAYLOAD)
    assert heard == [("d1", PENDING, "fake transport down"), ("d1", SENT, None), ("d2", REJECTED, "404 Not Found"),
                     ("d3", NO_SIGNAL, None)]
