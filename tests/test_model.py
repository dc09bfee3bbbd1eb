"""The data model: aware UTC times only, scalar attrs, half-open windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pmdraft.model import Event, Window, iso_z

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
