"""One incident's analysis from its rows of a shared frame equals the analysis of those rows alone."""

from __future__ import annotations

from pmdraft.timeline import analyse, build_frame
from pmdraft.timeline.columns import Columns

from .test_milestones import alarm, deploy, incident, t


def test_rows_of_a_shared_frame_give_the_analysis_of_the_rows_alone() -> None:
    events = [
        deploy(-30, "d-api", "api"),
        deploy(-20, "d-web", "web"),
        alarm(0, "ApiErrors", "OK", "ALARM", breach=-3),
        incident(1, "incident.triggered", "P1", "api"),
        alarm(2, "WebLatency", "OK", "ALARM"),
        incident(3, "incident.triggered", "P2", "web"),
        incident(4, "incident.acknowledged", "P1", "api"),
        alarm(5, "ApiErrors", "ALARM", "OK"),
        alarm(6, "ApiErrors", "OK", "ALARM"),
        deploy(8, "d-api-rollback", "api", "deploy.rolled_back"),
        alarm(9, "ApiErrors", "ALARM", "OK"),
        incident(10, "incident.resolved", "P1", "api"),
        alarm(12, "WebLatency", "ALARM", "OK"),
    ]
    frame = build_frame(events)
    columns = Columns(frame)
    kind, ref, service = (frame[c].tolist() for c in ("kind", "ref", "service"))
    api = [p for p in range(len(frame)) if service[p] == "api" or "Api" in ref[p]]
    web = [p for p in range(len(frame)) if service[p] == "web" or "Web" in ref[p]]
    assert "alarm.alarm" in {kind[p] for p in api} and "alarm.alarm" in {kind[p] for p in web}
    for rows in (api, web, list(range(len(frame))), []):
        alone = analyse(frame.take(rows).reset_index(drop=True))
        assert analyse(columns, rows=rows) == alone
    api_analysis = analyse(columns, rows=api)
    # What the draft says for P1: impact from the breach start, mitigated at the last recovery,
    # one flap noted, P2's unresolved incident not in the way.
    assert api_analysis.milestones["impact_started"].at == t(-3)
    assert api_analysis.milestones["mitigated"].at == t(9)
    assert api_analysis.milestones["resolved"].at == t(10)
    assert len(api_analysis.notes["mitigated"]) >= 1
    assert analyse(columns, rows=web).milestones["resolved"] is None
