"""Milestone rules: each from its evidence, null when there is none, overridable by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pmdraft.model import Event, iso_z
from pmdraft.timeline import analyse, build_frame
from pmdraft.words import milestone_rule, note

from ..conftest import utc

T0 = utc(2024, 1, 15, 14)


def t(minute: float):
    return T0 + timedelta(minutes=minute)


def alarm(minute: float, name: str, old: str, new: str, breach: float | None = None) -> Event:
    attrs = {"alarm_name": name, "old_state": old, "new_state": new}
    if breach is not None:
        attrs |= {
            "breach_start": iso_z(t(breach)),
            "breach_start_rule": "earliest evaluated datapoint breaching the threshold",
        }
    kind = {
        "ALARM": "alarm.alarm",
        "OK": "alarm.ok",
        "INSUFFICIENT_DATA": "alarm.insufficient_data",
    }[new]
    return Event(
        at=t(minute),
        source="cloudwatch",
        kind=kind,
        ref=f"arn:{name}",
        summary=f"{name} {old} -> {new}",
        attrs=attrs,
    )


def incident(minute: float, kind: str, ref: str = "P1", service: str = "api") -> Event:
    return Event(
        at=t(minute),
        source="pagerduty",
        kind=kind,
        ref=ref,
        summary=kind,
        service=service,
        attrs={"incident_number": 7},
    )


def deploy(minute: float, ref: str, service: str, kind: str = "deploy.succeeded") -> Event:
    return Event(
        at=t(minute),
        source="deploys",
        kind=kind,
        ref=ref,
        summary=ref,
        service=service,
        attrs={"version": ref},
    )


def at(analysis, name: str):
    m = analysis.milestones[name]
    return None if m is None else m.at


def rule(analysis, name: str) -> str:
    """The rule of milestone ``name`` as the draft words it."""
    return milestone_rule(name, analysis.milestones[name])


def notes(analysis, name: str) -> list[str]:
    """The notes on milestone ``name`` as the draft words them."""
    return [note(n) for n in analysis.notes[name]]


def test_flapping_alarm_mitigates_at_its_final_recovery() -> None:
    """A recovery followed by ALARM again is listed but not used; the final OK is."""
    a = analyse(
        build_frame(
            [
                alarm(10, "Err", "OK", "ALARM", breach=9),
                alarm(15, "Err", "ALARM", "OK"),
                alarm(16, "Err", "OK", "ALARM", breach=15.5),
                alarm(30, "Err", "ALARM", "OK"),
            ]
        )
    )
    assert at(a, "impact_started") == t(9)
    assert at(a, "mitigated") == t(30)
    assert notes(a, "mitigated") == [
        "Err recovered at 2024-01-15T14:15:00Z but went back to ALARM (not used)"
    ]
    assert a.durations["time_to_mitigate"] == 21 * 60


def test_mitigation_waits_for_every_alarm() -> None:
    """With two alarms, mitigation is the later of their final recoveries."""
    a = analyse(
        build_frame(
            [
                alarm(10, "Err", "OK", "ALARM", 9),
                alarm(12, "Lat", "OK", "ALARM", 11),
                alarm(20, "Lat", "ALARM", "OK"),
                alarm(25, "Err", "ALARM", "OK"),
            ]
        )
    )
    assert at(a, "mitigated") == t(25)
    assert a.milestones["mitigated"].ref == "arn:Err"


def test_an_alarm_still_firing_leaves_mitigation_unknown_not_zero() -> None:
    """An alarm in ALARM at the window's end makes mitigated null and its durations null."""
    a = analyse(
        build_frame(
            [
                alarm(10, "Err", "OK", "ALARM", 9),
                alarm(12, "Lat", "OK", "ALARM"),
                alarm(20, "Lat", "ALARM", "OK"),
            ]
        )
    )
    assert a.milestones["mitigated"] is None
    assert a.durations["time_to_mitigate"] is None
    assert a.durations["time_to_resolve"] is None
    assert notes(a, "mitigated") == ["Err ends the window in ALARM, so mitigation is unknown"]


def test_without_alarms_impact_starts_at_the_trigger_and_ack_is_measured_from_the_page() -> None:
    """No alarm: impact_started and detected are the trigger; paged is the first notification."""
    a = analyse(
        build_frame(
            [
                incident(5, "incident.triggered"),
                incident(6, "incident.notified"),
                incident(6.5, "incident.notified"),
                incident(9, "incident.acknowledged"),
                incident(40, "incident.resolved"),
            ]
        )
    )
    assert (
        at(a, "impact_started"),
        at(a, "detected"),
        at(a, "paged"),
        at(a, "acknowledged"),
        at(a, "resolved"),
    ) == (t(5), t(5), t(6), t(9), t(40))
    assert rule(a, "impact_started") == "first PagerDuty trigger (no alarm went to ALARM)"
    assert a.durations == {
        "time_to_detect": 0,
        "time_to_acknowledge": 180,
        "time_to_mitigate": None,
        "time_to_resolve": 35 * 60,
        "change_to_detect": None,
    }


def test_an_open_incident_leaves_resolution_unknown() -> None:
    """If any in-scope incident has no resolution, resolved is null and says which."""
    a = analyse(
        build_frame(
            [
                incident(5, "incident.triggered"),
                incident(7, "incident.triggered", ref="P2"),
                incident(30, "incident.resolved"),
            ]
        )
    )
    assert a.milestones["resolved"] is None
    assert notes(a, "resolved") == [
        "PagerDuty incident #7 has no resolution in the data, so resolution is unknown"
    ]


def test_without_incidents_resolved_falls_back_to_mitigated() -> None:
    """With alarms but no PagerDuty incident, resolved is mitigated and the rule says so."""
    a = analyse(build_frame([alarm(10, "Err", "OK", "ALARM", 8), alarm(20, "Err", "ALARM", "OK")]))
    assert at(a, "resolved") == t(20)
    assert rule(a, "resolved") == "no PagerDuty incident: taken from mitigated"
    assert a.durations["time_to_resolve"] == 12 * 60


def test_suspect_change_prefers_the_affected_service() -> None:
    """A later deploy of another service loses to the affected service's deploy."""
    a = analyse(
        build_frame(
            [
                deploy(-30, "api-v1", "api"),
                deploy(-2, "web-v9", "web"),
                deploy(1, "api-late", "api"),
                incident(0, "incident.triggered"),
            ]
        )
    )
    assert a.milestones["suspect_change"].ref == "api-v1"
    assert "same service (api)" in rule(a, "suspect_change")
    assert a.durations["change_to_detect"] == 30 * 60


def test_suspect_change_respects_the_lookback() -> None:
    """A deploy older than the lookback is not a suspect; the nearest other deploy is."""
    events = [
        deploy(-400, "api-old", "api"),
        deploy(-10, "web-v9", "web"),
        incident(0, "incident.triggered"),
    ]
    a = analyse(build_frame(events), suspect_lookback=timedelta(hours=6))
    assert a.milestones["suspect_change"].ref == "web-v9"
    assert "no deploy of an affected service" in rule(a, "suspect_change")


def test_no_evidence_means_every_milestone_is_null() -> None:
    """Deploys alone give no milestone and no duration."""
    a = analyse(build_frame([deploy(1, "v1", "api")]))
    assert all(m is None for m in a.milestones.values())
    assert all(d is None for d in a.durations.values())


def test_overrides_win_and_name_their_flag() -> None:
    """A hand-set milestone replaces the computed one and its rule names the flag."""
    a = analyse(
        build_frame([alarm(10, "Err", "OK", "ALARM", 9), alarm(20, "Err", "ALARM", "OK")]),
        overrides={"impact_started": t(0), "resolved": t(45)},
    )
    assert (at(a, "impact_started"), rule(a, "impact_started")) == (
        t(0),
        "set by --impact-start",
    )
    assert at(a, "mitigated") == t(20)
    assert a.durations["time_to_resolve"] == 45 * 60


def test_a_failed_alarm_source_is_not_mistaken_for_no_alarm() -> None:
    """With CloudWatch unreadable, the trigger is only an upper bound for impact start and time_to_detect is unknown."""
    a = analyse(
        build_frame([incident(5, "incident.triggered"), incident(30, "incident.resolved")]),
        failed_sources=["cloudwatch"],
    )
    assert at(a, "impact_started") == t(5)
    assert rule(a, "impact_started").startswith(
        "at the latest the first PagerDuty trigger: CloudWatch could not be read"
    )
    assert a.durations["time_to_detect"] is None
    assert a.durations["time_to_resolve"] == 25 * 60
    assert notes(a, "mitigated") == [
        "CloudWatch could not be read, so alarm recoveries are missing"
    ]
    assert "no alarm went to ALARM" not in rule(a, "impact_started")


def _fired(minute: float, name: str, breach: object) -> Event:
    return Event(
        at=t(minute),
        source="cloudwatch",
        kind="alarm.alarm",
        ref=f"arn:{name}",
        summary=f"{name} OK -> ALARM",
        attrs={"alarm_name": name, "breach_start": breach, "breach_start_rule": f"rule {name}"},
    )


@pytest.mark.parametrize(
    ("breach", "expected"),
    [
        ("2024-01-15T13:50:00Z", t(-10)),
        ("2024-01-15T14:45:00+01:00", t(-15)),  # an offset: 13:45 UTC
        (" 2024-01-15T13:48:00Z\n", t(-12)),  # blanks around it
        ("2024-01-15T13:49:59.1234567Z", t(-10) - timedelta(microseconds=876544)),  # 7 digits
        (None, t(-8)),  # no breach start: the other alarm's own time is later, this one wins
    ],
)
def test_impact_starts_at_the_earliest_breach_however_its_time_is_written(
    breach: object, expected: object
) -> None:
    """Breach starts with Z, an offset, blanks or extra digits are read as parse_time reads
    them, and the earliest one (or an alarm's own time, without one) is the impact start."""
    events = [_fired(-8, "a", breach), _fired(-5, "b", "2024-01-15T13:55:00Z")]
    found = analyse(build_frame(events)).milestones["impact_started"]
    assert found is not None and found.at == expected and found.ref == "arn:a"
    assert found.detail == (None if breach is None else "rule a")


def test_a_breach_start_without_an_offset_is_refused() -> None:
    """A naive breach start is an error that shows how to write one, not a guess at UTC."""
    events = [_fired(-8, "a", "2024-01-15T13:50:00"), _fired(-5, "b", "2024-01-15T13:55:00Z")]
    with pytest.raises(ValueError, match="for example 2024-01-15T14:32:00Z"):
        analyse(build_frame(events))
