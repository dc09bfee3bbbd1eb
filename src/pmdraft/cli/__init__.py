"""The command line: the only package that prints, reads the environment or exits.

Exit codes: 0 the draft is complete, 1 an error (nothing written), 2 a usage error,
3 the draft was written but a source is missing (see its "Data gaps" note).

The package:

  __init__.py  the ``pmdraft`` group and ``main`` (the console script)
  options.py   parameter types (TIME, ZONE), shared options, logging set-up
  common.py    config file, window, running a command, progress, collecting a draft
  write.py     stdout or an atomic file, the living-draft merge, graphs beside a draft
  draft.py     draft, timeline, demo
  batch.py     batch
  info.py      sources, doctor, template, publish
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

import click

from ..heap import ends_with_command
from . import batch, draft, info
from .common import EXIT_PARTIAL, format_progress
from .options import EXAMPLE, TIME, ZONE, setup_logging

__all__ = [
    "EXAMPLE",
    "EXIT_PARTIAL",
    "TIME",
    "ZONE",
    "cli",
    "format_progress",
    "main",
    "setup_logging",
]


class _Commands(click.Group):
    """pmdraft's commands, ``sandbox`` imported only when it is run or listed: its stand-ins are
    not what a draft needs, and importing them at start-up put 9 ms before a draft's first
    request."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), "sandbox"})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "sandbox":
            from ..sandbox.serve import sandbox_group

            return sandbox_group
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pmdraft")
@click.option("-v", "--verbose", is_flag=True, help="Log what each source does (stderr).")
def cli(verbose: bool) -> None:
    """Reconstruct an incident from CloudWatch, PagerDuty and deploy logs and draft its postmortem.

    \b
    Example:
      export PAGERDUTY_API_TOKEN=...   # never on the command line
      pmdraft draft --since 2024-01-15T14:00:00Z --until 2024-01-15T15:30:00Z -o postmortem.md
    """
    setup_logging(verbose)


for _command in (
    draft.draft,
    draft.timeline,
    draft.demo,
    info.template_command,
    batch.batch,
    info.publish,
    info.sources,
    info.doctor,
):
    cli.add_command(_command)


def main() -> NoReturn:
    """Console-script entry point (and ``python -m pmdraft.cli``).

    Once the command has ended, the process shuts down as the interpreter would (other threads
    joined, exit handlers run, stdout and stderr flushed) and then leaves without freeing its
    heap object by object: after a busy month that took about 0.2 s, for memory the system
    takes back whole. An unexpected crash still ends the usual way, with its traceback.
    """
    ends_with_command()
    try:
        cli(prog_name="pmdraft")
    except SystemExit as exc:
        _leave(exc.code)
    _leave(0)


def _leave(code: object) -> NoReturn:
    """Exit with ``code`` as ``sys.exit`` would, skipping only the interpreter's teardown."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    shutdown = getattr(threading, "_shutdown", None)  # what the interpreter's exit does first
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (``| head``): nothing more can be said
            status = status or 1
    os._exit(status)
