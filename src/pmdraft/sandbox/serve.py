"""``pmdraft sandbox serve``: the local stand-ins seeded from the user's own scenario file.

The library side is :func:`serving` (start moto, the HTTPS PagerDuty stand-in and the Slack
stand-in on 127.0.0.1, seed them from a checked :class:`~.custom.Scenario`, write the config
that points at them) and :func:`wait`; :data:`sandbox_group` is the click group the CLI
registers, whose ``serve`` command is a thin layer over both. The scenario is read and checked
before anything starts, so a bad file starts nothing.

    python -m pmdraft.sandbox.serve serve --scenario examples/scenario.json
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ..errors import PmdraftError
from ..model import iso_z
from . import SANDBOX_SLACK_TOKEN_ENV, SANDBOX_TOKEN_ENV
from .custom import Scenario, read_scenario

UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
"""AWS variables that would make boto3 use the caller's identity instead of the sandbox's."""
SANDBOX_MODULES = ("moto", "flask", "trustme")
"""What the stand-ins import beyond pmdraft's own dependencies (the ``demo`` extra)."""


@dataclass(frozen=True)
class Served:
    """A running sandbox: where its config is, what to export, where each stand-in listens."""

    scenario: Scenario
    config: Path
    environ: dict[str, str]
    """Variables to export: the sandbox's made-up tokens and AWS identity, and PMDRAFT_CONFIG."""
    endpoints: dict[str, str]
    window: tuple[datetime, datetime]
    """A window around the story, for the suggested ``pmdraft draft`` command."""

    def announcement(self) -> str:
        """What ``serve`` prints: endpoints, the config (TOML), the exports, a command to try."""
        since, until = (iso_z(t) for t in self.window)
        lines = [f"# pmdraft sandbox: {self.scenario.path}, served on 127.0.0.1 until Ctrl-C"]
        lines += [f"#   {name:<18} {url}" for name, url in self.endpoints.items()]
        lines += ["#", f"# The config, written to {self.config}:"]
        lines += self.config.read_text(encoding="utf-8").rstrip("\n").splitlines()
        lines += [
            "",
            "# Export these where you run pmdraft (tokens made up for this sandbox, never yours):",
            f"unset {' '.join(UNSET)}",
        ]
        lines += [f"export {name}={value}" for name, value in self.environ.items()]
        lines += [
            "# Then draft your incident:",
            f"#   pmdraft draft --since {since} --until {until} -o postmortem.md",
        ]
        return "\n".join(lines)

    def record(self) -> dict[str, Any]:
        """What ``--port-file`` holds (JSON): the same facts for a script or CI job."""
        return {
            "config": str(self.config),
            "environment": dict(self.environ),
            "unset": list(UNSET),
            "endpoints": dict(self.endpoints),
            "window": {"since": iso_z(self.window[0]), "until": iso_z(self.window[1])},
        }


@contextlib.contextmanager
def serving(scenario: Scenario) -> Iterator[Served]:
    """Start the stand-ins, seed ``scenario`` into them, and stop them all on leaving."""
    from . import Sandbox
    from .custom_seed import seed

    with Sandbox() as sandbox:
        config = seed(
            sandbox, scenario, token_env=SANDBOX_TOKEN_ENV, slack_token_env=SANDBOX_SLACK_TOKEN_ENV
        )
        environ = {
            "AWS_ACCESS_KEY_ID": "sandbox",
            "AWS_SECRET_ACCESS_KEY": "sandbox",
            **sandbox.environ,
            "PMDRAFT_CONFIG": str(config),
        }
        endpoints = {
            "CloudWatch (moto)": sandbox.moto.endpoint_url,
            "PagerDuty (HTTPS)": sandbox.pagerduty.base_url,
            "Slack": sandbox.slack.base_url,
        }
        yield Served(scenario, config, environ, endpoints, scenario.window())


def wait(seconds: float | None, stop: threading.Event | None = None) -> str:
    """Block until ``seconds`` pass, ``stop`` is set, Ctrl-C, or SIGTERM; say which.

    SIGTERM is caught only when called from the main thread (where Python allows a handler),
    and the previous handler is put back.
    """
    stop = stop or threading.Event()
    previous: Any = None
    main = threading.current_thread() is threading.main_thread()
    if main:
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if stop.wait(seconds):
            return "stopped"
        return f"{seconds:g} s passed"
    except KeyboardInterrupt:
        return "interrupted"
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def _require_extra() -> None:
    import importlib.util

    missing = [name for name in SANDBOX_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise click.ClickException(
            f"pmdraft sandbox serve needs the demo extra ({', '.join(missing)} not installed): "
            "pip install 'pmdraft[demo]'"
        )


def _write_port_file(path: Path, served: Served) -> None:
    from ..output import write_atomic

    write_atomic(path, json.dumps(served.record(), indent=2) + "\n")


sandbox_group = click.Group(
    "sandbox",
    help="""Local stand-ins for CloudWatch, PagerDuty and Slack, seeded from your own story.

    Try pmdraft on an incident you remember, or test your templates in CI, without accounts.

    \b
    Example:
      pmdraft sandbox serve --scenario examples/scenario.json
    """,
)


@sandbox_group.command("serve")
@click.option(
    "--scenario",
    "scenario_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your story: alarms, incidents, deploys, a Slack channel (JSON; YAML when PyYAML is "
    "installed). See docs/sandbox.md.",
)
@click.option(
    "--port-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the config path, exports and endpoints here as JSON once serving "
    "(removed on stop): for scripts and CI.",
)
@click.option(
    "--seconds",
    type=click.FloatRange(min=0),
    help="Stop after this many seconds instead of waiting for Ctrl-C (for tests and CI).",
)
def serve_command(scenario_path: Path, port_file: Path | None, seconds: float | None) -> None:
    """Serve the stand-ins seeded from your scenario and print the config that points at them.

    Every time in the file needs an offset or Z (2024-03-12T09:14:00Z). The tokens printed are
    made up for this sandbox; it listens on 127.0.0.1 only and keeps nothing after it stops.

    \b
    Example:
      pmdraft sandbox serve --scenario examples/scenario.json
      # in another shell, after the printed exports:
      pmdraft draft --since 2024-03-12T08:45:00Z --until 2024-03-12T10:30:00Z -o pm.md
    """
    if port_file is not None and not port_file.expanduser().parent.is_dir():
        raise click.BadParameter(
            f"the folder {port_file.parent} does not exist; create it first",
            param_hint="'--port-file'",
        )
    try:
        scenario = read_scenario(scenario_path)
    except PmdraftError as exc:
        raise click.ClickException(str(exc)) from exc
    _require_extra()
    if port_file is not None:
        port_file.unlink(missing_ok=True)
    try:
        with serving(scenario) as served:
            try:
                if port_file is not None:
                    _write_port_file(port_file, served)
                click.echo(served.announcement())
                click.echo("# serving; Ctrl-C stops", err=True)
                why = wait(seconds)
            finally:
                if port_file is not None:
                    port_file.unlink(missing_ok=True)
    except PmdraftError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"# sandbox stopped ({why})", err=True)


if __name__ == "__main__":
    sandbox_group(prog_name="pmdraft sandbox")
