"""The CLI against moto's server: a flapping alarm is one timeline line, an old window is a named gap."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.sandbox import aws
from tests.conftest import DATA, utc, write_config

WINDOW = ["--since", "2024-01-15T14:00:00Z", "--until", "2024-01-15T15:30:00Z"]


def put_alarm(moto, name: str) -> None:
    moto.client().put_metric_alarm(
        AlarmName=name,
        MetricName="Errors",
        Namespace="App",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5.0,
        ComparisonOperator="GreaterThanThreshold",
    )


def run(config: Path, out: Path, fmt: str):
    return CliRunner().invoke(
        cli,
        ["draft", *WINDOW, "--config", str(config), "--format", fmt, "-o", str(out)]
        + (["--no-json"] if fmt != "json" else []),  # the JSON is asked for on its own
        catch_exceptions=False,
    )


def test_flapping_alarm_is_one_line_and_every_transition_stays_in_the_json(
    moto, tmp_path: Path
) -> None:
    """Six transitions in nine minutes read "flapped 6 times"; the JSON keeps all six; mitigated is the last OK."""
    put_alarm(moto, "HighErrorRate")
    states = ["ALARM", "OK", "ALARM", "OK", "ALARM", "OK"]
    minutes = [32, 33, 35, 37, 39, 41]
    for state, minute in zip(states, minutes, strict=True):
        aws.add_history(
            "us-east-1",
            "HighErrorRate",
            utc(2024, 1, 15, 14, minute),
            "OK" if state == "ALARM" else "ALARM",
            state,
        )
    config = write_config(tmp_path / "pm.toml", moto=moto, extra="")
    md, js = tmp_path / "pm.md", tmp_path / "pm.json"
    assert run(config, md, "markdown").exit_code == 0
    assert run(config, js, "json").exit_code == 0
    text = md.read_text(encoding="utf-8")
    assert (
        "CloudWatch alarm HighErrorRate flapped 6 times between 14:32 and 14:41 (see JSON)" in text
    )
    assert "| 14:35:00 |" not in text and "| 14:37:00 |" not in text, (
        "the middle transitions are folded"
    )
    assert "| 14:32:00 | CloudWatch alarm HighErrorRate: OK -> ALARM" in text, (
        "detection keeps its own line"
    )
    data = json.loads(js.read_text(encoding="utf-8"))
    transitions = [
        (e["at"], e["attrs"]["new_state"]) for e in data["events"] if e["source"] == "cloudwatch"
    ]
    assert transitions == [
        (f"2024-01-15T14:{m}:00Z", s) for m, s in zip(minutes, states, strict=True)
    ]
    assert data["milestones"]["mitigated"]["at"] == "2024-01-15T14:41:00Z"


def test_window_older_than_the_retention_is_a_named_gap(moto, tmp_path: Path) -> None:
    """A window older than history_retention_days exits 3 and says why in the Data gaps note and the JSON."""
    put_alarm(moto, "HighErrorRate")
    aws.add_history("us-east-1", "HighErrorRate", utc(2024, 1, 15, 14, 32), "OK", "ALARM")
    config = write_config(tmp_path / "pm.toml", moto=moto)
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "[cloudwatch]\n", "[cloudwatch]\nhistory_retention_days = 14\n"
        ),
        encoding="utf-8",
    )
    md, js = tmp_path / "pm.md", tmp_path / "pm.json"
    assert run(config, md, "markdown").exit_code == 3
    assert run(config, js, "json").exit_code == 3
    warning = (
        "the window starts 2024-01-15T14:00:00Z, more than 14 days ago, and CloudWatch keeps alarm history "
        "for about 14 days"
    )
    text = md.read_text(encoding="utf-8")
    gaps = text[text.index("Data gaps") :][:1500]
    assert warning in gaps
    [source] = [
        s
        for s in json.loads(js.read_text(encoding="utf-8"))["sources"]
        if s["name"] == "cloudwatch"
    ]
    assert source["status"] == "failed" and warning in source["error"]
    assert source["events"] == 1, "the history that is still there is kept"


def test_window_older_than_the_retention_reads_the_archive_log_group(moto, tmp_path: Path) -> None:
    """With archive_log_group, an old window gets its transitions from the archived events, each once, and a note."""
    put_alarm(moto, "HighErrorRate")
    aws.add_history("us-east-1", "HighErrorRate", utc(2024, 1, 15, 14, 32, 25), "OK", "ALARM")
    shape = json.loads(
        (DATA / "payloads/eventbridge-alarm-state-change-single-metric.json").read_text(
            encoding="utf-8"
        )
    )

    def archived(at: str, old: str, new: str) -> dict:
        detail = {
            **shape["detail"],
            "alarmName": "HighErrorRate",
            "previousState": {"value": old},
            "state": {
                **shape["detail"]["state"],
                "value": new,
                "timestamp": at,
                "reasonData": "{}",
            },
        }
        return {**shape, "region": "us-east-1", "time": at[:19] + "Z", "detail": detail}

    logs = moto.client("logs")
    logs.create_log_group(logGroupName="/aws/events/cloudwatch-alarms")
    logs.create_log_stream(logGroupName="/aws/events/cloudwatch-alarms", logStreamName="rule")
    aws.add_archived(
        "us-east-1",
        "/aws/events/cloudwatch-alarms",
        "rule",
        [
            archived("2024-01-15T14:32:25.000+0000", "OK", "ALARM"),
            archived("2024-01-15T14:41:00.000+0000", "ALARM", "OK"),
        ],
    )
    config = write_config(tmp_path / "pm.toml", moto=moto)
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "[cloudwatch]\n",
            (
                '[cloudwatch]\nhistory_retention_days = 14\narchive_log_group = "/aws/events/cloudwatch-alarms"\n'
            ),
        ),
        encoding="utf-8",
    )
    js = tmp_path / "pm.json"
    assert run(config, js, "json").exit_code == 0
    data = json.loads(js.read_text(encoding="utf-8"))
    transitions = [
        (e["at"], e["attrs"]["new_state"]) for e in data["events"] if e["source"] == "cloudwatch"
    ]
    assert transitions == [("2024-01-15T14:32:25Z", "ALARM"), ("2024-01-15T14:41:00Z", "OK")]
    [source] = [s for s in data["sources"] if s["name"] == "cloudwatch"]
    assert source["status"] == "ok"
    assert (
        "transitions were read from the archive log group /aws/events/cloudwatch-alarms"
        in source["detail"]
    )
    assert data["milestones"]["mitigated"]["at"] == "2024-01-15T14:41:00Z"
