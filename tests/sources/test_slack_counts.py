"""The Slack source's requests on a busy channel are pages, never messages: pinned counts.

The same shape as ``bench/slack.py`` (which `make bench` reports beside the lower bound), at a
size a test can afford: a change that calls ``users.info`` per message, reads every thread, or
lists pins per message multiplies these counts and fails here.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from pmdraft.model import Window
from pmdraft.sandbox.slack import SlackStandIn, user
from pmdraft.sources.slack import SlackConfig, make_collector

from ..conftest import utc

TOKEN = "xoxb-pmdraft-counts-7a2b"
CHANNEL = "C0COUNT0001"
START = utc(2024, 3, 12, 9)
MESSAGES = 450
PEOPLE = 7
PAGE = 100
THREADS = {0: 150, 90: 3, 180: 3, 270: 3, 360: 3, 449: 3}
"""Top-level message number -> replies: one thread needs two reply pages, five need one."""


def at(n: int, micros: int = 0) -> str:
    return f"{int((START + timedelta(seconds=5 * n)).timestamp())}.{micros:06d}"


def messages() -> list[dict[str, Any]]:
    people = [f"U0C{n:07d}" for n in range(PEOPLE)]
    out: list[dict[str, Any]] = []
    for n in range(MESSAGES):
        out.append({"type": "message", "ts": at(n), "user": people[n % PEOPLE], "text": f"m{n}"})
        for k in range(THREADS.get(n, 0)):
            reply = {"ts": at(n, k + 1), "thread_ts": at(n), "user": people[k % PEOPLE]}
            out.append({"type": "message", **reply, "text": f"r{k}"})
    return out


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """A busy incident channel: 450 messages, 165 thread replies, 7 people, 1 pin."""
    users = {f"U0C{n:07d}": user(f"U0C{n:07d}", f"Person {n}") for n in range(PEOPLE)}
    with SlackStandIn(
        TOKEN,
        channels=[{"id": CHANNEL, "name": "inc-4711-busy"}],
        messages={CHANNEL: messages()},
        pins={CHANNEL: [at(90)]},
        users=users,
    ) as server:
        yield server


def test_a_busy_channel_costs_pages_and_one_lookup_per_person(slack: SlackStandIn) -> None:
    """450 messages at 100 a page: 5 history pages, 7 reply pages, 7 users, 22 requests in all."""
    config = SlackConfig(channels=[CHANNEL], base_url=slack.base_url, page_size=PAGE)
    source = make_collector(config, {"SLACK_BOT_TOKEN": TOKEN})
    window = Window(START - timedelta(minutes=1), START + timedelta(seconds=5 * MESSAGES + 60))
    events = list(source.collect(window))
    assert len(events) == MESSAGES + sum(THREADS.values()) == 615
    assert [e.summary for e in events if e.attrs["pinned"]] == ["m90"]
    by_method = Counter(method for method, _ in slack.log)
    assert by_method == {
        "auth.test": 1,
        "conversations.info": 1,
        "conversations.history": 5,
        "conversations.replies": 7,
        "pins.list": 1,
        "users.info": 7,
    }
    lower_bound = (
        math.ceil(MESSAGES / PAGE)
        + sum(math.ceil(r / PAGE) for r in THREADS.values())
        + 1  # auth.test
        + 1  # pins.list, one channel
        + PEOPLE
    )
    assert (source.requests, lower_bound) == (22, 21)  # + conversations.info for the name
