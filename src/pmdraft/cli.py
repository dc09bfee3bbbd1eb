"""The command line: the only module that prints, reads the environment or exits.

Exit codes: 0 the draft is complete, 1 an error (nothing written), 2 a usage error,
3 the draft was written but a source is missing (see its "Data gaps" note).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from .errors import PmdraftError

EXIT_PARTIAL = 3
EXAMPLE = "2024-01-15T14:32:00Z"


class AwareTime(click.ParamType):
    """An ISO 8601 time with an offset or ``Z``; a naive time is refused with an example."""

    name = "TIME"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time; write it like {EXAMPLE}", param, ctx)
        if parsed.tzinfo is None:
            self.fail(
                f"{value!r} has no UTC offset, so its instant is unknown; add Z or an offset, "
                f"like {EXAMPLE} or 2024-01-15T15:32:00+01:00",
                param,
                ctx,
            )
        from .model import UTC

        return parsed.astimezone(UTC)


TIME = AwareTime()


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: never a half file."""
    path = path.expanduser()
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _config_path(option: str | None) -> Path:
    if option:
        return Path(option)
    if os.environ.get("PMDRAFT_CONFIG"):
        return Path(os.environ["PMDRAFT_CONFIG"])
    if Path("pmdraft.toml").exists():
        return Path("pmdraft.toml")
    raise click.UsageError(
        "no config file: pass --config FILE, set PMDRAFT_CONFIG, or create ./pmdraft.toml "
        "(start from config.example.toml)"
    )


def _window(since: datetime, until: datetime) -> Any:
    from .model import Window

    if until <= since:
        raise click.BadParameter(
            f"--until ({until.isoformat()}) must be after --since ({since.isoformat()})", param_hint="'--until'"
        )
    return Window(since, until)


def _report_sources(draft: Any) -> None:
    for r in draft.reports:
        if r.status == "failed":
            click.echo(f"pmdraft: data gap: {r.name} failed: {r.error}", err=True)
        elif r.status == "not_configured":
            click.echo(f"pmdraft: {r.name} is not configured, so it was not read", err=True)


def _run(func: Callable[[], int]) -> None:
    try:
        code = func()
    except PmdraftError as exc:
        raise click.ClickException(str(exc)) from exc
    if code:
        sys.exit(code)


def _output(text: str, output: str | None) -> None:
    if output and output != "-":
        write_atomic(Path(output), text)
        click.echo(f"pmdraft: wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


time_options = [
    click.option("--since", type=TIME, required=True, help=f"Window start, ISO 8601 with offset ({EXAMPLE})."),
    click.option("--until", type=TIME, required=True, help="Window end (exclusive), ISO 8601 with offset."),
    click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Config file (TOML); else $PMDRAFT_CONFIG or ./pmdraft.toml."),
    click.option("--strict", is_flag=True, help="Fail (exit 1, nothing written) if any source fails."),
]


def _with(options: list[Callable[..., Any]]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def _draft(since: datetime, until: datetime, config_path: str | None, overrides: dict[str, datetime]) -> Any:
    from .config import load_config
    from .draft import make_draft

    window = _window(since, until)
    config = load_config(_config_path(config_path))
    return make_draft(config, window, dict(os.environ), overrides=overrides)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pmdraft")
@click.option("-v", "--verbose", is_flag=True, help="Log what each source does (stderr).")
def cli(verbose: bool) -> None:
    """Reconstruct an incident from CloudWatch, PagerDuty and deploy logs and draft its postmortem.

    \b
    Example:
      export PAGERDUTY_API_TOKEN=...   # never on the command line
      pmdraft draft --since 2024-01-15T14:00:00Z --until 2024-01-15T15:30:00Z -o postmortem.md
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="pmdraft: %(levelname)s: %(message)s")
    for noisy in ("botocore", "urllib3", "httpx2", "httpcore", "pagerduty"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@cli.command()
@_with(time_options)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the draft here (atomically); default stdout.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True)
@click.option("--impact-start", type=TIME, help="Set impact_started by hand (overrides the alarm-based rule).")
@click.option("--mitigated-at", type=TIME, help="Set mitigated by hand.")
@click.option("--resolved-at", type=TIME, help="Set resolved by hand.")
def draft(since: datetime, until: datetime, config_path: str | None, strict: bool, output: str | None,
          fmt: str, impact_start: datetime | None, mitigated_at: datetime | None, resolved_at: datetime | None) -> None:
    """Draft the postmortem for a time window.

    \b
    Example:
      pmdraft draft --since 2024-01-15T14:00:00Z --until 2024-01-15T15:30:00Z \\
        --config pmdraft.toml -o postmortem.md
    Exit 3 means the draft was written but a source failed (see "Data gaps").
    """
    overrides = {k: v for k, v in (("impact_started", impact_start), ("mitigated", mitigated_at), ("resolved", resolved_at)) if v}

    def run() -> int:
        from .render import render_json, render_markdown

        result = _draft(since, until, config_path, overrides)
        _report_sources(result)
        if strict and result.gaps:
            raise click.ClickException("--strict: a source failed, so no draft was written")
        _output(render_json(result) if fmt == "json" else render_markdown(result), output)
        return EXIT_PARTIAL if result.gaps else 0

    _run(run)


@cli.command()
@_with(time_options)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here (atomically); default stdout.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def timeline(since: datetime, until: datetime, config_path: str | None, strict: bool, output: str | None, fmt: str) -> None:
    """Print the merged UTC timeline of every event in a window.

    \b
    Example:
      pmdraft timeline --since 2024-01-15T14:00:00Z --until 2024-01-15T15:30:00Z --format csv
    """

    def run() -> int:
        from .render import render_timeline

        result = _draft(since, until, config_path, {})
        _report_sources(result)
        if strict and result.gaps:
            raise click.ClickException("--strict: a source failed, so nothing was written")
        _output(render_timeline(result, fmt), output)
        return EXIT_PARTIAL if result.gaps else 0

    _run(run)


@cli.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="pmdraft-demo.md", show_default=True,
              help="Where to write the demo draft; its JSON goes next to it (.json).")
def demo(output: str) -> None:
    """Run the real collectors against local stand-ins seeded with the template's worked example.

    Needs no credentials: moto's server stands in for CloudWatch and an HTTPS stand-in for
    PagerDuty, both on 127.0.0.1.

    \b
    Example:
      pmdraft demo -o /tmp/demo.md
    """

    def run() -> int:
        try:
            from .sandbox import Sandbox
        except ImportError as exc:
            raise click.ClickException(
                f"the demo needs the sandbox extra ({exc.name} is missing): pip install 'pmdraft[demo]'"
            ) from exc
        from .config import load_config
        from .draft import make_draft
        from .render import render_json, render_markdown
        from .sandbox.scenario import WINDOW

        # The sandbox's fake AWS identity, so no real credentials are ever sent to it.
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            os.environ.pop(key, None)
        os.environ["AWS_ACCESS_KEY_ID"] = "sandbox"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "sandbox"
        with Sandbox() as sandbox:
            config = load_config(sandbox.seed_demo())
            result = make_draft(config, WINDOW, sandbox.environ)
        _report_sources(result)
        md = Path(output)
        write_atomic(md, render_markdown(result))
        write_atomic(md.with_suffix(".json"), render_json(result))
        click.echo(str(md))
        click.echo(str(md.with_suffix(".json")))
        return EXIT_PARTIAL if result.gaps else 0

    _run(run)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="pmdraft")


if __name__ == "__main__":
    main()
