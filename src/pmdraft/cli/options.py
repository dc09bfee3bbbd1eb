"""The CLI's parameter types, shared options and logging set-up: nothing here reads a source."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

import click

EXAMPLE = "2024-01-15T14:32:00Z"
"""How a time is written on the command line; every time error shows it."""


class AwareTime(click.ParamType[datetime]):
    """An ISO 8601 time with an offset or ``Z``; a naive time is refused with an example."""

    name = "TIME"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        """``value`` as an aware UTC datetime, or a usage error that shows how to write it."""
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
        return parsed.astimezone(UTC)


TIME = AwareTime()


class TimeZoneName(click.ParamType[tzinfo]):
    """An IANA time zone name (``Europe/Berlin``); an unknown name is refused with an example."""

    name = "ZONE"

    def convert(self, value: Any, param: Any, ctx: Any) -> tzinfo:
        """``value`` as a zone, or a usage error naming the closest known zone."""
        if isinstance(value, tzinfo):
            return value
        import difflib
        import zoneinfo

        text = str(value).strip()
        try:
            return zoneinfo.ZoneInfo(text)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            close = difflib.get_close_matches(text, sorted(zoneinfo.available_timezones()), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            self.fail(
                f"{value!r} is not an IANA time zone name{hint}; write it like Europe/Berlin, "
                "America/New_York or UTC",
                param,
                ctx,
            )


ZONE = TimeZoneName()


QUIET_LOGGERS = (
    "botocore",
    "boto3",
    "urllib3",
    "httpx2",
    "httpcore",
    "httpcore2",
    "pagerduty",
    "matplotlib",
    "PIL",
    "werkzeug",
    "moto",
    "flask",
)
"""Third-party loggers held at WARNING whatever -v says (matplotlib's font search, HTTP debug)."""


def setup_logging(verbose: bool) -> None:
    """Log to stderr: pmdraft's own loggers (``pmdraft.*``) at INFO with ``verbose``, else at
    WARNING; every third-party logger at WARNING either way."""
    logging.basicConfig(level=logging.WARNING, format="pmdraft: %(levelname)s: %(message)s")
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("pmdraft").setLevel(logging.INFO if verbose else logging.WARNING)
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _store_verbose(ctx: click.Context, param: Any, value: bool) -> None:
    if value:
        setup_logging(True)


verbose_option = click.option(
    "-v",
    "--verbose",
    is_flag=True,
    expose_value=False,
    callback=_store_verbose,
    help="Log what each source does (requests, events, status) on stderr.",
)


def _store_quiet(ctx: click.Context, param: Any, value: bool) -> None:
    if value:
        ctx.meta["pmdraft.quiet"] = True


quiet_option = click.option(
    "-q",
    "--quiet",
    is_flag=True,
    expose_value=False,
    callback=_store_quiet,
    help="No progress display on stderr (it shows only on a terminal, after a second).",
)

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config file (TOML); else $PMDRAFT_CONFIG or ./pmdraft.toml.",
)
"""``--config`` of every command that needs a config file (``publish`` words its own)."""

time_options = [
    verbose_option,
    quiet_option,
    click.option(
        "--since",
        type=TIME,
        help=f"Window start, ISO 8601 with offset ({EXAMPLE}); with --incident it only widens.",
    ),
    click.option(
        "--until",
        type=TIME,
        help="Window end (exclusive), ISO 8601 with offset; with --incident it only widens.",
    ),
    click.option(
        "--incident",
        "incidents",
        multiple=True,
        metavar="ID",
        help="Start from this PagerDuty incident (number or id; repeatable): the window comes "
        "from it, and its log entries are the PagerDuty scope.",
    ),
    click.option(
        "--slack-channel",
        "slack_channels",
        multiple=True,
        metavar="ID",
        help="Also read this Slack channel (its id, like C0123ABCD; repeatable), besides "
        "[slack] channels; needs SLACK_BOT_TOKEN.",
    ),
    click.option(
        "--service",
        metavar="NAME",
        help="Only this service's incidents (a [[services]] name or the PagerDuty service's "
        "name); the rest of the window is concurrent activity.",
    ),
    config_option,
    click.option(
        "--strict", is_flag=True, help="Fail (exit 1, nothing written) if any source fails."
    ),
]
"""The options of the commands that read a window: ``draft`` and ``timeline``."""


def with_options(
    options: list[Callable[..., Any]],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator applying ``options`` in order, as if each were written above the command."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate
