"""The data model: aware UTC times only, scalar attrs, half-open windows."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pmdraft.model import Attrs, Event, Window, iso_z, parse_time

from .conftest import utc


def test_event_times_are_normalised_to_utc() -> None:
    """An event stamped in another zone is stored as the same instant in UTC."""
    berlin = timezone(timedelta(hours=1))
    e = Event(
        at=datetime(2024, 1, 15, 15, 32, tzinfo=berlin),
        source="deploys",
        kind="deploy.started",
        ref="d1",
        summary="x",
    )
    assert e.at == utc(2024, 1, 15, 14, 32)
    assert e.at.utcoffset() == timedelta(0)
    assert e.to_record()["at"] == "2024-01-15T14:32:00Z"


def test_naive_event_time_is_rejected_with_an_example() -> None:
    """A naive time is refused and the message shows how to write one."""
    with pytest.raises(ValueError, match=r"has no time zone .* for example 2024-01-15T14:32:00Z"):
        Event(
            at=datetime(2024, 1, 15, 14, 32),
            source="deploys",
            kind="deploy.started",
            ref="d1",
            summary="x",
        )


def test_attrs_must_be_scalars_and_are_read_only() -> None:
    """attrs refuse lists and cannot be changed after the event is made."""
    with pytest.raises(TypeError, match=r"attrs\['hosts'\] must be a scalar"):
        Event(
            at=utc(2024, 1, 1),
            source="s",
            kind="alarm.ok",
            ref="r",
            summary="x",
            attrs={"hosts": ["a"]},
        )
    e = Event(at=utc(2024, 1, 1), source="s", kind="alarm.ok", ref="r", summary="x", attrs={"n": 1})
    with pytest.raises(TypeError):
        e.attrs["n"] = 2  # type: ignore[index]


def test_unknown_kind_is_rejected() -> None:
    """Only the documented kinds exist."""
    with pytest.raises(ValueError, match=r"unknown event kind 'alarm\.maybe'"):
        Event(at=utc(2024, 1, 1), source="s", kind="alarm.maybe", ref="r", summary="x")


def test_window_is_half_open_and_ordered() -> None:
    """since is inside the window, until is not, and a reversed window is refused."""
    w = Window(utc(2024, 1, 15, 14), utc(2024, 1, 15, 15))
    assert utc(2024, 1, 15, 14) in w
    assert utc(2024, 1, 15, 15) not in w
    with pytest.raises(
        ValueError,
        match=r"until \(2024-01-15T14:00:00Z\) must be after since \(2024-01-15T15:00:00Z\)",
    ):
        Window(utc(2024, 1, 15, 15), utc(2024, 1, 15, 14))


def test_iso_z_keeps_sub_second_precision() -> None:
    """Milliseconds survive formatting; whole seconds stay short."""
    assert iso_z(utc(2024, 1, 15, 14, 32, 0)) == "2024-01-15T14:32:00Z"
    assert iso_z(datetime(2024, 1, 15, 14, 32, 0, 442000, tzinfo=UTC)) == "2024-01-15T14:32:00.442Z"


INCIDENT = {"incident_id": "Q1", "incident_number": 7, "incident_title": "Errors", "status": None}


def pd_event(at: datetime, attrs: object) -> Event:
    return Event(
        at=at,
        source="pagerduty",
        kind="incident.notified",
        ref="Q1",
        summary="PagerDuty #7: notify",
        attrs=attrs,  # type: ignore[arg-type]  # a dict or an Attrs, as collectors give
    )


def test_events_pickled_come_back_equal_their_shared_facts_still_shared() -> None:
    """A forked collector's events come back pickled: 200 events of one incident restored
    equal, with the same records, their shared facts one object again (pickled once), and
    typed fields (numbers, flags, None) unchanged."""
    facts = Attrs(INCIDENT)
    events = [
        pd_event(
            utc(2024, 1, 15, 14, 32) + timedelta(seconds=i),
            Attrs({"log_entry_id": f"R{i}", "retry": i, "urgent": i % 2 == 0}, facts),
        )
        for i in range(200)
    ]
    raw = pickle.dumps(events, protocol=pickle.HIGHEST_PROTOCOL)
    back = pickle.loads(raw)
    assert back == events
    assert [e.to_record() for e in back] == [e.to_record() for e in events]
    assert len({id(e.attrs._base) for e in back}) == 1
    assert raw.count(b"incident_title") == 1
    assert back[3].attrs["retry"] == 3 and back[3].attrs["urgent"] is False
    assert back[0].attrs["status"] is None and type(back[0]) is Event


def test_facts_kept_once_read_and_write_as_if_copied_into_each_event() -> None:
    """An incident's facts shared by its events (one ``Attrs`` as ``base``) give every event
    the same attrs, the same JSON record and the same equality as copying them in did."""
    facts = Attrs(INCIDENT)
    own = {"log_entry_id": "R1", "channel": "sms", "retry": 2, "urgent": True, "score": 0.5}
    shared = pd_event(utc(2024, 1, 15, 14, 32), Attrs(own, facts))
    copied = pd_event(utc(2024, 1, 15, 14, 32), {**INCIDENT, **own})
    assert shared.to_record() == copied.to_record()
    assert list(shared.to_record()["attrs"].items()) == list({**INCIDENT, **own}.items())
    assert shared == copied and hash(shared) == hash(copied)
    assert shared.attrs == {**INCIDENT, **own} and dict(shared.attrs) == {**INCIDENT, **own}
    assert shared.attrs["incident_number"] == 7 and shared.attrs.get("channel") == "sms"
    assert shared.attrs.get("status", "x") is None and shared.attrs.get("nope", "x") == "x"
    assert "incident_title" in shared.attrs and "nope" not in shared.attrs
    assert len(shared.attrs) == 9 and list(shared.attrs) == [*INCIDENT, *own]
    assert pickle.loads(pickle.dumps(shared)) == copied
    with pytest.raises(KeyError):
        shared.attrs["nope"]


def test_a_fact_given_again_overrides_the_shared_one_in_its_place() -> None:
    """An event that states one of the shared facts itself reads its own value, in the key
    order ``{**facts, **own}`` would give; facts on facts read in the same order."""
    e = pd_event(utc(2024, 1, 15, 14, 32), Attrs({"status": "resolved", "x": 1}, Attrs(INCIDENT)))
    assert e.to_record()["attrs"] == {**INCIDENT, "status": "resolved", "x": 1}
    assert list(e.attrs) == [*INCIDENT, "x"]
    nested = Attrs({"y": 3}, Attrs({"x": 1}, Attrs({"b": 2})))
    assert list(nested.items()) == [("b", 2), ("x", 1), ("y", 3)]


def test_attrs_are_a_snapshot_and_checked_like_a_dict() -> None:
    """Changing the dict an event was made from changes nothing; a non-scalar own value is
    refused naming its key, and so is a non-string key."""
    given = {"a": 1}
    e = pd_event(utc(2024, 1, 15, 14, 32), given)
    given["a"] = 2
    assert e.attrs == {"a": 1}
    with pytest.raises(TypeError, match=r"attrs\['note'\] must be a scalar .* got list"):
        Attrs({"note": ["x"]}, Attrs(INCIDENT))
    with pytest.raises(TypeError, match="key 3 must be a string"):
        pd_event(utc(2024, 1, 15, 14, 32), {3: "x"})
    with pytest.raises(TypeError):
        e.attrs["a"] = 3  # type: ignore[index]


def test_attrs_replaced_reads_as_the_dict_update() -> None:
    """``replaced`` reads as ``{**attrs, **changes}`` (order included) and keeps a shared base
    shared; a change to one of the base's facts gives the same flat reading; a non-scalar change
    is refused naming its key."""
    base = Attrs(INCIDENT)
    own = Attrs({"y": "triggered", "x": 1}, base)
    moved = own.replaced({"x": 2, "rule": "metric_lookback"})
    assert list(moved.items()) == list({**own, "x": 2, "rule": "metric_lookback"}.items())
    assert moved.parts()[0] is base and own["x"] == 1
    first = next(iter(INCIDENT))
    flat = own.replaced({first: "changed"})
    assert list(flat.items()) == list({**own, first: "changed"}.items())
    assert flat.parts()[0] is None
    with pytest.raises(TypeError, match=r"attrs\['note'\] must be a scalar .* got list"):
        own.replaced({"note": ["x"]})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-15T14:32:00Z", utc(2024, 1, 15, 14, 32)),
        ("2024-01-15T14:32:00.250Z", utc(2024, 1, 15, 14, 32) + timedelta(milliseconds=250)),
        ("2024-01-15T16:32:00+0200", utc(2024, 1, 15, 14, 32)),
        (" 2024-01-15T14:32:00+00:00\n", utc(2024, 1, 15, 14, 32)),
    ],
)
def test_parse_time_gives_the_utc_instant(text: str, expected: datetime) -> None:
    """Times with ``Z``, an offset or surrounding blanks parse to the same aware UTC instant."""
    value = parse_time(text)
    assert value == expected and value.utcoffset() == timedelta(0)


def test_parse_time_refuses_a_naive_time() -> None:
    """A time without an offset is refused with an example of one."""
    with pytest.raises(ValueError, match="for example 2024-01-15T14:32:00Z"):
        parse_time("2024-01-15T14:32:00")
