"""The merged frame: pinned dtypes, exact duplicates dropped, one total order."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from pmdraft.model import Attrs, Event
from pmdraft.timeline import build_frame, frame_events

from ..conftest import utc

T0 = utc(2024, 1, 15, 14)


def ev(
    minute: int, source: str = "deploys", kind: str = "deploy.started", ref: str = "r", **attrs
) -> Event:
    return Event(
        at=T0 + timedelta(minutes=minute),
        source=source,
        kind=kind,
        ref=ref,
        summary=f"{ref}@{minute}",
        attrs=attrs,
    )


def test_frame_dtypes_are_pinned() -> None:
    """The time column is microsecond UTC whatever the input."""
    frame = build_frame([ev(1), ev(0)])
    assert str(frame["at"].dtype) == "datetime64[us, UTC]"
    assert list(frame.columns) == [
        "at",
        "source",
        "kind",
        "ref",
        "summary",
        "service",
        "actor",
        "url",
        "attrs",
    ]


def test_exact_duplicates_are_dropped_but_near_duplicates_kept() -> None:
    """The same event twice is one row; the same instant with different attrs is two."""
    frame = build_frame([ev(1, n=1), ev(1, n=1), ev(1, n=2)])
    assert len(frame) == 2
    assert sorted(a["n"] for a in frame["attrs"]) == [1, 2]


def test_sort_key_is_time_then_source_kind_ref() -> None:
    """Ties in time are broken by source, kind, then ref."""
    events = [
        ev(5, "pagerduty", "incident.triggered", "b"),
        ev(5, "cloudwatch", "alarm.alarm", "z"),
        ev(5, "pagerduty", "incident.notified", "a"),
        ev(5, "pagerduty", "incident.notified", "0"),
        ev(1, "pagerduty", "incident.resolved", "q"),
    ]
    order = [(e.source, e.kind, e.ref) for e in frame_events(build_frame(events))]
    assert order == [
        ("pagerduty", "incident.resolved", "q"),
        ("cloudwatch", "alarm.alarm", "z"),
        ("pagerduty", "incident.notified", "0"),
        ("pagerduty", "incident.notified", "a"),
        ("pagerduty", "incident.triggered", "b"),
    ]


EVENTS = st.lists(
    st.builds(
        ev,
        minute=st.integers(0, 30),
        source=st.sampled_from(["cloudwatch", "pagerduty", "deploys"]),
        kind=st.sampled_from(["alarm.alarm", "incident.triggered", "deploy.started"]),
        ref=st.sampled_from(["a", "b", "c"]),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(EVENTS, st.randoms())
def test_any_permutation_gives_the_same_frame_and_loses_nothing(events: list[Event], rnd) -> None:
    """Shuffled input gives the identical frame, with every distinct event exactly once."""
    shuffled = list(events)
    rnd.shuffle(shuffled)
    a, b = frame_events(build_frame(events)), frame_events(build_frame(shuffled))
    assert a == b
    assert set(a) == set(events) and len(a) == len(set(events))


def test_shared_facts_merge_dedupe_and_come_back_as_given() -> None:
    """Events whose incident facts are shared (one ``Attrs`` base) merge like events with the
    facts copied in: a copy of either kind is dropped as a duplicate, and the frame's events
    give back the same records, facts included."""
    facts = Attrs({"incident_id": "Q1", "incident_number": 7})

    def notify(minute: int, entry: str, shared: bool) -> Event:
        own = {"log_entry_id": entry}
        return Event(
            at=T0 + timedelta(minutes=minute),
            source="pagerduty",
            kind="incident.notified",
            ref="Q1",
            summary=f"notify {entry}",
            attrs=Attrs(own, facts) if shared else {**facts, **own},
        )

    given = [notify(2, "R2", True), notify(1, "R1", True), notify(2, "R2", False)]
    frame = build_frame(given)
    assert [r["attrs"] for r in map(Event.to_record, frame_events(frame))] == [
        {"incident_id": "Q1", "incident_number": 7, "log_entry_id": "R1"},
        {"incident_id": "Q1", "incident_number": 7, "log_entry_id": "R2"},
    ]
    assert frame_events(frame) == [given[1], given[0]]


def test_frame_events_made_from_the_input_are_those_events_in_frame_order() -> None:
    """framed() gives each row's input position: frame_events then hands back the input events
    themselves (sorted, the duplicate gone), and makes anew only a row whose attrs changed."""
    from pmdraft.timeline.frame import framed

    given = [ev(2, ref="b"), ev(0, ref="a"), ev(2, ref="b"), ev(1, ref="c")]
    frame, positions = framed(given)
    back = frame_events(frame, (given, positions))
    assert [e.ref for e in back] == ["a", "c", "b"]
    assert all(any(e is g for g in given) for e in back)
    assert back == frame_events(frame)
    changed = frame.copy(deep=False)
    changed["attrs"] = [Attrs({"x": 1}), *frame["attrs"].tolist()[1:]]
    remade = frame_events(changed, (given, positions))
    assert remade[0] is not given[1] and remade[0].attrs == {"x": 1} and remade[0].ref == "a"
    assert remade[1] is given[3]
