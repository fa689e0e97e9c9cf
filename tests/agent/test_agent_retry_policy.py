"""stoker_common.retry.RetryPolicy: the one retry schedule of the signal sends and the outbox."""
import itertools

import pytest

from stoker_common.retry import RetryPolicy


@pytest.mark.parametrize("policy, tries, retry_after, expected", [
    (RetryPolicy(0.5), 1, None, 0.5),
    (RetryPolicy(0.5), 3, None, 2.0),
    (RetryPolicy(0.5), 2, 7.0, 7.0),  # Retry-After asks for longer: honoured
    (RetryPolicy(0.5), 2, 0.2, 1.0),  # asks for less: the schedule's wait stands
    (RetryPolicy(1, cap=300), 20, None, 300),
    (RetryPolicy(1, cap=300), 20, 450.0, 450.0),  # the cap bounds the schedule, not the server's ask
    (RetryPolicy(10, jitter=0.2, rand=lambda: 0.0), 1, None, 8.0),
    (RetryPolicy(10, jitter=0.2, rand=lambda: 1.0), 1, None, 12.0),
])
def test_delay(policy, tries, retry_after, expected):
    assert policy.delay(tries, retry_after) == pytest.approx(expected)


def test_jitter_stays_within_its_band():
    values = itertools.cycle([0.0, 0.25, 0.5, 0.75, 0.999])
    policy = RetryPolicy(4, cap=300, jitter=0.2, rand=lambda: next(values))
    delays = [policy.delay(2) for _ in range(5)]
    assert all(6.4 <= d < 9.6 for d in delays) and len(set(delays)) == 5
