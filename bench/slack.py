"""Requests of the Slack source for a busy incident channel, beside their lower bound.

Run by ``bench/run.py``; prints one JSON object. The channel is served by the Slack stand-in
(``pmdraft.sandbox.slack``) in this process and read by the real collector through slack_sdk;
only requests are counted (the stand-in does all the work of a page in memory, so the time is
the client's and is shown for information, not compared with anything).

    python bench/slack.py [--quick]
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pmdraft.model import Window
from pmdraft.sandbox.slack import SlackStandIn, user
from pmdraft.sources.slack import SlackConfig, make_collector

TOKEN = "xoxb-bench-slack-0000"
CHANNEL = "C0BENCH0001"
START = datetime(2024, 3, 12, 9, tzinfo=UTC)


@dataclass(frozen=True)
class Channel:
    """The size of the channel read."""

    messages: int = 2_000
    """Top-level messages (what ``conversations.history`` lists)."""
    threads: int = 50
    """How many of them start a thread."""
    replies: int = 8
    """Replies in each thread."""
    people: int = 30
    """Distinct authors."""
    page_size: int = 200
    """``[slack] page_size``: records per page."""


BUSY = Channel()
QUICK = Channel(messages=400, threads=10, replies=8, people=12)


def seed(slack: SlackStandIn, size: Channel) -> Window:
    """Fill ``CHANNEL`` with ``size``'s messages, a message every 3 s; return a window over all."""
    people = [f"U0P{n:07d}" for n in range(size.people)]
    for n, person in enumerate(people):
        slack.users[person] = user(person, f"Person {n}")
    slack.channels[CHANNEL] = {"id": CHANNEL, "name": "inc-4711-busy", "is_private": False}
    slack.channels[CHANNEL]["is_member"] = True
    messages: list[dict[str, Any]] = []
    every = max(1, size.messages // max(1, size.threads))
    for n in range(size.messages):
        ts = f"{int((START + timedelta(seconds=3 * n)).timestamp())}.000000"
        messages.append(
            {"type": "message", "ts": ts, "user": people[n % size.people], "text": f"m{n}"}
        )
        if n % every == 0 and n // every < size.threads:
            for k in range(size.replies):
                messages.append(
                    {
                        "type": "message",
                        "ts": f"{ts[:-6]}{k + 1:06d}",
                        "thread_ts": ts,
                        "user": people[(n + k + 1) % size.people],
                        "text": f"reply {k} to m{n}",
                    }
                )
    slack.messages[CHANNEL] = messages
    slack.pins[CHANNEL] = [messages[0]["ts"]]
    return Window(START - timedelta(minutes=1), START + timedelta(seconds=3 * size.messages + 60))


def lower_bound(size: Channel) -> dict[str, int]:
    """The fewest requests that can read the channel: pages, one pins.list, each person once."""
    return {
        "auth.test": 1,
        "conversations.history": math.ceil(size.messages / size.page_size),
        "conversations.replies": size.threads * max(1, math.ceil(size.replies / size.page_size)),
        "pins.list": 1,
        "users.info": size.people,
    }


def measure(size: Channel) -> dict[str, Any]:
    """Read the channel once with the real collector; the requests it made, by method."""
    with SlackStandIn(TOKEN) as slack:
        window = seed(slack, size)
        config = SlackConfig(channels=[CHANNEL], base_url=slack.base_url, page_size=size.page_size)
        collector = make_collector(config, {"SLACK_BOT_TOKEN": TOKEN})
        started = time.perf_counter()
        events = list(collector.collect(window))
        took = time.perf_counter() - started
        by_method = Counter(method for method, _ in slack.log)
    return {
        "size": asdict(size),
        "events": len(events),
        "requests": collector.requests,
        "by_method": dict(sorted(by_method.items())),
        "lower_bound": lower_bound(size),
        "detail": collector.detail,
        "wall_s": took,
    }


def main() -> None:
    """Print the busy channel's measurement (the smaller one with ``--quick``) as JSON."""
    print(json.dumps(measure(QUICK if "--quick" in sys.argv else BUSY)))


if __name__ == "__main__":
    main()
