"""The metrics thread's schedule, queue and retries, driven by a fake clock and a fake sender."""
import itertools
import json
import logging

import pytest

from agent.metrics import batch
from agent.metrics.batch import SampleQueue
from agent.metrics.reporter import Reporter
from agent.metrics.sender import DROP, RETRY, SENT, Outcome
from stoker_common.retry import RetryPolicy

pytestmark = pytest.mark.timeout(30)


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


class FakeSender:
    def __init__(self):
        self.bodies = []
        self.answers = []  # Outcome per POST, then SENT

    def post(self, body):
        self.bodies.append(json.loads(body))
        return self.answers.pop(0) if self.answers else Outcome(SENT)

    def times(self):
        return [[s["time"] for s in body["samples"]] for body in self.bodies]


def reporter(clock, sender, interval=10, batch_seconds=30, bound=batch.BOUND, retry=None):
    counter = iter(range(10**6))
    return Reporter(lambda: {"cpu_util": float(next(counter))}, sender, interval, batch_seconds,
                    queue=SampleQueue(bound), retry=retry or RetryPolicy(batch_seconds, 300), clock=clock,
                    wall=clock)


def run_until(rep, clock, end):
    """Advance the fake clock from due time to due time, as the thread would."""
    while True:
        wait = rep.tick()
        if clock.now + wait > end:
            return
        clock.now += wait


def test_samples_every_interval_and_sends_them_together_every_batch():
    clock, sender = Clock(), FakeSender()
    rep = reporter(clock, sender)
    run_until(rep, clock, 1095)
    # the first sample one interval after start: its cpu_util covers a whole interval
    assert sender.times() == [[1010, 1020, 1030], [1040, 1050, 1060], [1070, 1080, 1090]]
    assert sender.bodies[0]["samples"][1] == {"time": 1020, "metrics": {"cpu_util": 1.0}}


def test_a_slow_sample_does_not_make_the_next_ones_catch_up():
    clock, sender = Clock(), FakeSender()
    times = []

    def slow_sample():
        times.append(clock.now)
        clock.now += 25  # a script that took 25 s of a 10 s interval
        return {"x": 1.0}

    rep = Reporter(slow_sample, sender, 10, 1000, clock=clock, wall=clock)
    for _ in range(4):  # the first tick finds nothing due before 1010
        wait = rep.tick()
        clock.now += wait
    assert times == [1010, 1035, 1060]


def test_a_failed_post_keeps_the_samples_and_retries_with_backoff_then_sends_all():
    clock, sender = Clock(), FakeSender()
    sender.answers = [Outcome(RETRY, "refused"), Outcome(RETRY, "refused")]
    rep = reporter(clock, sender)
    run_until(rep, clock, 1200)
    # 1030 fails (next try in 30 s), 1060 fails (60 s), 1120 delivers everything taken so far
    assert [b["samples"][0]["time"] for b in sender.bodies][:3] == [1010, 1010, 1010]
    assert [len(b["samples"]) for b in sender.bodies][:3] == [3, 6, 12]
    assert sender.times()[3] == [1130, 1140, 1150]


def test_retry_after_is_honoured():
    clock, sender = Clock(), FakeSender()
    sender.answers = [Outcome(RETRY, "429 busy", retry_after=200)]
    rep = reporter(clock, sender)
    run_until(rep, clock, 1229)
    assert len(sender.bodies) == 1  # nothing before 1030 + 200
    run_until(rep, clock, 1231)
    assert len(sender.bodies) == 2 and len(sender.bodies[1]["samples"]) == 23


def test_past_the_bound_the_oldest_samples_are_dropped_and_counted(caplog):
    clock, sender = Clock(), FakeSender()
    sender.answers = [Outcome(RETRY, "down")] * 2
    rep = reporter(clock, sender, bound=5)
    with caplog.at_level(logging.INFO, logger="agent.metrics.reporter"):
        run_until(rep, clock, 1125)  # tries at 1030 and 1060 fail, 1120 delivers
    assert sender.times()[-1] == [1080, 1090, 1100, 1110, 1120]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages  # the first failure once, then the recovery
    assert messages[0].startswith("metrics: down; 3 sample(s) kept, retrying in 30s")
    assert messages[1] == "metrics: delivered again after 90s, 7 older sample(s) dropped for room"


def test_a_refused_body_is_dropped_and_the_rest_still_sent(caplog, monkeypatch):
    monkeypatch.setattr(batch, "MAX_SAMPLES", 2)
    clock, sender = Clock(), FakeSender()
    sender.answers = [Outcome(DROP, "POST http://x/metrics: 400 bad sample")]
    rep = reporter(clock, sender)
    with caplog.at_level(logging.ERROR):
        run_until(rep, clock, 1035)
    assert sender.times() == [[1010, 1020], [1030]]
    assert len(rep.queue) == 0
    assert caplog.records[0].getMessage() == "metrics: POST http://x/metrics: 400 bad sample; 2 sample(s) dropped"


def test_a_sampler_that_raises_is_logged_once_and_sampling_goes_on(caplog):
    clock, sender = Clock(), FakeSender()
    answers = itertools.chain([RuntimeError("psutil broke")] * 2, itertools.repeat({"x": 1.0}))

    def sample():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    rep = Reporter(sample, sender, 10, 25, clock=clock, wall=clock)
    with caplog.at_level(logging.ERROR):
        run_until(rep, clock, 1051)
    assert sender.times() == [[1030, 1040, 1050]]
    assert [r.getMessage() for r in caplog.records] == ["metrics: sampling failed: RuntimeError: psutil broke"]


def test_bodies_respect_the_wire_limits():
    queue = SampleQueue(bound=1000)
    for i in range(300):
        queue.add(float(i), {"cpu_util": 1.0})
    count, body = queue.next_body()
    assert count == batch.MAX_SAMPLES and len(json.loads(body)["samples"]) == 120
    big = SampleQueue(bound=1000)
    metrics = {f"metric_with_a_long_name_{i:03d}": 123456.789 for i in range(64)}
    for i in range(100):
        big.add(float(i), metrics)
    count, body = big.next_body()
    assert len(body) <= batch.MAX_BODY and 0 < count < 100
    assert len(json.loads(body)["samples"]) == count
    big.drop_first(count)
    assert len(big) == 100 - count


def test_an_empty_sample_is_not_queued():
    queue = SampleQueue()
    queue.add(1.0, {})
    assert len(queue) == 0 and queue.next_body() == (0, b"")


def test_the_thread_stops_at_once():
    sender = FakeSender()
    rep = Reporter(lambda: {"x": 1.0}, sender, 3600, 3600).start()
    rep.stop(timeout=5)
    assert not rep._thread.is_alive()
