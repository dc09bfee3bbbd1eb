"""The one request limiter: a sliding window of ``limit`` requests per ``period`` seconds."""

from __future__ import annotations

import pytest

from pmdraft.sources._rate import RequestBudget

from .test_pagerduty_history import FakeClock


def test_a_per_second_rate_is_one_request_per_period() -> None:
    """RequestBudget(limit=1, period=1/4) lets 4 requests a second through, each 0.25 s after the last."""
    clock = FakeClock()
    budget = RequestBudget(limit=1, period=1 / 4, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(5):
        budget.acquire()
        starts.append(clock.now)
    assert starts == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert budget.waited == pytest.approx(1.0)


def test_a_per_second_rate_does_not_hold_requests_already_spaced_out() -> None:
    """Requests arriving slower than the rate never wait."""
    clock = FakeClock()
    budget = RequestBudget(limit=1, period=0.5, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        assert budget.acquire() == 0
        clock.now += 0.6
    assert clock.sleeps == []


def test_a_per_minute_budget_allows_a_burst_then_holds_the_next() -> None:
    """With 3 a minute, three requests go at once and the fourth waits a full minute."""
    clock = FakeClock()
    budget = RequestBudget(3, clock=clock, sleep=clock.sleep)
    assert [budget.acquire() for _ in range(4)] == [0, 0, 0, 60]


@pytest.mark.parametrize(("limit", "period"), [(0, 60.0), (1, 0.0)])
def test_an_impossible_budget_is_refused_with_both_values(limit: int, period: float) -> None:
    """A limit under 1 or a period of 0 is refused, naming what was given."""
    with pytest.raises(ValueError, match=rf"limit >= 1 and period > 0, got {limit} and {period}"):
        RequestBudget(limit, period)
