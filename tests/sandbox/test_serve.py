"""`pmdraft sandbox serve`: the user's own scenario served on loopback and drafted end to end,
and a bad scenario file refused with the file, the JSON path and a correct example."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.sandbox.custom import read_scenario
from pmdraft.sandbox.serve import sandbox_group, serve_command
from tests.conftest import REPO

EXAMPLE = REPO / "examples" / "scenario.json"
SINCE, UNTIL = "2024-03-12T08:45:00Z", "2024-03-12T10:30:00Z"


class Served:
    """``python -m pmdraft.sandbox.serve serve`` in a subprocess, read as a user reads it."""

    def __init__(self, scenario: Path, port_file: Path) -> None:
        self.port_file = port_file
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "pmdraft.sandbox.serve", "serve"),
                *("--scenario", str(scenario), "--port-file", str(port_file), "--seconds", "90"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        self.guard = threading.Timer(120, self.proc.kill)
        self.guard.start()
        assert self.proc.stdout is not None
        self.printed: list[str] = []
        while not self.printed or not self.printed[-1].startswith("#   pmdraft draft"):
            line = self.proc.stdout.readline()
            assert line, f"serve stopped early: {self.proc.wait()} {self.proc.stderr.read()}"  # type: ignore[union-attr]
            self.printed.append(line.rstrip("\n"))

    def config(self) -> Path:
        line = next(x for x in self.printed if x.startswith("# The config, written to "))
        return Path(line.removeprefix("# The config, written to ").rstrip(":"))

    def exports(self) -> dict[str, str]:
        pairs = (
            x.removeprefix("export ").split("=", 1) for x in self.printed if x.startswith("export ")
        )
        return dict(pairs)

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=30)
        self.guard.cancel()
        return self.proc.returncode, err


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    server = Served(EXAMPLE, tmp_path / "sandbox.json")
    try:
        for name, value in server.exports().items():
            monkeypatch.setenv(name, value)
        yield server
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
        server.proc.communicate()
        server.guard.cancel()


def draft(*args: str):
    return CliRunner().invoke(cli, ["draft", "--since", SINCE, "--until", UNTIL, *args])


def test_the_example_is_served_and_drafted_with_its_own_milestones(
    served: Served, tmp_path: Path
) -> None:
    """The printed config and exports give incident 311's milestones, durations and Slack rows."""
    assert served.printed[0] == f"# pmdraft sandbox: {EXAMPLE}, served on 127.0.0.1 until Ctrl-C"
    assert (
        "[slack]" in served.printed
        and "unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN" in served.printed
    )
    assert set(served.exports()) == {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "PMDRAFT_SANDBOX_TOKEN",
        "PMDRAFT_SANDBOX_SLACK_TOKEN",
        "PMDRAFT_CONFIG",
    }
    record = json.loads(served.port_file.read_text(encoding="utf-8"))
    assert record["config"] == str(served.config())
    assert record["window"] == {"since": "2024-03-12T08:58:00Z", "until": "2024-03-12T10:18:00Z"}

    result = draft("--config", str(served.config()), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    at = {name: m["at"] for name, m in data["milestones"].items()}
    assert at == {
        "impact_started": "2024-03-12T09:13:00Z",
        "detected": "2024-03-12T09:14:30Z",
        "paged": "2024-03-12T09:15:20Z",
        "acknowledged": "2024-03-12T09:19:45Z",
        "mitigated": "2024-03-12T09:52:00Z",
        "resolved": "2024-03-12T10:02:00Z",
        "suspect_change": "2024-03-12T09:05:00Z",
    }
    assert data["milestones"]["suspect_change"]["ref"] == "dep-311"
    assert data["milestones"]["resolved"]["ref"] == "QSBX311"
    assert data["durations"] == {
        "time_to_detect": 90,
        "time_to_acknowledge": 265,
        "time_to_mitigate": 39 * 60,
        "time_to_resolve": 49 * 60,
        "change_to_detect": 9 * 60 + 30,
    }
    sources = {s["name"]: (s["status"], s["events"]) for s in data["sources"]}
    assert sources == {
        "cloudwatch": ("ok", 4),
        "pagerduty": ("ok", 7),
        "pagerduty:change_events": ("ok", 0),
        "deploys:deploys.jsonl": ("ok", 6),
        "slack": ("ok", 5),
    }
    pinned = [e for e in data["events"] if e["attrs"].get("pinned")]
    assert [(e["at"], e["actor"], e["summary"]) for e in pinned] == [
        ("2024-03-12T09:37:50Z", "Priya Patel", "Decision: rolling checkout back to v4.1.9")
    ]

    out = tmp_path / "pm.md"
    assert draft("--no-graphs", "-o", str(out)).exit_code == 0  # PMDRAFT_CONFIG from the exports
    timeline = out.read_text(encoding="utf-8").split("## Timeline", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in timeline.splitlines() if "#inc-311-checkout-payments" in line]
    assert rows[0] == (
        "| 09:37:50 | #inc-311-checkout-payments Priya Patel: Decision: rolling checkout back to "
        "v4.1.9 (https://acme.slack.com/archives/C0SBXBDDFC8/p1710236270000000) |"
    )

    code, err = served.stop()
    assert (code, err.splitlines()[-1]) == (0, "# sandbox stopped (stopped)")
    assert not served.port_file.exists()


def scenario_with(tmp_path: Path, change) -> Path:
    """The example with ``change`` applied to its parsed JSON, written as bad.json."""
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    change(data)
    (tmp_path / "bad.json").write_text(json.dumps(data), encoding="utf-8")
    return Path("bad.json")


def serve(*args: str):
    return CliRunner().invoke(sandbox_group, ["serve", *args])


def naive(data: dict) -> None:
    data["incidents"][0]["log"][2]["at"] = "2024-03-12T09:19:45"


def misspelt(data: dict) -> None:
    data["alarms"][1]["treshold"] = data["alarms"][1].pop("threshold")


def quoted(data: dict) -> None:
    data["alarms"][0]["period"] = "60"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            naive,
            'bad.json: incidents[0].log[2].at: "2024-03-12T09:19:45" has no UTC offset, so its '
            'instant is unknown; add Z or an offset, like "2024-03-12T09:19:45Z" or '
            '"2024-03-12T09:19:45+01:00"',
        ),
        (
            misspelt,
            'bad.json: alarms[1].treshold: unknown field (did you mean "threshold"?); the fields '
            "here are name, region, metric, namespace, statistic, period, threshold, comparison, "
            "description, history, series",
        ),
        (
            quoted,
            'bad.json: alarms[0].period: expected a whole number, got the string "60"; for '
            'example "period": 60',
        ),
    ],
    ids=["naive time", "unknown field", "wrong type"],
)
def test_a_bad_scenario_exits_1_naming_the_entry_and_starts_nothing(
    tmp_path: Path, change, message: str
) -> None:
    """A naive time, an unknown field or a wrong type: exit 1, the file, the JSON path, an example."""
    bad = scenario_with(tmp_path, change)
    result = serve("--scenario", str(bad), "--port-file", "sandbox.json", "--seconds", "0")
    assert (result.exit_code, result.output) == (1, f"Error: {message}\n")
    assert not (tmp_path / "sandbox.json").exists()


def test_a_missing_scenario_file_is_a_usage_error(tmp_path: Path) -> None:
    """No such file: exit 2 with click's usage message naming the option."""
    result = serve("--scenario", "nope.json")
    assert result.exit_code == 2
    assert "Invalid value for '--scenario': File 'nope.json' does not exist." in result.output


def test_yaml_reads_as_json_does_and_an_unquoted_naive_time_is_refused(tmp_path: Path) -> None:
    """The same story in YAML gives the same scenario; YAML's unquoted naive time is named."""
    import yaml

    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    from_yaml, from_json = read_scenario(tmp_path / "s.yaml"), read_scenario(EXAMPLE)
    assert (from_yaml.alarms, from_yaml.incidents, from_yaml.deploys, from_yaml.slack) == (
        from_json.alarms,
        from_json.incidents,
        from_json.deploys,
        from_json.slack,
    )
    (tmp_path / "t.yaml").write_text(
        "deploys:\n- at: 2024-03-12 09:02:00\n  service: checkout\n  version: v4.2.0\n",
        encoding="utf-8",
    )
    result = serve("--scenario", "t.yaml")
    assert result.exit_code == 1
    assert result.output.startswith(
        'Error: t.yaml: deploys[0].at: "2024-03-12T09:02:00" has no UTC offset'
    )


def test_the_command_says_what_it_reads_and_how_to_stop_it() -> None:
    """`serve --help` names the scenario formats (YAML with PyYAML), the docs and --seconds."""
    assert (
        serve_command.name == "serve" and sandbox_group.get_command(None, "serve") is serve_command
    )  # type: ignore[arg-type]
    text = CliRunner().invoke(sandbox_group, ["serve", "--help"]).output
    assert "YAML when PyYAML is" in text and "docs/sandbox.md" in text
    assert "--seconds" in text and "Ctrl-C" in text


def test_registered_under_the_cli_its_help_has_an_example() -> None:
    """Added to `pmdraft` as the CLI will add it, `pmdraft sandbox --help` shows an example."""
    import click

    pmdraft = click.Group("pmdraft", commands={**cli.commands, "sandbox": sandbox_group})
    result = CliRunner().invoke(pmdraft, ["sandbox", "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert "pmdraft sandbox serve --scenario examples/scenario.json" in result.output
