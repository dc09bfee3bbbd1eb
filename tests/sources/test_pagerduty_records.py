"""PagerDuty records checked one at a time and clipped to the span read; lookups and messages
that name the right thing; doctor lines that never carry the token."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from pmdraft.errors import CollectorError
from pmdraft.sandbox.pagerduty import change_event, log_entry
from pmdraft.sources.pagerduty.check import check_pagerduty
from pmdraft.sources.pagerduty.config import PagerDutyConfig
from pmdraft.sources.registry import BuildContext

from ..conftest import TOKEN, utc
from .test_pagerduty import JANE, T0, WINDOW, changes_collector, collector, seed


def listing(key: str, records: list[dict]) -> str:
    return json.dumps({key: records, "limit": 100, "offset": 0, "more": False})


def test_change_events_outside_the_span_are_dropped_and_counted(pd) -> None:
    """2020 change events a server returns for a 2024 window never become times of day."""
    good = change_event(id="CE1", summary="Deploy v2", timestamp=T0 + timedelta(minutes=5))
    old = [
        change_event(id=f"CEOLD{k}", summary="Old deploy", timestamp=utc(2020, 3, 1, 10, k))
        for k in range(2)
    ]
    pd.inject("/change_events", 200, body=listing("change_events", [good, *old]))
    c = changes_collector(pd, lookback=timedelta(hours=6))
    events = list(c.collect(WINDOW))
    assert [(e.ref, e.at) for e in events] == [("CE1", T0 + timedelta(minutes=5))]
    assert c.detail == (
        "2 change events dated outside the span read (2024-01-15T08:00:00Z to "
        "2024-01-15T16:00:00Z) dropped"
    )


def test_a_change_event_with_a_bad_field_is_skipped_and_named(pd) -> None:
    """A change event whose summary is an object is named; the good one stays."""
    good = change_event(id="CE1", summary="Deploy v2", timestamp=T0 + timedelta(minutes=5))
    bad = {**good, "id": "CE2", "summary": {"text": "Deploy v3"}}
    pd.inject("/change_events", 200, body=listing("change_events", [good, bad]))
    c = changes_collector(pd)
    assert [e.ref for e in c.collect(WINDOW)] == ["CE1"]
    assert c.detail == "1 change event skipped: change event CE2: summary is an object, not text"


def test_many_bad_entries_are_counted_and_the_first_five_named(pd) -> None:
    """Seven entries without a readable time: all counted, five named, the good ones kept."""
    [inc] = seed(pd, n_incidents=1)
    good = [
        log_entry(id="LGOOD", type="acknowledge_log_entry", created_at=T0, incident=inc, agent=JANE)
    ]
    bad = [{**good[0], "id": f"LBAD{k}", "created_at": "soon"} for k in range(7)]
    pd.inject("/log_entries", 200, body=listing("log_entries", good + bad))
    c = collector(pd)
    assert [e.attrs["log_entry_id"] for e in c.collect(WINDOW)] == ["LGOOD"]
    named = "; ".join(
        f"log entry LBAD{k}: created_at 'soon' is not a time with a UTC offset" for k in range(5)
    )
    assert c.detail == f"7 log entries skipped: {named}; and 2 more"


def test_the_collector_does_not_look_up_incidents_it_was_given(pd) -> None:
    """Given the looked-up incident records, the collector only reads their log entries."""
    [inc] = seed(pd, n_incidents=1)
    c = collector(pd, incident_ids=[inc["id"]], incidents=[pd._store.incidents[inc["id"]]])
    assert len(list(c.collect(WINDOW))) == 3
    assert [r.path for r in pd.requests] == [f"/incidents/{inc['id']}/log_entries"]


def test_a_server_id_that_is_gone_is_named_as_the_servers_not_the_users(pd) -> None:
    """An id PagerDuty gave that now answers 404 is a source error naming the request."""
    c = collector(pd, incident_ids=["Q-GONE"], max_retries=0)
    with pytest.raises(CollectorError) as err:
        list(c.collect(WINDOW))
    assert "--incident" not in err.value.message
    assert err.value.message.startswith("GET /incidents/Q-GONE answered HTTP 404")


def context(tmp_path: Path) -> BuildContext:
    return BuildContext(environ={"PAGERDUTY_API_TOKEN": TOKEN}, base_dir=tmp_path)


def test_doctor_scrubs_a_token_a_proxy_echoes(pd, tmp_path: Path) -> None:
    """A failing answer that echoes the Authorization header, cut mid-token, shows no part of it."""
    body = "Bad gateway. " + "x" * 90 + f"Authorization: Token token={TOKEN}"
    pd.inject("/incidents", 502, body=body)
    cfg = PagerDutyConfig(base_url=pd.base_url, ca_bundle=pd.ca_path, max_retries=0)
    [check] = check_pagerduty(cfg, context(tmp_path))
    assert check.status == "FAIL"
    assert check.detail.startswith("GET /incidents failed: HTTP 502:")
    assert check.detail.endswith("[token]")
    assert TOKEN[:4] not in check.detail.replace("Token token=", "")


def test_doctor_fails_a_200_that_is_not_a_listing(pd, tmp_path: Path) -> None:
    """A proxy's HTML login page answered with 200 is a FAIL naming what to check."""
    pd.inject("/incidents", 200, body="<html>Sign in</html>")
    cfg = PagerDutyConfig(base_url=pd.base_url, ca_bundle=pd.ca_path, max_retries=0)
    [check] = check_pagerduty(cfg, context(tmp_path))
    assert (check.status, check.detail) == (
        "FAIL",
        "GET /incidents answered 200, but not with JSON: is base_url the REST API "
        "(https://api.pagerduty.com)?",
    )


def test_an_error_mid_listing_ends_without_a_traceback(pd, tmp_path: Path) -> None:
    """The request ceiling reached while pages are fetched in a pool: a named gap, exit 3, and
    stderr carries no traceback (the pool is shut down by the thread that made it)."""
    seed(pd, n_incidents=150)
    cfg = tmp_path / "pm.toml"
    cfg.write_text(
        f'[run]\nmax_requests = 4\n[pagerduty]\nbase_url = "{pd.base_url}"\n'
        f'ca_bundle = "{pd.ca_path}"\nmax_retries = 0\nchange_events = false\n',
        encoding="utf-8",
    )
    exe = Path(sys.executable).parent / "pmdraft"
    args = ["draft", "--since", "2024-01-15T14:00:00Z", "--until", "2024-01-15T16:00:00Z"]
    done = subprocess.run(
        [str(exe), *args, "--config", str(cfg), "-o", str(tmp_path / "pm.md")],
        capture_output=True,
        text=True,
        env={"PAGERDUTY_API_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert done.returncode == 3, done.stderr
    assert "pmdraft: data gap: pagerduty failed: stopped after 4 requests" in done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


def test_an_incidents_own_entry_without_a_reference_is_still_its_own(pd) -> None:
    """In an incident's own log entries listing, an entry without ``incident`` belongs to it."""
    [inc] = seed(pd, n_incidents=1)
    entry = log_entry(id="LNOREF", type="acknowledge_log_entry", created_at=T0, incident=inc)
    del entry["incident"]
    pd.inject(f"/incidents/{inc['id']}/log_entries", 200, body=listing("log_entries", [entry]))
    c = collector(pd, incident_ids=[inc["id"]], incidents=[pd._store.incidents[inc["id"]]])
    assert [(e.ref, e.kind) for e in c.collect(WINDOW)] == [(inc["id"], "incident.acknowledged")]
    assert c.detail is None


def test_doctor_names_change_events_on_their_own_line(pd, tmp_path: Path) -> None:
    """GET /change_events refused while GET /incidents answers: the incidents' line is ok and the
    change events' line fails naming the fix; with change_events = false it is not checked."""
    pd.inject("/change_events", 403)
    cfg = PagerDutyConfig(base_url=pd.base_url, ca_bundle=pd.ca_path, max_retries=0)
    incidents, changes = check_pagerduty(cfg, context(tmp_path))
    assert (incidents.name, incidents.status) == ("pagerduty", "ok")
    assert (changes.name, changes.status, changes.detail) == (
        "pagerduty:change_events",
        "FAIL",
        "GET /change_events was refused (403): the token cannot read change events; use a key "
        "that can, or set change_events = false in [pagerduty]",
    )
    off = PagerDutyConfig(base_url=pd.base_url, ca_bundle=pd.ca_path, change_events=False)
    assert [c.name for c in check_pagerduty(off, context(tmp_path))] == ["pagerduty"]
