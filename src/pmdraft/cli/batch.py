"""``pmdraft batch``: draft each incident resolved since the last run, once; meant for cron."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import click

from .common import load_config, run, user_template
from .options import TIME, config_option, verbose_option
from .write import report_kept

EXIT_INTERRUPTED = 130
"""``batch`` stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report Ctrl-C)."""


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM raises ``KeyboardInterrupt`` like SIGINT does, inside the block (main thread)."""
    import signal

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted() -> None:
    """Say what an interrupted batch left behind, and exit 130 without waiting for the
    collectors' threads to finish their requests."""
    click.echo(
        "pmdraft: batch interrupted: no incident is left claimed (the next run drafts it); "
        "no draft was half-written",
        err=True,
    )
    sys.stdout.flush()
    sys.stderr.flush()
    import threading

    main = threading.main_thread()
    # sys.exit would wait for a collector thread still inside a request; os._exit does not.
    if any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate()):
        os._exit(EXIT_INTERRUPTED)
    sys.exit(EXIT_INTERRUPTED)


def _say(outcome: Any, log_json: bool) -> None:
    """Report one incident's outcome: a JSON line on stderr, or the draft's location on stdout
    and any problem on stderr."""
    import json

    if log_json:
        click.echo(json.dumps(outcome.as_json(), sort_keys=True), err=True)
        return
    label = f"#{outcome.number}" if outcome.number is not None else outcome.incident_id
    if outcome.status == "would_draft":
        click.echo(f"would draft {label} ({outcome.reason}): {outcome.title}")
    elif outcome.status in ("drafted", "partial"):
        click.echo(outcome.location)
        if outcome.status == "partial":
            click.echo(
                f"pmdraft: {label} drafted with a data gap (retried next run): {outcome.error}",
                err=True,
            )
    elif outcome.status == "failed":
        click.echo(
            f"pmdraft: {label} failed (attempt {outcome.attempts}): {outcome.error}", err=True
        )
    if outcome.proposal:
        report_kept(outcome.location, outcome.kept, outcome.proposal)


def _summarise(result: Any, log_json: bool) -> None:
    """The run's summary on stderr (one JSON line with ``log_json``), after any note not added."""
    import json

    for error in result.annotate_errors:
        if not log_json:
            click.echo(f"pmdraft: note not added: {error}", err=True)
    if log_json:
        click.echo(
            json.dumps(
                {
                    "event": "summary",
                    "summary": result.summary(),
                    "counts": result.counts,
                    "annotate_errors": result.annotate_errors,
                    "exit_code": result.exit_code,
                },
                sort_keys=True,
            ),
            err=True,
        )
    else:
        click.echo(result.summary(), err=True)


@click.command()
@verbose_option
@config_option
@click.option(
    "--since",
    type=TIME,
    help="Backfill: incidents resolved since this time, instead of since the last run.",
)
@click.option(
    "-o", "--output", help="A directory or s3://bucket/prefix/ (default: [batch] output)."
)
@click.option(
    "--dry-run", is_flag=True, help="List what would be drafted; write nothing, change no state."
)
@click.option(
    "--annotate",
    is_flag=True,
    help="Add a note with the draft's location to each PagerDuty incident, once.",
)
@click.option(
    "--log-json",
    is_flag=True,
    help="One JSON line per incident and one for the summary, on stderr.",
)
def batch(
    config_path: str | None,
    since: datetime | None,
    output: str | None,
    dry_run: bool,
    annotate: bool,
    log_json: bool,
) -> None:
    """Draft each PagerDuty incident resolved since the last run, once; meant for cron.

    Incidents are filtered by [batch] priorities, urgencies, service_ids and team_ids; each is
    drafted as `pmdraft draft --incident` would, to <number>-<slug>.md in the output. A draft that
    exists is refreshed (only its pmdraft blocks; edited blocks are kept and the new version is
    proposed beside it). Exit 0 all drafted, 3 some partial (retried next run), 1 a failure.

    \b
    Example:
      pmdraft batch --config pmdraft.toml                  # hourly from cron
      pmdraft batch --dry-run                              # what would be drafted
      pmdraft batch --since 2024-01-01T00:00:00Z -o s3://my-bucket/postmortems/
    """
    import socket

    def body() -> int:
        from ..batch import Batch, open_sink, open_state
        from ..render import render_markdown

        config = load_config(config_path)
        template, _ = user_template("markdown", None, config_path, config)
        state = open_state(config, read_only=dry_run)
        try:
            job = Batch(
                config,
                dict(os.environ),
                state=state,
                sink=open_sink(config, output, os.environ),
                render=lambda d: render_markdown(d, template=template),
                runner=f"{socket.gethostname()}:{os.getpid()}",
                on_outcome=lambda outcome: _say(outcome, log_json),
            )
            with _signals_interrupt():
                result = job.run(datetime.now(UTC), since=since, dry_run=dry_run, annotate=annotate)
        except KeyboardInterrupt:
            state.close()
            _interrupted()
        finally:
            state.close()
        _summarise(result, log_json)
        return result.exit_code

    run(body)
