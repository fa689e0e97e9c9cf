"""The bookkeeping of long polls a worker holds in its event loop (no sockets needed)."""
from metadata_server.held_watches import Held, HeldWatches


def _held(server_id: str, deadline: float) -> Held:
    return Held(server_id, deadline, b"GET / HTTP/1.1\r\n\r\n")


def test_a_change_names_only_its_servers_connections():
    held = HeldWatches()
    held.hold("a1", _held("s1", 10))
    held.hold("a2", _held("s1", 11))
    held.hold("b1", _held("s2", 12))
    assert sorted(held.changed("s1")) == ["a1", "a2"] and held.changed("s3") == []
    assert held.holds_server("s2") and not held.holds_server("s3")
    assert held.release("b1").server_id == "s2"
    assert not held.holds_server("s2") and held.release("b1") is None
    assert len(held) == 2 and "a1" in held and "b1" not in held


def test_waits_end_in_deadline_order_and_released_ones_are_skipped():
    held = HeldWatches()
    held.hold("late", _held("s", 30))
    held.hold("early", _held("s", 10))
    held.hold("gone", _held("s", 5))
    held.release("gone")
    assert held.next_deadline() == 10
    assert held.expired(9) == []
    assert held.expired(10) == ["early"]
    # expired() only says whose wait ended: the loop releases them as it answers
    held.release("early")
    assert held.next_deadline() == 30


def test_a_connection_held_again_keeps_only_its_latest_deadline():
    held = HeldWatches()
    held.hold("c", _held("s", 10))
    held.release("c")
    held.hold("c", _held("s", 20))
    assert held.expired(15) == [] and held.next_deadline() == 20
    assert held.expired(20) == ["c"]
