"""Shared fixtures: a hermetic environment, moto's server, and the PagerDuty stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

import pmdraft
from pmdraft.sandbox import aws
from pmdraft.sandbox.aws import MotoSandbox
from pmdraft.sandbox.pagerduty import PagerDutyStandIn
from tests.standins.dynamodb import atomic_dynamodb_writes

UTC = UTC
TOKEN = "pmdraft-test-token-7f3a9c"
REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
"""Vendored reference data (OpenAPI subset, documented payloads): see tests/data/README.md."""
SRC = str(Path(pmdraft.__file__).resolve().parents[1])
"""The folder this checkout's ``pmdraft`` is imported from."""


def python(
    *args: str, timeout: float = 60, unset: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in a fresh interpreter that imports this checkout's pmdraft (:data:`SRC`
    first on ``PYTHONPATH``), without the environment variables ``unset``; its output as text."""
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env["PYTHONPATH"] = os.pathsep.join([SRC, env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test starts without the caller's tokens, AWS identity or config."""
    for key in (
        "PAGERDUTY_API_TOKEN",
        "SLACK_BOT_TOKEN",
        "CONFLUENCE_USER",
        "CONFLUENCE_API_TOKEN",
        "GITHUB_TOKEN",
        "PMDRAFT_CONFIG",
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoSandbox]:
    atomic_dynamodb_writes()
    with MotoSandbox() as server:
        yield server


@pytest.fixture
def moto(moto_server: MotoSandbox) -> Iterator[MotoSandbox]:
    """moto's server with no alarms and no alarm history."""
    import urllib.request

    urllib.request.urlopen(
        urllib.request.Request(f"{moto_server.endpoint_url}/moto-api/reset", method="POST")
    ).close()
    aws.clear_history()
    yield moto_server
    aws.clear_history()


@pytest.fixture
def pd() -> Iterator[PagerDutyStandIn]:
    """A fresh PagerDuty stand-in that accepts only ``TOKEN``."""
    with PagerDutyStandIn(TOKEN) as server:
        yield server


@pytest.fixture
def demo_config(
    moto: MotoSandbox, pd: PagerDutyStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The stand-ins seeded with the worked example (incident #1234 on api, #1235 on web), and
    the config that reads them (its token in the sandbox's variable)."""
    from pmdraft.sandbox import SANDBOX_TOKEN_ENV, scenario

    monkeypatch.setenv(SANDBOX_TOKEN_ENV, TOKEN)
    return scenario.seed(moto, pd, tmp_path, token_env=SANDBOX_TOKEN_ENV)


def write_config(
    path: Path,
    *,
    moto: MotoSandbox | None = None,
    pd: PagerDutyStandIn | None = None,
    deploys: list[dict] | None = None,
    extra: str = "",
    service_ids: list[str] | None = None,
) -> Path:
    """A config file pointing at the given stand-ins (and a deploy log written beside it)."""
    lines = []
    if moto is not None:
        lines += [
            "[cloudwatch]",
            'regions = ["us-east-1"]',
            f'endpoint_url = "{moto.endpoint_url}"',
            "",
        ]
    if pd is not None:
        lines += [
            "[pagerduty]",
            f'base_url = "{pd.base_url}"',
            f'ca_bundle = "{pd.ca_path}"',
            f"service_ids = {json.dumps(service_ids or [])}",
            "max_retries = 2",
            "max_retry_wait_seconds = 2",
            "",
        ]
    if deploys is not None:
        (path.parent / "deploys.jsonl").write_text(
            "".join(json.dumps(d) + "\n" for d in deploys), encoding="utf-8"
        )
        lines += ["[[deploys]]", 'type = "file"', 'path = "deploys.jsonl"', ""]
    path.write_text("\n".join(lines) + extra, encoding="utf-8")
    return path
