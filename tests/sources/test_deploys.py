"""Deploy logs: JSON Lines and CSV into deploy events; bad lines named by file and line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pmdraft.errors import CollectorError
from pmdraft.model import Window
from pmdraft.sources.deploys.file import DeployFileCollector

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
        utc(2024, 1, 15, 14, 12, 30),
        "deploy.started",
        "v2.3.4 deploy to production started (api)",
    )


def test_lookback_keeps_earlier_deploys_and_drops_older_ones(tmp_path: Path) -> None:
    """Deploys within the lookback before the window are kept; older ones and later ones are not."""
    path = tmp_path / "d.jsonl"
    lines = [
        ("2024-01-15T09:00:00Z", "old"),
        ("2024-01-15T12:00:00Z", "kept"),
        ("2024-01-15T15:30:00Z", "after"),
    ]
    path.write_text(
        "".join(f'{{"timestamp": "{t}", "status": "succeeded", "id": "{i}"}}\n' for t, i in lines),
        encoding="utf-8",
    )
    collector = DeployFileCollector(path, lookback=timedelta(hours=3))
    assert [e.ref for e in collector.collect(WINDOW)] == ["kept"]
    assert collector.detail == (
        "2 records outside the window and the 3 h deploy lookback before it left out"
    )


def test_timestamp_without_offset_is_skipped_and_named_with_file_and_line(tmp_path: Path) -> None:
    """A naive deploy time is skipped and reported with the file, the line and a correct example; good lines stay."""
    path = tmp_path / "d.jsonl"
    path.write_text(
        '{"timestamp": "2024-01-15T14:15:00Z", "status": "started"}\n'
        '{"timestamp": "2024-01-15T14:15:00", "status": "succeeded"}\n',
        encoding="utf-8",
    )
    collector = DeployFileCollector(path)
    events = list(collector.collect(WINDOW))
    assert [e.kind for e in events] == ["deploy.started"], "the source does not fail"
    assert collector.detail == (
        f"1 malformed line skipped: {path}, line 2: timestamp '2024-01-15T14:15:00' has no UTC offset, so its "
        "instant is unknown; add Z or an offset, like 2024-01-15T14:32:00Z or 2024-01-15T15:32:00+01:00"
    )
    assert collector.skipped == 1


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            '{"timestamp": "yesterday", "status": "started"}',
            "line 1: timestamp 'yesterday' is not an ISO 8601 time",
        ),
        (
            '{"timestamp": "2024-01-15T14:15:00Z", "status": "done"}',
            "line 1: status 'done' is not one of started, succeeded, failed, rolled_back",
        ),
        ('{"status": "started"}', "line 1: the timestamp field is missing"),
        ("not json", "line 1: not a JSON object"),
        ("[1, 2]", "line 1: a JSON object is expected, got list"),
    ],
)
def test_bad_lines_are_named(tmp_path: Path, line: str, message: str) -> None:
    """Each kind of bad record is named in detail with its line and what is wrong; the good line stays."""
    path = tmp_path / "d.jsonl"
    path.write_text(
        line + '\n{"timestamp": "2024-01-15T14:15:00Z", "status": "started"}\n', encoding="utf-8"
    )
    collector = DeployFileCollector(path)
    assert [e.attrs["line"] for e in collector.collect(WINDOW)] == [2]
    assert collector.detail is not None
    assert collector.detail.startswith(f"1 malformed line skipped: {path}, {message}")


def test_many_bad_lines_are_counted_and_the_first_five_named(tmp_path: Path) -> None:
    """Seven bad lines give one note that counts all seven and names the first five by line."""
    path = tmp_path / "d.jsonl"
    path.write_text(
        "".join("oops\n" for _ in range(7))
        + '{"timestamp": "2024-01-15T14:15:00Z", "status": "started"}\n',
        encoding="utf-8",
    )
    collector = DeployFileCollector(path)
    assert [e.attrs["line"] for e in collector.collect(WINDOW)] == [8]
    detail = collector.detail or ""
    assert detail.startswith(f"7 malformed lines skipped: {path}, line 1: not a JSON object")
    assert f"{path}, line 5: " in detail and f"{path}, line 6: " not in detail
    assert detail.endswith(" / and 2 more")


def test_field_mapping_and_epoch_milliseconds_read_a_ci_export(tmp_path: Path) -> None:
    """A CI export with its own field names and epoch milliseconds gives the same events, no converter needed."""
    path = tmp_path / "ci.jsonl"
    path.write_text(
        '{"ts": 1705328100000, "result": "succeeded", "app": "api", "tag": "v2.3.4", "stage": "production"}\n',
        encoding="utf-8",
    )
    [event] = collect(
        path,
        time_format="epoch_ms",
        fields={
            "timestamp": "ts",
            "status": "result",
            "service": "app",
            "version": "tag",
            "environment": "stage",
        },
    )
    assert (event.at, event.kind, event.summary) == (
        utc(2024, 1, 15, 14, 15),
        "deploy.succeeded",
        "v2.3.4 deployed to production (api)",
    )


def test_epoch_seconds_in_a_csv_with_renamed_columns(tmp_path: Path) -> None:
    """A CSV with epoch seconds and renamed columns reads; a row that is not a number is named by its line."""
    path = tmp_path / "ci.csv"
    path.write_text("when,state,svc\n1705328100,started,api\nsoon,started,api\n", encoding="utf-8")
    collector = DeployFileCollector(
        path,
        time_format="epoch_s",
        fields={"timestamp": "when", "status": "state", "service": "svc"},
    )
    events = list(collector.collect(WINDOW))
    assert [(e.at, e.service) for e in events] == [(utc(2024, 1, 15, 14, 15), "api")]
    assert f"{path}, line 3: when 'soon' is not a number of seconds since 1970-01-01 UTC" in (
        collector.detail or ""
    )


def test_missing_file_is_a_source_failure(tmp_path: Path) -> None:
    """A deploy log that does not exist is a named gap, not a crash."""
    with pytest.raises(CollectorError, match=r"deploy log .*nope.jsonl does not exist"):
        collect(tmp_path / "nope.jsonl")
