"""Reply deadlines and retry budgets, as pure arithmetic (no port)."""

from __future__ import annotations

import math

from pixelnet.host.linkpolicy import EVIDENCE, MISS, LinkHealth, RetryPolicy


def test_a_damaged_frame_sooner_than_any_round_trip_is_not_the_reply_to_a_fresh_try():
    policy = RetryPolicy()
    assert policy.could_be_answered(0.0)  # before any round trip, any try may be answered
    for rtt in (0.012, 0.004, 0.009):
        policy.observe_rtt(rtt)
    assert policy.min_rtt == 0.004
    assert not policy.could_be_answered(0.001)
    assert policy.could_be_answered(0.002)


def test_deadlines_follow_the_round_trips_and_back_off_after_silence():
    policy = RetryPolicy()
    assert policy.timeout(0) == 0.5
    for _ in range(20):
        policy.observe_rtt(0.010)
    assert math.isclose(policy.timeout(0), 0.05)  # the floor: steady round trips of 10 ms
    assert math.isclose(policy.timeout(3), 0.4)
    assert policy.timeout(20) == 4.0


def test_the_retry_budget_makes_a_request_fail_rarely_on_the_observed_loss():
    policy = RetryPolicy()
    lossy = LinkHealth(sent=1000, answered=100)  # nine tries in ten lost
    tries = policy.noisy_tries_allowed(lossy)
    assert lossy.loss**tries <= MISS < lossy.loss ** (tries - 1)
    hopeless = LinkHealth(sent=1000, answered=10)
    assert policy.noisy_tries_allowed(hopeless) == EVIDENCE
