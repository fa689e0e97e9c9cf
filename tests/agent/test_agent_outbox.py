"""Durable signal delivery: pending results survive failures and are sent once the server is back."""
import json
import os
import stat

from agent.outbox import NO_SIGNAL, PENDING, REJECTED, SENT, Outbox
from agent.signals import TransportSelector
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


def test_result_produced_while_server_down_arrives_once_after_it_is_back(http_server, paths, item_factory):
    outbox = Outbox(paths.outbox_dir, choose=TransportSelector([("deploy_signal_id", lambda: UrlTransport(
        sleep=lambda s: None))]), retry_base=0)
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
