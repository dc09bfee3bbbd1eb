"""Deploy logs: JSON Lines and CSV into deploy events; bad lines named by file and line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pmdraft.collectors.deploys import DeployFileCollector
from pmdraft.errors import CollectorError, InputError
from pmdraft.model import Window

from ..conftest import utc

WINDOW = Window(utc(2024, 1, 15, 14), utc(2024, 1, 15, 15, 30))


def collect(path: Path, **kw) -> list:
    return list(DeployFileCollector(path, **kw).collect(WINDOW))


def test_jsonl_records_become_typed_events_in_utc(tmp_path: Path) -> None:
    """Each status maps to its kind, offsets are applied, and the summary reads as a sentence."""
    path = tmp_path / "d.jsonl"
    path.write_text(
        '{"timestamp": "2024-01-15T15:15:00+01:00", "service": "api", "version": "v2.3.4", "environment": "production", "status": "succeeded", "id": "d1", "actor": "ci"}\n'
        "\n"
        '{"timestamp": "2024-01-15T14:47:00Z", "service": "api", "version": "v2.3.4", "environment": "production", "status": "rolled_back", "id": "d1"}\n',
        encoding="utf-8",
    )
    events = collect(path)
    assert [(e.at, e.kind, e.ref) for e in events] == [
        (utc(2024, 1, 15, 14, 15), "deploy.succeeded", "d1"),
        (utc(2024, 1, 15, 14, 47), "deploy.rolled_back", "d1"),
    ]
    assert events[0].summary == "v2.3.4 deployed to production (api)"
    assert events[0].actor == "ci"
    assert events[1].summary == "v2.3.4 rolled back in production (api)"
    assert events[0].attrs["line"] == 1 and events[1].attrs["line"] == 3


def test_csv_with_bom_and_crlf_reads_like_jsonl(tmp_path: Path) -> None:
    """A spreadsheet export (BOM, CRLF) gives the same events as JSON Lines."""
    path = tmp_path / "d.csv"
    path.write_bytes(
        "\ufefftimestamp,service,version,environment,status,id\r\n"
        "2024-01-15T14:12:30Z,api,v2.3.4,production,started,d1\r\n".encode("utf-8")
    )
    [event] = collect(path)
    assert (event.at, event.kind, event.summary) == (
        utc(2024, 1, 15, 14, 12, 30), "deploy.started", "v2.3.4 deploy to production started (api)"
    )


def test_lookback_keeps_earlier_deploys_and_drops_older_ones(tmp_path: Path) -> None:
    """Deploys within the lookback before the window are kept; older ones and later ones are not."""
    path = tmp_path / "d.jsonl"
    lines = [
        ('2024-01-15T09:00:00Z', "old"), ('2024-01-15T12:00:00Z', "kept"),
        ('2024-01-15T15:30:00Z', "after"),
    ]
    path.write_text("".join(f'{{"timestamp": "{t}", "status": "succeeded", "id": "{i}"}}\n' for t, i in lines), encoding="utf-8")
    assert [e.ref for e in collect(path, lookback=timedelta(hours=3))] == ["kept"]


def test_timestamp_without_offset_names_file_and_line(tmp_path: Path) -> None:
    """A naive deploy time is an error with the file, the line and a correct example."""
    path = tmp_path / "d.jsonl"
    path.write_text('{"timestamp": "2024-01-15T14:15:00Z", "status": "started"}\n'
                    '{"timestamp": "2024-01-15T14:15:00", "status": "succeeded"}\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        collect(path)
    assert str(err.value) == (
        f"{path}, line 2: timestamp '2024-01-15T14:15:00' has no UTC offset, so its instant is unknown; "
        "add Z or an offset, like 2024-01-15T14:32:00Z or 2024-01-15T15:32:00+01:00"
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"timestamp": "yesterday", "status": "started"}', "line 1: timestamp 'yesterday' is not an ISO 8601 time"),
        ('{"timestamp": "2024-01-15T14:15:00Z", "status": "done"}', "line 1: status 'done' is not one of started, succeeded, failed, rolled_back"),
        ('{"status": "started"}', "line 1: the timestamp field is missing"),
        ('not json', "line 1: not a JSON object"),
        ('[1, 2]', "line 1: a JSON object is expected, got list"),
    ],
)
def test_bad_lines_are_named(tmp_path: Path, line: str, message: str) -> None:
    """Each kind of bad record is reported with its line and what is wrong."""
    path = tmp_path / "d.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        collect(path)


def test_missing_file_is_a_source_failure(tmp_path: Path) -> None:
    """A deploy log that does not exist is a named gap, not a crash."""
    with pytest.raises(CollectorError, match=r"deploy log .*nope.jsonl does not exist"):
        collect(tmp_path / "nope.jsonl")
