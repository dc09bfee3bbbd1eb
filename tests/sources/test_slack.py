"""The Slack source: slack_sdk's real WebClient over HTTP against the loopback stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmdraft.errors import CollectorError
from pmdraft.model import Window
from pmdraft.sandbox.slack import SlackStandIn, user
from pmdraft.sources.slack import CHAT_MESSAGE, SlackCollector, SlackConfig, make_collector
from pmdraft.sources.slack.client import SlackClient, slack_ts
from pmdraft.sources.slack.collector import message_time
from pmdraft.sources.slack.markup import mentioned_users, plain_text, render

from ..conftest import utc

TOKEN = "xoxb-pmdraft-test-5e1f0c"
DATA = Path(__file__).resolve().parents[1] / "data" / "slack"
WINDOW = Window(utc(2024, 1, 15, 14, 0), utc(2024, 1, 15, 15, 30))
INC = "C0INC4711"
PRIVATE = "C0PRIV0001"


def ts(hh: int, mm: int, ss: int = 0, micros: int = 0) -> str:
    return slack_ts(utc(2024, 1, 15, hh, mm, ss) + timedelta(microseconds=micros))


def msg(at: str, user_id: str | None, text: str, **extra: Any) -> dict[str, Any]:
    return {"ts": at, "text": text, **({"user": user_id} if user_id else {}), **extra}


PARENT = ts(14, 38)
MESSAGES = [
    msg(ts(13, 55), "U0JANE0001", "before the window"),
    msg(
        ts(14, 33, 30, 200),
        "U0JANE0001",
        "<!here> paging <@U0BOB00001>: errors on "
        "<https://grafana.example.com/d/api|the API dashboard> &amp; checkout",
    ),
    msg(ts(14, 34), "U0BOB00001", "<@U0BOB00001> has joined the channel", subtype="channel_join"),
    msg(
        ts(14, 35),
        None,
        "PagerDuty: #4711 acknowledged",
        subtype="bot_message",
        bot_id="B0PD",
        username="PagerDuty",
    ),
    msg(
        PARENT,
        "U0BOB00001",
        "DB pool at 100% in <#C0INC4711|inc-4711-checkout>",
        reactions=[{"name": "pushpin", "count": 1, "users": ["U0JANE0001"]}],
    ),
    msg(ts(14, 39), "U0JANE0001", "looking", thread_ts=PARENT),
    msg(ts(14, 41), "U0BOB00001", "found it: the cache layer", thread_ts=PARENT),
    msg(ts(14, 45), "U0JANE0001", "rolling back v2.3.4"),
    msg(ts(15, 30), "U0JANE0001", "at the window's end"),
]
CHANNELS = [
    {"id": INC, "name": "inc-4711-checkout"},
    {"id": PRIVATE, "name": "ops-private", "is_private": True, "is_member": False},
    {"id": "C0INC4712", "name": "inc-4712-web"},
]
USERS = {
    "U0JANE0001": user("U0JANE0001", "Jane Doe", "jane"),
    "U0BOB00001": user("U0BOB00001", "Bob Li"),
}


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """The incident channel of PagerDuty #4711, seeded with the messages above."""
    with SlackStandIn(
        TOKEN, channels=CHANNELS, messages={INC: MESSAGES}, pins={INC: [ts(14, 45)]}, users=USERS
    ) as server:
        yield server


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def collector(
    slack: SlackStandIn,
    *,
    sleep: Sleeps | None = None,
    numbers: tuple[int, ...] = (),
    **settings: Any,
) -> SlackCollector:
    config = SlackConfig(
        **{"channels": [INC], "base_url": slack.base_url, "page_size": 2, **settings}
    )
    return make_collector(
        config,
        {"SLACK_BOT_TOKEN": TOKEN},
        incident_numbers=numbers,
        sleep=sleep if sleep is not None else Sleeps(),
    )


def test_people_s_messages_become_chat_events_with_rendered_text(slack: SlackStandIn) -> None:
    """Each message a person posted in the window is one chat.message event, markup rendered."""
    source = collector(slack)
    events = list(source.collect(WINDOW))
    assert [(e.at.strftime("%H:%M:%S"), e.actor, e.summary) for e in events] == [
        (
            "14:33:30",
            "Jane Doe",
            "@here paging @Bob Li: errors on the API dashboard "
            "(https://grafana.example.com/d/api) & checkout",
        ),
        ("14:38:00", "Bob Li", "DB pool at 100% in #inc-4711-checkout"),
        ("14:39:00", "Jane Doe", "looking"),
        ("14:41:00", "Bob Li", "found it: the cache layer"),
        ("14:45:00", "Jane Doe", "rolling back v2.3.4"),
    ]
    first = events[0]
    assert first.kind == CHAT_MESSAGE and first.source == "slack"
    assert first.at == utc(2024, 1, 15, 14, 33, 30) + timedelta(microseconds=200)
    assert first.ref == f"{INC}:1705329210.000200"
    assert first.url == f"https://acme.slack.com/archives/{INC}/p1705329210000200"
    assert source.detail == "1 outside the window clipped"
    assert source.summary() == (
        "1 channel (#inc-4711-checkout); 5 messages, 2 pinned or highlighted; "
        "2 bot or system messages left out; 1 outside the window clipped; 1 thread read"
    )


def test_pinned_and_pushpin_messages_are_flagged_for_the_timeline(slack: SlackStandIn) -> None:
    """The pinned message and the :pushpin:-reacted one are flagged; replies carry their thread."""
    events = {e.summary: dict(e.attrs) for e in collector(slack).collect(WINDOW)}
    assert events["rolling back v2.3.4"] == {
        "channel_id": INC,
        "channel_name": "inc-4711-checkout",
        "pinned": True,
        "highlighted": False,
        "thread_ts": None,
        "reply": False,
    }
    assert events["DB pool at 100% in #inc-4711-checkout"]["highlighted"] is True
    assert events["looking"] == {
        "channel_id": INC,
        "channel_name": "inc-4711-checkout",
        "pinned": False,
        "highlighted": False,
        "thread_ts": PARENT,
        "reply": True,
    }


def test_bots_are_kept_only_when_asked_and_joins_never(slack: SlackStandIn) -> None:
    """include_bots adds the PagerDuty bot's message; the join notice stays out either way."""
    events = list(collector(slack, include_bots=True).collect(WINDOW))
    assert [(e.actor, e.summary) for e in events if e.actor == "PagerDuty"] == [
        ("PagerDuty", "PagerDuty: #4711 acknowledged")
    ]
    assert not any("joined" in e.summary for e in events)
    assert len(events) == 6


def test_request_counts_are_pages_not_messages(slack: SlackStandIn) -> None:
    """Six messages at two a page are three history pages; each person is looked up once."""
    source = collector(slack)
    list(source.collect(WINDOW))
    assert [m for m, _ in slack.log] == [
        "auth.test",
        "conversations.info",
        "conversations.history",
        "conversations.history",
        "conversations.replies",
        "conversations.history",
        "pins.list",
        "users.info",
        "users.info",
    ]
    assert source.requests == 9
    first = slack.calls("conversations.history")[0]
    assert first == {
        "channel": INC,
        "limit": "2",
        "oldest": "1705327200.000000",
        "latest": "1705332600.000000",
        "inclusive": "true",
    }
    assert slack.calls("conversations.replies")[0]["ts"] == PARENT
    assert sorted(p["user"] for p in slack.calls("users.info")) == ["U0BOB00001", "U0JANE0001"]


def test_a_429_is_ridden_out_after_its_retry_after(slack: SlackStandIn) -> None:
    """A 429 with Retry-After: 1 is waited out once and counted; the events are all there."""
    slack.throttle("conversations.history", times=1, retry_after="1")
    sleeps = Sleeps()
    source = collector(slack, sleep=sleeps)
    assert len(list(source.collect(WINDOW))) == 5
    assert sleeps == [1.0]
    assert source.requests == 10
    assert [m for m, _ in slack.log].count("conversations.history") == 4


def test_a_retry_after_beyond_the_limit_fails_naming_the_wait(slack: SlackStandIn) -> None:
    """A Retry-After longer than max_retry_wait is not slept through; the error says how long."""
    slack.throttle("conversations.history", times=1, retry_after="120")
    sleeps = Sleeps()
    with pytest.raises(CollectorError) as caught:
        list(collector(slack, sleep=sleeps, max_retry_wait=60).collect(WINDOW))
    assert sleeps == []
    assert caught.value.message == (
        "conversations.history in #inc-4711-checkout (C0INC4711): still rate limited by Slack "
        "(Retry-After 120 s) after 0 retries: run again later"
    )


def test_a_channel_the_app_is_not_in_names_the_channel_and_the_fix(slack: SlackStandIn) -> None:
    """not_in_channel becomes an error naming #channel (id) and the /invite that fixes it."""
    with pytest.raises(CollectorError) as caught:
        list(collector(slack, channels=(PRIVATE,)).collect(WINDOW))
    assert str(caught.value) == (
        "slack: conversations.history: the Slack app is not in #ops-private (C0PRIV0001): "
        "invite it with /invite @pmdraft"
    )


def test_a_refused_token_names_the_variable_never_the_token(slack: SlackStandIn) -> None:
    """invalid_auth says to set SLACK_BOT_TOKEN and does not echo the token."""
    config = SlackConfig(channels=[INC], base_url=slack.base_url)
    source = make_collector(config, {"SLACK_BOT_TOKEN": "xoxb-wrong-secret-123"})
    with pytest.raises(CollectorError) as caught:
        list(source.collect(WINDOW))
    text = str(caught.value)
    assert text.startswith(
        "slack: auth.test: Slack refused the token in SLACK_BOT_TOKEN (invalid_auth)"
    )
    assert "xoxb-wrong-secret-123" not in text and "xoxb-wrong-secret-123" not in repr(
        caught.value.__cause__
    )


def test_a_missing_token_is_named_before_any_request() -> None:
    """Without SLACK_BOT_TOKEN the collector cannot be built, and the message says what to set."""
    with pytest.raises(CollectorError, match="SLACK_BOT_TOKEN is not set"):
        make_collector(SlackConfig(channels=[INC]), {})


def test_a_missing_scope_names_the_scope_to_add(slack: SlackStandIn) -> None:
    """missing_scope on pins.list names pins:read and where to add it."""
    slack.fail("pins.list", "missing_scope", needed="pins:read", provided="channels:history")
    with pytest.raises(CollectorError) as caught:
        list(collector(slack).collect(WINDOW))
    assert caught.value.message == (
        "pins.list in #inc-4711-checkout (C0INC4711): the app's token lacks the scope pins:read: "
        "add it under OAuth & Permissions and reinstall the app"
    )


def test_threads_a_token_may_not_read_are_left_out_and_said(slack: SlackStandIn) -> None:
    """A refused conversations.replies drops the replies only, and the detail says why."""
    slack.fail("conversations.replies", "not_allowed_token_type")
    source = collector(slack)
    summaries = [e.summary for e in source.collect(WINDOW)]
    assert "looking" not in summaries and "rolling back v2.3.4" in summaries
    assert "thread replies not readable (not_allowed_token_type)" in (source.detail or "")


def test_incident_channels_are_found_with_one_paged_listing(slack: SlackStandIn) -> None:
    """Channels found by incident number come from one conversations.list pass, for any number."""
    source = collector(slack, channels=(), numbers=(4711, 4799))
    events = list(source.collect(WINDOW))
    assert len(events) == 5
    listing = slack.calls("conversations.list")
    assert len(listing) == 2  # three channels at two a page
    assert listing[0]["types"] == "public_channel,private_channel"
    assert "conversations.info" not in [m for m, _ in slack.log]
    assert (source.detail or "").endswith("; no channel named like inc-4799-*")


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in DATA.glob("*.json") if not p.stem.startswith("error"))
)
def test_the_stand_in_answers_in_the_documented_shape(slack: SlackStandIn, name: str) -> None:
    """Every key of the documented example is in the stand-in's answer, with the same JSON type."""
    params = {"channel": INC, "user": "U0JANE0001", "ts": PARENT, "limit": "1"}
    status, _, answer = slack.answer(name, params, f"Bearer {TOKEN}")
    assert status == 200 and answer["ok"] is True
    assert_shape(json.loads((DATA / f"{name}.json").read_text(encoding="utf-8")), answer, name)


def test_the_stand_in_errors_and_429_match_the_documented_envelope(slack: SlackStandIn) -> None:
    """Errors are HTTP 200 with ok false; throttling is HTTP 429 with Retry-After."""
    documented = json.loads((DATA / "error.not_in_channel.json").read_text(encoding="utf-8"))
    assert slack.answer("conversations.history", {"channel": PRIVATE}, f"Bearer {TOKEN}") == (
        200,
        {},
        documented,
    )
    slack.throttle("users.info", retry_after="1")
    limited = json.loads((DATA / "error.ratelimited.json").read_text(encoding="utf-8"))
    assert slack.answer("users.info", {"user": "U0JANE0001"}, f"Bearer {TOKEN}") == (
        429,
        {"Retry-After": "1"},
        limited,
    )


def assert_shape(documented: Any, actual: Any, where: str) -> None:
    assert type(actual) is type(documented) or (documented is None), f"{where}: {actual!r}"
    if isinstance(documented, dict):
        for key, value in documented.items():
            assert key in actual, f"{where}.{key} missing"
            assert_shape(value, actual[key], f"{where}.{key}")
    elif isinstance(documented, list) and documented and actual:
        assert_shape(documented[0], actual[0], f"{where}[0]")


# Markup ---------------------------------------------------------------------------------------

NAMES = {"U1": "Jane Doe", "U2": "Bob Li"}.__getitem__


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("<@U1> can you look?", "@Jane Doe can you look?"),
        ("<@U9>", "@U9"),
        ("see <#C123|inc-4711>", "see #inc-4711"),
        ("<!here> <!channel> <!everyone>", "@here @channel @everyone"),
        ("<!subteam^S1|@sre> please", "@sre please"),
        ("<!date^1705329210^{time}|14:33 UTC>", "14:33 UTC"),
        (
            "<https://x.example/a?b=1&amp;c=2|the runbook>",
            "the runbook (https://x.example/a?b=1&c=2)",
        ),
        ("<https://x.example/>", "https://x.example/"),
        ("<mailto:sre@example.com|sre@example.com>", "sre@example.com"),
        ("a &lt;b&gt; &amp;amp; c", "a <b> &amp; c"),
        ("&lt;@U1&gt; typed literally", "<@U1> typed literally"),
        ("unclosed <https://x", "unclosed <https://x"),
    ],
)
def test_markup_is_rendered_as_plain_text(text: str, shown: str) -> None:
    """Mentions, channels, broadcasts, links and entities read as a person would read them."""
    assert plain_text(text, NAMES) == shown


def test_links_are_kept_in_order_and_mentions_listed_once() -> None:
    """render() returns each link's URL; mentioned_users() lists each user id once."""
    rendered = render("<https://a.example|A> then <https://b.example> and <@U1> <@U1> <@U2>", NAMES)
    assert rendered.links == ["https://a.example", "https://b.example"]
    assert mentioned_users("<@U1> <@U1> <@U2|bob>") == ["U1", "U2"]


_plain = st.text(
    st.characters(blacklist_characters="<>&|", blacklist_categories=("Cs",)), max_size=12
)
_label = st.text(
    st.characters(blacklist_characters="<>|&", blacklist_categories=("Cs",)), min_size=1, max_size=8
)
_token = st.one_of(
    st.builds(lambda u: f"<@U{u}>", st.integers(0, 99)),
    st.builds(lambda c, n: f"<#C{c}|{n}>", st.integers(0, 99), _label),
    st.sampled_from(["<!here>", "<!channel>", "<!everyone>"]),
    st.builds(lambda n: f"<!subteam^S1|{n}>", _label),
    st.builds(lambda p, n: f"<https://example.com/{p}|{n}>", st.integers(0, 9), _label),
    st.builds(lambda p: f"<https://example.com/{p}>", st.integers(0, 9)),
)


@given(st.lists(st.one_of(_plain, _token), max_size=8))
def test_rendered_markup_leaves_no_markup_behind(parts: list[str]) -> None:
    """Whatever mix of text and tokens, no <@, <#, <! or | from markup reaches the output."""
    shown = plain_text("".join(parts), lambda uid: f"Person {uid}")
    for left in ("<@", "<#", "<!", "|"):
        assert left not in shown


@given(st.text())
def test_rendering_never_raises(text: str) -> None:
    """Any string at all renders to a string."""
    assert isinstance(render(text, NAMES).text, str)


def test_slack_times_round_trip_to_the_microsecond() -> None:
    """A ts string and an aware datetime convert both ways without losing microseconds."""
    at = utc(2024, 1, 15, 14, 33, 30) + timedelta(microseconds=200)
    assert slack_ts(at) == "1705329210.000200"
    assert message_time("1705329210.000200") == at
    assert message_time("1705329210") == utc(2024, 1, 15, 14, 33, 30)
    assert isinstance(message_time("1705329210.5"), datetime)


def test_the_client_counts_requests_it_makes(slack: SlackStandIn) -> None:
    """auth.test is read once per run however often it is asked for."""
    client = SlackClient(TOKEN, base_url=slack.base_url)
    client.auth_test()
    client.auth_test()
    assert (
        client.permalink(INC, "1705329210.000200")
        == f"https://acme.slack.com/archives/{INC}/p1705329210000200"
    )
    assert client.requests == 1 and [m for m, _ in slack.log] == ["auth.test"]
