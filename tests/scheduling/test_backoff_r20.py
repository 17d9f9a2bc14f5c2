"""R20: capped exponential backoff with ±10 % jitter, then failed after 5 attempts."""

from datetime import UTC, datetime, timedelta

import pytest

from scheduling.backoff import MAX_ATTEMPTS, retry_at

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("attempts", "minutes"), [(1, 1), (2, 2), (3, 4), (4, 8)])
def test_r20_waits_double_from_one_minute(attempts: int, minutes: int) -> None:
    assert retry_at(attempts, NOW, 0.0) == NOW + timedelta(minutes=minutes)


@pytest.mark.parametrize("jitter", [-1.0, -0.5, 0.5, 1.0])
def test_r20_jitter_stays_within_ten_percent(jitter: float) -> None:
    wait = retry_at(3, NOW, jitter) - NOW  # type: ignore[operator]
    assert timedelta(minutes=4 * 0.9) <= wait <= timedelta(minutes=4 * 1.1)


def test_r20_fails_after_five_attempts() -> None:
    assert MAX_ATTEMPTS == 5
    assert retry_at(4, NOW, 0.0) is not None
    assert retry_at(5, NOW, 0.0) is None
    with pytest.raises(ValueError):
        retry_at(0, NOW, 0.0)
