"""The retry policy's decisions, case by case (the client under real faults is in test_client.py)."""

import pytest

from bot.github.client import MIN_RATE_LIMIT_WAIT, RetryPolicy

POLICY = RetryPolicy(attempts=5, base_delay=1.0, max_delay=60.0)
NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [
        (500, {}, b"", 0.75),  # backoff: attempt 1, jitter 0.5 -> 0.75 of 1 s
        (502, {}, b"", 0.75),
        (503, {"retry-after": "5"}, b"", 0.75),
        (429, {"retry-after": "7"}, b"", 7.0),
        (403, {"retry-after": "30"}, b'{"message":"secondary rate limit"}', 30.0),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 120)}, b"", 120.0),
        (403, {}, b'{"message":"You have exceeded a secondary rate limit"}', MIN_RATE_LIMIT_WAIT),
        (429, {}, b"", MIN_RATE_LIMIT_WAIT),
        (403, {"x-ratelimit-remaining": "10"}, b'{"message":"Resource not accessible"}', None),
        (404, {}, b"", None),
        (422, {}, b"", None),
        (200, {}, b"", None),
        (304, {}, b"", None),
    ],
)
def test_delay_for(status, headers, body, expected):
    assert POLICY.delay_for(status, headers, body, NOW, attempt=1, jitter=0.5) == expected


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    delays = [POLICY.backoff(attempt, jitter=1.0) for attempt in range(1, 9)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert POLICY.backoff(3, jitter=0.0) == 2.0  # jitter spans half to all of the ceiling


def test_a_reset_in_the_past_still_waits_a_little():
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) - 100)}
    assert POLICY.delay_for(403, headers, b"", NOW, attempt=1, jitter=0.5) == 1.0
