"""words.py: each fact the timeline finds, said exactly as the draft shows it."""

from __future__ import annotations

from datetime import timedelta
from types import MappingProxyType

import pytest

from pmdraft.facts import (
    AlarmsUnread,
    BeforeImpact,
    DetectUnknown,
    EventLine,
    FlapIgnored,
    FlapLine,
    LatentDeploy,
    LinkedLine,
    Milestone,
    NoAlarmFired,
    NotifiedLine,
    OtherService,
    RelatedMatch,
    RollbackMitigation,
    Rule,
    RunLine,
    SameService,
    StagedRollout,
    StillFiring,
    Unresolved,
    WentBad,
)
from pmdraft.model import PastIncident
from pmdraft.words import (
    duration_words,
    line_text,
    milestone_rule,
    note,
    notes,
    reason,
    related_reasons,
)

from .conftest import utc

T0 = utc(2024, 1, 15, 14, 32)


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (None, "unknown"),
        (0, "0 seconds"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "1 minute"),
        (25 * 60, "25 minutes"),
        (1045, "17 minutes"),
        (3600, "1 hour"),
        (3900, "1 hour 5 minutes"),
        (2 * 3600 + 30 * 60, "2 hours 30 minutes"),
        (-90, "-1 minute"),
    ],
)
def test_durations_are_whole_units_rounded_down(seconds: float | None, said: str) -> None:
    """A duration reads in seconds under a minute, else hours and minutes, rounded down."""
    assert duration_words(seconds) == said


def test_each_milestone_rule_reads_as_in_the_draft() -> None:
    """Every rule says how its milestone was found; a hand-set one names its flag."""
    at = T0
    assert (
        milestone_rule("impact_started", Milestone(at, Rule.BREACH_START, detail="first datapoint"))
        == "earliest breach start of an alarm that went to ALARM: first datapoint"
    )
    assert (
        milestone_rule("impact_started", Milestone(at, Rule.BREACH_START))
        == "earliest breach start of an alarm that went to ALARM: transition time"
    )
    assert milestone_rule("resolved", Milestone(at, Rule.SET_BY_HAND)) == "set by --resolved-at"
    assert milestone_rule("mitigated", Milestone(at, Rule.SET_BY_HAND)) == "set by --mitigated-at"
    assert (
        milestone_rule("impact_started", Milestone(at, Rule.TRIGGER_UPPER_BOUND))
        == "at the latest the first PagerDuty trigger: CloudWatch could not be read, so when the "
        "metrics began to breach is unknown"
    )
    assert (
        milestone_rule("mitigated", Milestone(at, Rule.LAST_RECOVERY))
        == "the last recovery after which every alarm that went to ALARM stayed OK"
    )
    assert (
        milestone_rule("resolved", Milestone(at, Rule.FROM_MITIGATED))
        == "no PagerDuty incident: taken from mitigated"
    )
    top = Milestone(
        at,
        Rule.TOP_LEAD,
        reasons=(SameService("api"), BeforeImpact(1045)),
        lookback=timedelta(hours=6),
    )
    assert milestone_rule("suspect_change", top) == (
        "top-ranked deploy at or before impact start within 6 h: "
        "same service (api), 17 minutes before impact start"
    )


def test_each_reason_reads_as_in_the_leads() -> None:
    """Service, nearness, failure, staging and the long lookback each read as a short clause."""
    assert reason(SameService("api")) == "same service (api)"
    assert reason(OtherService(any_named=True)) == "no deploy of an affected service"
    assert reason(OtherService(any_named=False)) == "no alarm or incident names a service"
    assert reason(BeforeImpact(0)) == "at impact start"
    assert reason(BeforeImpact(120)) == "2 minutes before impact start"
    assert (
        reason(WentBad(rolled_back=True, at=T0, after_impact=True))
        == "rolled back at 14:32:00 (after impact start)"
    )
    assert (
        reason(WentBad(rolled_back=False, at=T0, after_impact=False))
        == "failed at 14:32:00 (before impact start)"
    )
    assert reason(StagedRollout(("canary", "eu", "us"), 9000)) == (
        "stage 3 of a staged rollout (canary, eu, us) lines up with impact; "
        "earlier stages went out 2 hours 30 minutes before it"
    )
    assert (
        reason(LatentDeploy("api", 30.0, 27 * 86400))
        == "last deploys of api within 30 days: 648 hours before impact start"
    )


def test_each_note_reads_as_in_the_milestones_table() -> None:
    """What was unclear about a milestone reads as one sentence, with times in ISO 8601 UTC."""
    assert (
        note(NoAlarmFired())
        == "no alarm went to ALARM, so there is no alarm recovery to date mitigation from"
    )
    assert note(AlarmsUnread()) == "CloudWatch could not be read, so alarm recoveries are missing"
    assert note(DetectUnknown()) == "CloudWatch could not be read; time_to_detect is unknown"
    assert (
        note(FlapIgnored("Err", T0))
        == "Err recovered at 2024-01-15T14:32:00Z but went back to ALARM (not used)"
    )
    assert (
        note(StillFiring("Err", "ALARM"))
        == "Err ends the window in ALARM, so mitigation is unknown"
    )
    assert (
        note(Unresolved("7"))
        == "PagerDuty incident #7 has no resolution in the data, so resolution is unknown"
    )
    assert note(RollbackMitigation("v2.3.3 deployed", T0, 840)) == (
        "mitigation action: rollback (v2.3.3 deployed) at 2024-01-15T14:32:00Z, "
        "14 minutes after detection"
    )
    assert notes({"mitigated": [AlarmsUnread()]}) == {
        "mitigated": ["CloudWatch could not be read, so alarm recoveries are missing"]
    }


def test_related_reasons_name_the_service_and_title_likeness() -> None:
    """A related incident says it shares the service and how alike its title is."""
    past = PastIncident(id="P1", title="High error rate", service="api")
    both = RelatedMatch(past, T0, None, 0.75, same_service=True)
    assert related_reasons(both) == "same service (api); title 75% alike"
    assert related_reasons(RelatedMatch(past, T0, None, 0.0, same_service=True)) == (
        "same service (api)"
    )
    assert both.duration_seconds is None
    assert RelatedMatch(past, T0, T0 + timedelta(minutes=40), 0.5, False).duration_seconds == 2400


def event(source: str, kind: str, **attrs: object) -> EventLine:
    return EventLine(
        source, kind, "ref-1", "the summary", "api", "Ana", MappingProxyType(dict(attrs))
    )


def test_event_lines_read_as_in_the_timeline() -> None:
    """Alarms, triggers, acks, notes, resolutions and deploys each read as their timeline line."""
    alarm = event(
        "cloudwatch",
        "alarm.alarm",
        alarm_name="Err",
        old_state="OK",
        new_state="ALARM",
        reason="5xx",
    )
    assert line_text(alarm) == "CloudWatch alarm Err: OK -> ALARM (5xx)"
    assert (
        line_text(
            event("pagerduty", "incident.triggered", incident_number=7, incident_title="Down")
        )
        == "PagerDuty #7 triggered on api: Down"
    )
    assert (
        line_text(event("pagerduty", "incident.acknowledged", incident_number=7))
        == "PagerDuty #7 acknowledged by Ana"
    )
    assert (
        line_text(event("pagerduty", "incident.annotated", note="cache flushed"))
        == "PagerDuty incident note by Ana: cache flushed"
    )
    assert (
        line_text(event("pagerduty", "deploy.succeeded"))
        == "Deploy (PagerDuty change event): the summary"
    )
    assert line_text(event("deploys", "deploy.succeeded")) == "Deploy: the summary"
    assert line_text(event("pagerduty", "incident.escalated")) == "the summary"


def test_folded_and_merged_lines_read_as_in_the_timeline() -> None:
    """A linked page, a page-out, a folded run and a flapping alarm each read as one line."""
    linked = LinkedLine("Err", "OK", "ALARM", "5xx", 7, T0)
    assert line_text(linked) == (
        "CloudWatch alarm Err: OK -> ALARM -> paged on-call (PagerDuty #7, triggered 14:32:00) (5xx)"
    )
    paged = NotifiedLine(7, (("Ana", ("sms", "email")), (None, (None,))))
    assert line_text(paged) == (
        "PagerDuty #7: paged Ana (sms, email), a responder (unknown channel)"
    )
    run = RunLine("cloudwatch", "alarm", 4998, 2500, T0, T0 + timedelta(minutes=8))
    assert line_text(run) == (
        "CloudWatch: 4,998 alarm transitions of 2,500 alarms between 14:32 and 14:40 (see JSON)"
    )
    one = RunLine("pagerduty", "update", 1, 1, T0, T0 + timedelta(days=1))
    assert line_text(one) == (
        "PagerDuty: 1 incident update of 1 incident between 2024-01-15 14:32 and 2024-01-16 14:32 (see JSON)"
    )
    flap = FlapLine("Err", 6, T0, T0 + timedelta(minutes=9))
    assert (
        line_text(flap) == "CloudWatch alarm Err flapped 6 times between 14:32 and 14:41 (see JSON)"
    )


def test_two_detection_measures_are_stated_plainly_side_by_side() -> None:
    """Detection that is quick after impact but late after the change is said as two numbers, not as fast and late."""
    from pmdraft.words import detection_measures

    assert detection_measures(25, 1045, "v2.3.4") == (
        "Detection, two measures: the first alert fired 25 seconds after impact began "
        "(time_to_detect = 25 s) and 17 minutes after deploy v2.3.4 (change_to_detect = 1045 s)"
    )


def test_an_unlinked_alarm_says_nothing_links_it() -> None:
    """An alarm with no link says what was looked for."""
    from pmdraft.facts import AlarmLink
    from pmdraft.words import link_reason

    assert link_reason(AlarmLink("disk-full", "arn:disk-full", None)) == (
        "nothing links it to an incident or service (no page, catalog entry, tag or prefix)"
    )
