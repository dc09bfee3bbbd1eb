"""The PagerDuty token never leaves the environment: not in stdout, stderr, logs or any file."""

from __future__ import annotations

import logging
import secrets
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pmdraft.cli import cli
from pmdraft.sandbox import scenario
from pmdraft.sandbox.pagerduty import PagerDutyStandIn

SINCE, UNTIL = "2024-01-15T14:00:00Z", "2024-01-15T15:30:00Z"
# Letters only after the marker, so its tail cannot turn up by chance in hex ids or times.
LEAK = "pmdraft-LEAKCHECK-" + "".join(secrets.choice(string.ascii_letters) for _ in range(12))
AWS_LEAK = "awsLEAKCHECK" + "".join(secrets.choice(string.ascii_letters) for _ in range(12))
NEEDLES = (LEAK, LEAK[-6:], "*" + LEAK[-4:], AWS_LEAK, AWS_LEAK[-6:])


@pytest.fixture
def standin() -> Iterator[PagerDutyStandIn]:
    """The PagerDuty stand-in accepting only the leak-check token."""
    with PagerDutyStandIn(LEAK) as server:
        yield server


@pytest.fixture
def seeded(
    moto,
    standin: PagerDutyStandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> Path:
    """The demo incident in moto and the stand-in, the token in PAGERDUTY_API_TOKEN, logs at DEBUG."""
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", LEAK)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_LEAK)
    caplog.set_level(logging.DEBUG)
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "out").mkdir()
    return scenario.seed(moto, standin, work, token_env="PAGERDUTY_API_TOKEN")


def everything_seen(result: Result, caplog: pytest.LogCaptureFixture, root: Path) -> dict[str, str]:
    """stdout, stderr, every log record (with tracebacks) and every file under ``root``, by name."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    seen = {
        "stdout": result.stdout,
        "stderr": result.stderr,
        "logs": "\n".join(handler.format(r) for r in caplog.records),
    }
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        seen["exception"] = repr(result.exception)
    for path in root.rglob("*"):
        if path.is_file():
            seen[str(path)] = path.read_bytes().decode("utf-8", "replace")
    return seen


def assert_no_leak(seen: dict[str, str]) -> None:
    for where, text in seen.items():
        for needle in NEEDLES:
            assert needle not in text, f"{needle!r} leaked into {where}"


RUNS = {
    "draft markdown to stdout": ["draft", "--format", "markdown"],
    "draft markdown to a file": ["draft", "-o", "out/pm.md"],
    "draft json to stdout": ["draft", "--format", "json"],
    "draft json to a file": ["draft", "--format", "json", "-o", "out/pm.json"],
    "draft html to a file": [
        "draft",
        "--format",
        "html",
        "--tz",
        "Europe/Berlin",
        "-o",
        "out/pm.html",
    ],
    "draft of an incident": ["draft", "--incident", "1234"],
    "timeline table": ["timeline", "--format", "table"],
    "timeline csv to a file": ["timeline", "--format", "csv", "-o", "out/tl.csv"],
    "timeline json": ["timeline", "--format", "json"],
}


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
@pytest.mark.parametrize("args", RUNS.values(), ids=RUNS.keys())
def test_no_command_shows_the_token(
    seeded: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, args: list[str], verbose: bool
) -> None:
    """Each command's output, messages, logs and files hold neither the token nor its tail."""
    argv = (["-v"] if verbose else []) + [
        args[0],
        "--since",
        SINCE,
        "--until",
        UNTIL,
        "--config",
        str(seeded),
        *args[1:],
    ]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, result.output
    seen = everything_seen(result, caplog, tmp_path)
    assert "14:32" in result.stdout + "".join(
        v for k, v in seen.items() if k.endswith(("pm.md", "pm.json", "pm.html", "tl.csv"))
    )
    assert_no_leak(seen)


def test_a_wrong_token_is_explained_without_showing_it(
    seeded: Path,
    tmp_path: Path,
    standin: PagerDutyStandIn,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A token PagerDuty refuses (401) becomes a named gap that shows neither that token nor its tail."""
    wrong = LEAK[:-6] + "WRONGx"
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", wrong)
    out = tmp_path / "out" / "pm.md"
    result = CliRunner().invoke(
        cli,
        [
            "-v",
            "draft",
            "--since",
            SINCE,
            "--until",
            UNTIL,
            "--config",
            str(seeded),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 3, result.output
    assert (
        "pmdraft: data gap: pagerduty failed: GET /incidents was refused (401 Unauthorized)"
        in result.stderr
    )
    assert "was refused (401 Unauthorized): the API token is invalid" in out.read_text(
        encoding="utf-8"
    )
    seen = everything_seen(result, caplog, tmp_path)
    assert_no_leak(seen)
    for where, text in seen.items():
        for needle in (wrong, wrong[-6:], "*" + wrong[-4:]):
            assert needle not in text, f"the refused token leaked into {where}"


def test_a_failing_source_does_not_show_the_token(
    seeded: Path, tmp_path: Path, standin: PagerDutyStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """A PagerDuty that keeps answering 500 is a gap; its message and the verbose log hold no token."""
    standin.inject("/log_entries", 500, times=20)
    text = seeded.read_text(encoding="utf-8").replace(
        "[pagerduty]\n", "[pagerduty]\nmax_retries = 1\nmax_retry_wait_seconds = 0.1\n"
    )
    seeded.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "-v",
            "draft",
            "--since",
            SINCE,
            "--until",
            UNTIL,
            "--config",
            str(seeded),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 3, result.output
    assert "pmdraft: data gap: pagerduty failed: GET /log_entries failed: 500" in result.stderr
    assert_no_leak(everything_seen(result, caplog, tmp_path))


def test_an_error_body_echoing_the_token_is_scrubbed(
    seeded: Path, tmp_path: Path, standin: PagerDutyStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """A proxy error page that echoes the Authorization header shows "[token]" in the gap, never the token."""
    standin.inject(
        "/incidents",
        502,
        times=20,
        body=f"Bad gateway. Request headers: Authorization: Token token={LEAK}",
    )
    text = seeded.read_text(encoding="utf-8").replace(
        "[pagerduty]\n", "[pagerduty]\nmax_retries = 0\n"
    )
    seeded.write_text(text, encoding="utf-8")
    out = tmp_path / "out" / "pm.md"
    result = CliRunner().invoke(
        cli,
        [
            "-v",
            "draft",
            "--since",
            SINCE,
            "--until",
            UNTIL,
            "--config",
            str(seeded),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 3, result.output
    assert (
        "GET /incidents failed: 502 after 1 attempts: Bad gateway. Request headers: "
        "Authorization: Token token=[token]"
    ) in out.read_text(encoding="utf-8")
    assert_no_leak(everything_seen(result, caplog, tmp_path))


def test_an_error_body_cut_inside_the_token_shows_none_of_it(
    seeded: Path, tmp_path: Path, standin: PagerDutyStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """When the quoted error body is cut short in the middle of an echoed token, its first part is hidden too."""
    prefix = "x" * (200 - 10)
    standin.inject("/incidents", 503, times=20, body=prefix + LEAK)
    text = seeded.read_text(encoding="utf-8").replace(
        "[pagerduty]\n", "[pagerduty]\nmax_retries = 0\n"
    )
    seeded.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["draft", "--since", SINCE, "--until", UNTIL, "--config", str(seeded), "--format", "json"],
    )
    assert result.exit_code == 3, result.output
    assert f"GET /incidents failed: 503 after 1 attempts: {prefix}[token]" in result.stdout
    assert LEAK[:10] not in result.output
    assert_no_leak(everything_seen(result, caplog, tmp_path))


def test_every_library_logger_at_debug_shows_no_token(
    seeded: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With pagerduty, httpx2, botocore and urllib3 all logging at DEBUG, no record holds the token."""
    import os

    from pmdraft.config import load_config
    from pmdraft.draft import make_draft
    from pmdraft.render import render_json, render_markdown
    from pmdraft.sandbox.scenario import WINDOW

    for name in ("pagerduty", "httpx2", "httpcore2", "botocore", "urllib3", "boto3", "pmdraft"):
        caplog.set_level(logging.DEBUG, logger=name)
    result = make_draft(load_config(seeded), WINDOW, dict(os.environ))
    text = render_markdown(result) + render_json(result)
    assert "| 14:35:10 | PagerDuty #1234 acknowledged by Jane Doe" in text
    for name in ("botocore", "pagerduty", "httpcore2"):
        assert any(r.name.startswith(name) for r in caplog.records), (
            f"{name}'s debug log was captured"
        )
    handler = logging.StreamHandler()
    assert_no_leak({"draft": text, "logs": "\n".join(handler.format(r) for r in caplog.records)})


def test_demo_shows_no_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pmdraft -v demo` with a token in the environment writes and prints none of it."""
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", LEAK)
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "demo" / "demo.md"
    out.parent.mkdir()
    result = CliRunner().invoke(cli, ["-v", "demo", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "the incident lasted 25 minutes" in out.read_text(encoding="utf-8")
    assert_no_leak(everything_seen(result, caplog, tmp_path))


SHAPED = "u+Lk" + "".join(
    secrets.choice(string.ascii_letters) for _ in range(16)
)  # a PagerDuty key's shape


def run_with_config(tmp_path: Path, text: str) -> tuple[Result, Path, Path]:
    cfg = tmp_path / "pm.toml"
    cfg.write_text(text, encoding="utf-8")
    out = tmp_path / "out" / "pm.md"
    result = CliRunner().invoke(
        cli, ["draft", "--since", SINCE, "--until", UNTIL, "--config", str(cfg), "-o", str(out)]
    )
    return result, cfg, out


ADVICE = "do not put the token in the config file; export PAGERDUTY_API_TOKEN (or the variable named by token_env)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            f'[pagerduty]\ntoken = "{LEAK}"\n',
            f"[pagerduty]: key 'token' looks like a credential: {ADVICE}; remove 'token' from the file",
        ),
        (
            f'[pagerduty]\ntoken_env = "PD_READONLY"\napi_key = "{LEAK}"\n',
            (
                "[pagerduty]: key 'api_key' looks like a credential: do not put the token in the config file; "
                "export PD_READONLY (or the variable named by token_env); remove 'api_key' from the file"
            ),
        ),
        (
            f'pagerduty_token = "{LEAK}"\n[[deploys]]\npath = "d.jsonl"\n',
            f"key 'pagerduty_token' looks like a credential: {ADVICE}; remove 'pagerduty_token' from the file",
        ),
        (
            f'[pagerduty]\nrest = "{SHAPED}"\n',
            f"[pagerduty]: key 'rest' looks like a credential: {ADVICE}; remove 'rest' from the file",
        ),
        (
            f'[pagerduty]\ntoken_env = "{SHAPED}"\n',
            (
                "[pagerduty] key 'token_env' must be the name of the environment variable that holds the token, like "
                'token_env = "PAGERDUTY_API_TOKEN"; its value is not such a name (not shown, in case it is the token): '
                f"{ADVICE}"
            ),
        ),
        (
            f'[pagerduty]\nservice_ids = "{SHAPED}"\n',
            (
                "[pagerduty]: key 'service_ids' must be a list of strings, got a value shaped like a token (not shown); "
                'for example: service_ids = ["PABC123"]'
            ),
        ),
        (
            f'[cloudwatch]\naws_secret_access_key = "{LEAK}"\n',
            (
                "[cloudwatch]: key 'aws_secret_access_key' looks like a credential: do not put AWS credentials in the "
                "config file; boto3 reads them from the environment, a named profile (profile = ...) or a role; "
                "remove 'aws_secret_access_key' from the file"
            ),
        ),
    ],
    ids=[
        "token",
        "api_key-with-token_env",
        "top-level",
        "token-shaped-value",
        "token-in-token_env",
        "token-as-wrong-type",
        "aws-secret",
    ],
)
def test_a_token_in_the_config_is_refused_without_repeating_it(
    tmp_path: Path, text: str, message: str
) -> None:
    """A credential in the config file stops the run, says where the token belongs, and never shows it."""
    result, cfg, out = run_with_config(tmp_path, text)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {cfg}: {message}\n"
    assert not out.exists()
    for secret in (LEAK, LEAK[-6:], SHAPED, SHAPED[-6:]):
        assert secret not in result.output


def test_a_token_shaped_value_in_a_known_key_is_a_warning(
    seeded: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A value shaped like a PagerDuty key warns on stderr, pointing at the variable, and the draft still comes."""
    text = seeded.read_text(encoding="utf-8").replace(
        'service_ids = ["PSVC001"]', f'service_ids = ["PSVC001", "{SHAPED}"]'
    )
    seeded.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["draft", "--since", SINCE, "--until", UNTIL, "--config", str(seeded)]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"pmdraft: warning: {seeded}: [pagerduty] key 'service_ids' holds a value shaped like a PagerDuty API token "
        "(not shown); if it is one, do not put the token in the config file; export PAGERDUTY_API_TOKEN "
        "(or the variable named by token_env), and remove it from the file\n"
        "pmdraft: slack is not configured, so it was not read\n"
    )
    assert "| 14:35:10 | PagerDuty #1234 acknowledged by Jane Doe" in result.stdout
    assert SHAPED not in result.output and SHAPED[-6:] not in result.output


def test_ordinary_values_raise_no_token_warning() -> None:
    """Region names, service ids, alarm prefixes and variable names are not mistaken for tokens."""
    from pmdraft.config import parse_config

    config = parse_config(
        '[cloudwatch]\nregions = ["us-east-1"]\nalarm_prefixes = ["HighErrorRate", "api-latency-p99-prod"]\n'
        '[pagerduty]\ntoken_env = "PAGERDUTY_API_TOKEN_READONLY"\nservice_ids = ["PABC123", "P1Q2R3S"]\n'
    )
    assert config.warnings == ()


COMMANDS = ("draft", "timeline", "demo", "batch", "doctor", "sources", "template")


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_of_every_command_shows_no_token(
    command: str | None,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`pmdraft [COMMAND] --help` with the token in the environment prints none of it."""
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", LEAK)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_LEAK)
    result = CliRunner().invoke(cli, [*([command] if command else []), "--help"])
    assert result.exit_code == 0 and "Usage: " in result.stdout
    assert_no_leak(everything_seen(result, caplog, tmp_path))


OTHER_RUNS = {
    "doctor": ["doctor"],
    "sources": ["sources"],
    "template --dump": ["template", "--dump", "-o", "out/t.md.j2"],
    "batch": ["batch", "--since", "2024-01-15T00:00:00Z", "-o", "out/batch"],
    "batch --dry-run": ["batch", "--dry-run", "--since", "2024-01-15T00:00:00Z"],
    "batch --annotate": ["batch", "--annotate", "--since", "2024-01-15T00:00:00Z", "-o", "out/b2"],
}


@pytest.mark.parametrize("args", OTHER_RUNS.values(), ids=OTHER_RUNS.keys())
def test_every_other_command_shows_no_token(
    seeded: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, args: list[str]
) -> None:
    """doctor, sources, template --dump and batch (plain, --dry-run, --annotate), each with -v
    after the subcommand, write and print neither token."""
    config = [] if args[0] == "template" else ["--config", str(seeded)]
    if args[0] == "batch":
        text = seeded.read_text(encoding="utf-8")
        seeded.write_text(text + '\n[batch]\nannotate_from = "bot@example.com"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, [*args, *config, "-v"])
    assert result.exit_code in (0, 3), result.output
    assert result.output.strip(), "the command said something"
    assert_no_leak(everything_seen(result, caplog, tmp_path))


def test_doctor_hides_a_token_an_error_page_echoes(
    seeded: Path, tmp_path: Path, standin: PagerDutyStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """A proxy error page echoing the Authorization header shows "[token]" in doctor's table."""
    standin.inject(
        "/incidents", 502, times=5, body=f"Bad gateway. Authorization: Token token={LEAK}"
    )
    text = seeded.read_text(encoding="utf-8").replace(
        "[pagerduty]\n", "[pagerduty]\nmax_retries = 0\n"
    )
    seeded.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["doctor", "--config", str(seeded)])
    assert result.exit_code == 1, result.output
    assert "Authorization: Token token=[token]" in result.stdout
    assert_no_leak(everything_seen(result, caplog, tmp_path))


def test_doctor_hides_every_variable_a_config_key_names(tmp_path: Path) -> None:
    """doctor's printer hides the values of the variables any ``*_env`` key names (a github
    deploy source's own token_env, Confluence's), a cut-off start of one too, with the scrubber
    the sources' messages use."""
    from pmdraft.cli.info import _scrubber

    config = tmp_path / "pm.toml"
    config.write_text(
        '[[deploys]]\ntype = "github"\nrepos = ["acme/api"]\ntoken_env = "ACME_GH_TOKEN"\n'
        '[confluence]\ntoken_env = "WIKI_TOKEN"\n',
        encoding="utf-8",
    )
    scrub = _scrubber({"ACME_GH_TOKEN": LEAK, "WIKI_TOKEN": AWS_LEAK}, config)
    assert scrub(f"echo: {LEAK} and {AWS_LEAK}") == "echo: [token] and [token]"
    assert scrub(f"cut: {LEAK[:9]}") == "cut: [token]"
