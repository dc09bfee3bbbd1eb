"""`pmdraft doctor` against moto and the PagerDuty stand-in: what works, what to fix, exit 0 or 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pmdraft.cli import cli
from tests.conftest import TOKEN, write_config

DEPLOYS = [
    {
        "timestamp": "2024-01-15T14:15:00Z",
        "status": "succeeded",
        "service": "api",
        "version": "v2.3.4",
    }
]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def rows(output: str) -> dict[str, tuple[str, str]]:
    """CHECK -> (STATUS, DETAILS), from the table's fixed-width columns."""
    lines = output.splitlines()
    status_at = lines[0].index("STATUS")
    details_at = lines[0].index("DETAILS")
    table = {}
    for line in lines[1:]:
        if not line:
            break
        table[line[:status_at].strip()] = (line[status_at:details_at].strip(), line[details_at:])
    return table


def test_doctor_passes_when_every_source_answers(
    moto, pd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With moto, the stand-in and a readable deploy log, every row is ok and the exit code is 0."""
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", TOKEN)
    cfg = write_config(tmp_path / "pm.toml", moto=moto, pd=pd, deploys=DEPLOYS)
    result = run("doctor", "--config", str(cfg))
    assert result.exit_code == 0, result.output
    assert rows(result.stdout) == {
        "config": ("ok", str(cfg)),
        "cloudwatch us-east-1": (
            "ok",
            f"DescribeAlarms and DescribeAlarmHistory answered (no alarms yet) at {moto.endpoint_url}",
        ),
        "pagerduty": (
            "ok",
            f"GET /incidents answered 200 at {pd.base_url}; token from $PAGERDUTY_API_TOKEN",
        ),
        "pagerduty:change_events": (
            "ok",
            "GET /change_events answered 200 (change events, their own line)",
        ),
        "deploys deploys.jsonl": ("ok", f"{tmp_path / 'deploys.jsonl'} is readable"),
        "slack": (
            "off",
            "not configured: add a [slack] section to read the incident's Slack channel",
        ),
    }
    assert result.stdout.endswith("\nEverything configured works.\n")
    assert [(r.method, r.path, r.query.get("limit")) for r in pd.requests] == [
        ("GET", "/incidents", ["1"]),
        ("GET", "/change_events", ["1"]),
    ]


def test_doctor_names_a_refused_token_and_what_to_do(
    moto, pd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token PagerDuty refuses is one FAIL row explaining 401 (without the token); the rest still pass; exit 1."""
    secret = "u+WrongTokenAbcdefghij"
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", secret)
    cfg = write_config(tmp_path / "pm.toml", moto=moto, pd=pd, deploys=DEPLOYS)
    result = run("doctor", "--config", str(cfg))
    assert result.exit_code == 1
    table = rows(result.stdout)
    assert table["pagerduty"] == (
        "FAIL",
        (
            "GET /incidents was refused (401 Unauthorized): the token is invalid or deactivated, or base_url is "
            "the wrong service region (EU accounts use https://api.eu.pagerduty.com)"
        ),
    )
    assert table["cloudwatch us-east-1"][0] == "ok" and table["deploys deploys.jsonl"][0] == "ok"
    assert result.stdout.endswith("\n1 check failed: fix it and run pmdraft doctor again.\n")
    assert secret not in result.output


def test_doctor_reports_a_missing_token_and_a_missing_deploy_log(tmp_path: Path, pd) -> None:
    """No token and a deploy log that is not there: two FAIL rows, each with its fix, and no request sent."""
    cfg = write_config(tmp_path / "pm.toml", pd=pd, deploys=DEPLOYS)
    (tmp_path / "deploys.jsonl").unlink()
    result = run("doctor", "--config", str(cfg))
    assert result.exit_code == 1
    assert rows(result.stdout) == {
        "config": ("ok", str(cfg)),
        "cloudwatch": ("off", "not configured: add a [cloudwatch] section to read alarm history"),
        "slack": (
            "off",
            "not configured: add a [slack] section to read the incident's Slack channel",
        ),
        "pagerduty": (
            "FAIL",
            (
                "$PAGERDUTY_API_TOKEN is not set; export PAGERDUTY_API_TOKEN=<your REST API token> "
                "(a read-only key is enough)"
            ),
        ),
        "deploys deploys.jsonl": (
            "FAIL",
            (
                f"{tmp_path / 'deploys.jsonl'} does not exist; fix `path` in [[deploys]] "
                "(relative paths are taken from the config file's folder)"
            ),
        ),
    }
    assert result.stdout.endswith("\n2 checks failed: fix them and run pmdraft doctor again.\n")
    assert pd.requests == []


def test_doctor_shows_a_broken_config_as_the_first_thing_to_fix(tmp_path: Path) -> None:
    """An invalid config is a FAIL row naming the key, and nothing else is tried."""
    cfg = tmp_path / "pm.toml"
    cfg.write_text('[cloudwatch]\nregoins = ["us-east-1"]\n', encoding="utf-8")
    result = run("doctor", "--config", str(cfg))
    assert result.exit_code == 1
    assert rows(result.stdout) == {
        "config": (
            "FAIL",
            (
                f"{cfg}: [cloudwatch]: unknown key 'regoins' (did you mean 'regions'?); "
                "known keys: accounts, alarm_prefixes, alarm_services, alarm_tags, archive_log_group, endpoint_url, graph_margin_minutes, "
                "graphs, history_requests_per_second, history_retention_days, history_slices, max_attempts, max_graphs, max_workers, "
                "metric_lookback_minutes, profile, regions, retry_mode, timeout_seconds"
            ),
        ),
    }


def test_doctor_says_an_untrusted_certificate_needs_ca_bundle(
    pd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TLS failure that outlasts the retries is explained as one (set ca_bundle), not as an unreachable host."""
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", TOKEN)
    cfg = tmp_path / "pm.toml"
    cfg.write_text(f'[pagerduty]\nbase_url = "{pd.base_url}"\nmax_retries = 0\n', encoding="utf-8")
    result = run("doctor", "--config", str(cfg))
    assert result.exit_code == 1
    assert rows(result.stdout)["pagerduty"] == (
        "FAIL",
        (
            f"the TLS certificate of {pd.base_url} was not trusted; "
            "behind a TLS-inspecting proxy, set ca_bundle in [pagerduty] "
            "to its CA (PEM)"
        ),
    )


def test_doctor_fails_a_cloudwatch_without_alarm_history(
    moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain moto (DescribeAlarms but no DescribeAlarmHistory) fails doctor, exit 1, with the fix."""
    import logging

    from moto.cloudwatch.responses import CloudWatchResponse

    monkeypatch.delattr(CloudWatchResponse, "describe_alarm_history")
    monkeypatch.setattr(logging.getLogger("werkzeug"), "disabled", True)
    cfg = write_config(tmp_path / "pm.toml", moto=moto)
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace(
            "[cloudwatch]\n", "[cloudwatch]\nmax_attempts = 1\n"
        ),
        encoding="utf-8",
    )
    result = run("doctor", "--config", str(cfg))
    assert result.exit_code == 1, result.output
    status, detail = rows(result.stdout)["cloudwatch us-east-1"]
    assert status == "FAIL"
    assert detail.startswith(
        f"DescribeAlarms answered but DescribeAlarmHistory in us-east-1 at {moto.endpoint_url} "
        "failed: 500: "
    )
    assert detail.endswith(
        "every draft reads alarm history with it, so point endpoint_url at a CloudWatch that "
        "serves it (a plain moto server does not; pmdraft's sandbox does) or remove endpoint_url "
        "to use AWS"
    )
    assert "Everything configured works" not in result.stdout
