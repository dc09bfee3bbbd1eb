"""Deploy records from files: JSON Lines or CSV, one record per deploy step.

Fields: ``timestamp`` (ISO 8601 with an offset or ``Z``, or epoch seconds or milliseconds with
``time_format``), ``status`` (``started``, ``succeeded``, ``failed``, ``rolled_back``), and
optionally ``service``, ``version``, ``environment``, ``actor``, ``description``, ``url``, ``id``.
``fields`` maps these names to a CI system's own ones, and ``values`` a field's values
(``status``: ``success`` -> ``succeeded``), so its export is read as it is.

A record that breaks these rules is skipped, never guessed, and reported with its file and line
in the source's ``detail``; the source stays ``ok`` with the good lines' events (one bad line
never costs the others). Records outside the window and its lookback are left out and counted.
The file is streamed a line at a time, so its size does not bound memory.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ...errors import CollectorError
from ...model import (
    DEPLOY_FAILED,
    DEPLOY_ROLLED_BACK,
    DEPLOY_STARTED,
    DEPLOY_SUCCEEDED,
    EXAMPLE_TIME,
    Event,
    SourceExtras,
    Window,
)
from .config import FIELDS, TIME_FORMATS
from .notes import SHOWN_BAD_LINES

log = logging.getLogger(__name__)

KIND_BY_STATUS = {
    "started": DEPLOY_STARTED,
    "succeeded": DEPLOY_SUCCEEDED,
    "failed": DEPLOY_FAILED,
    "rolled_back": DEPLOY_ROLLED_BACK,
}


class BadLine(ValueError):
    """One record that cannot be read; its message names the file and line."""


_VERB = {
    "started": "deploy to {env} started",
    "succeeded": "deployed to {env}",
    "failed": "deploy to {env} failed",
    "rolled_back": "rolled back in {env}",
}


def describe(record: Mapping[str, str]) -> str:
    """A timeline line for a deploy record, e.g. ``v2.3.4 deployed to production (api)``."""
    version = record.get("version") or "a new version"
    env = record.get("environment") or "an unnamed environment"
    text = f"{version} {_VERB[record['status']].format(env=env)}"
    if record.get("service"):
        text += f" ({record['service']})"
    if record.get("description"):
        text += f": {record['description']}"
    return text


class DeployFileCollector:
    """Deploy events from one file, read from ``lookback`` before the window to its end."""

    def __init__(
        self,
        path: Path,
        *,
        fmt: str = "auto",
        lookback: timedelta = timedelta(hours=6),
        time_format: str = "iso8601",
        fields: Mapping[str, str] | None = None,
        values: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.path = path
        self.format = (
            fmt if fmt != "auto" else ("csv" if path.suffix.lower() == ".csv" else "jsonl")
        )
        self.lookback = lookback
        """Deploys this long before the window are kept: the suspect change often precedes it."""
        if time_format not in TIME_FORMATS:
            raise ValueError(
                f"time_format must be one of {', '.join(TIME_FORMATS)}, got {time_format!r}"
            )
        self.time_format = time_format
        self.fields = {name: (fields or {}).get(name, name) for name in FIELDS}
        """pmdraft field -> the name the file uses for it."""
        self.values = {k: dict(v) for k, v in (values or {}).items()}
        """pmdraft field -> {the file's value: pmdraft's value} (a CI's own vocabulary)."""
        self.name = f"deploys:{path.name}"
        self.requests = 0
        self.skipped = 0
        """Malformed lines skipped by the last :meth:`collect`."""
        self.outside = 0
        """Records the last :meth:`collect` left out: outside the window and its lookback."""
        self.detail: str | None = None

    def extras(self) -> SourceExtras:
        """Nothing besides events."""
        return SourceExtras()

    def close(self) -> None:
        """Nothing to release: the file is opened and closed by :meth:`collect`."""

    def _records(self, lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
        if self.format == "csv":
            reader = csv.DictReader(lines)
            header = [name.strip() for name in reader.fieldnames or [] if name]
            missing = [
                self.fields[n]
                for n in ("timestamp", "status")
                if header and self.fields[n] not in header
            ]
            if missing:
                raise CollectorError(
                    self.name,
                    f"{self.path}, line 1: the CSV header has no {' and no '.join(missing)} "
                    f"column; it must name at least {self.fields['timestamp']} and "
                    f"{self.fields['status']}, like timestamp,service,version,environment,status, "
                    f"or map its names with [deploys.fields] (found: {','.join(header)})",
                )
            for row in reader:
                yield reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items() if k}
            return
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            yield number, self._json(number, line)

    def _json(self, number: int, line: str) -> dict[str, Any] | BadLine:
        """One JSON Lines line as an object, or the :class:`BadLine` saying why it is not one."""
        try:
            record = json.loads(line)
        except ValueError as exc:
            # json.loads raises JSONDecodeError, or a plain ValueError for an over-long number.
            why = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            return BadLine(
                f"{self.path}, line {number}: not a JSON object ({why}); each line must be "
                f'one object such as {{"timestamp": "{EXAMPLE_TIME}", '
                '"status": "succeeded", "version": "v2.3.4"}'
            )
        if not isinstance(record, dict):
            return BadLine(
                f"{self.path}, line {number}: a JSON object is expected, "
                f"got {type(record).__name__}"
            )
        return record

    def _record(self, number: int, raw: Mapping[str, Any]) -> dict[str, str]:
        where = f"{self.path}, line {number}"
        record = {
            k: str(raw[name]) for k, name in self.fields.items() if raw.get(name) not in (None, "")
        }
        for k, mapping in self.values.items():
            if k in record:
                record[k] = mapping.get(record[k], record[k])
        stamp = record.get("timestamp")
        if not stamp:
            name = self.fields["timestamp"]
            example = {
                "iso8601": f'"{EXAMPLE_TIME}"',
                "epoch_s": "1705329120",
                "epoch_ms": "1705329120000",
            }
            raise BadLine(
                f'{where}: the {name} field is missing; for example "{name}": '
                f"{example[self.time_format]}"
            )
        status = record.get("status", "")
        if status not in KIND_BY_STATUS:
            raise BadLine(
                f"{where}: {self.fields['status']} {status!r} is not one of "
                f"{', '.join(KIND_BY_STATUS)}"
            )
        return record

    def _time(self, number: int, stamp: str) -> datetime:
        where = f"{self.path}, line {number}: {self.fields['timestamp']} {stamp!r}"
        if self.time_format != "iso8601":
            unit = 1000 if self.time_format == "epoch_ms" else 1
            try:
                value = float(stamp.strip())
                return datetime.fromtimestamp(value / unit, UTC)
            except (ValueError, OverflowError, OSError) as exc:
                raise BadLine(
                    f"{where} is not a number of {'milliseconds' if unit > 1 else 'seconds'} "
                    "since 1970-01-01 UTC "
                    f'(time_format = "{self.time_format}"); write it like {1705329120 * unit}'
                ) from exc
        try:
            at = datetime.fromisoformat(stamp.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            hint = (
                ' (epoch seconds or milliseconds? set time_format = "epoch_s" or "epoch_ms")'
                if stamp.strip().isdigit()
                else ""
            )
            raise BadLine(
                f"{where} is not an ISO 8601 time; write it like {EXAMPLE_TIME} or "
                f"2024-01-15T15:32:00+01:00{hint}"
            ) from exc
        if at.tzinfo is None:
            raise BadLine(
                f"{where} has no UTC offset, so its instant is unknown; add Z or an offset, "
                f"like {EXAMPLE_TIME} or 2024-01-15T15:32:00+01:00"
            )
        return at.astimezone(UTC)

    def _lines(self, handle: Iterable[bytes], bad: list[str]) -> Iterator[str]:
        """The file's lines as text, one at a time; a line that is not UTF-8 is named and read as
        empty. Only ``\\n`` ends a line: U+2028 and other separators are JSON string content."""
        for number, raw in enumerate(handle, start=1):
            try:
                yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                bad.append(
                    f"{self.path}, line {number}: byte 0x{exc.object[exc.start]:02x} is not "
                    "UTF-8 text; save the deploy log as UTF-8 (JSON Lines or CSV)"
                )
                yield "\n"

    def collect(self, window: Window) -> Iterator[Event]:
        """Yield the deploys from ``lookback`` before the window to its end, reading line by line.

        Malformed lines are skipped and named in ``detail``; the source stays ``ok``.
        """
        bad: list[str] = []
        self.skipped, self.outside, self.detail = 0, 0, None
        try:
            handle = self.path.open("rb")
        except FileNotFoundError as exc:
            raise CollectorError(self.name, f"deploy log {self.path} does not exist") from exc
        except OSError as exc:
            raise CollectorError(
                self.name, f"deploy log {self.path} could not be read: {exc}"
            ) from exc
        with handle:
            try:
                yield from self._events(self._records(self._lines(handle, bad)), window, bad)
            except OSError as exc:
                raise CollectorError(
                    self.name, f"deploy log {self.path} could not be read: {exc}"
                ) from exc
        self.detail = self._detail(bad)

    def _events(
        self,
        records: Iterable[tuple[int, dict[str, Any] | BadLine]],
        window: Window,
        bad: list[str],
    ) -> Iterator[Event]:
        since = window.since - self.lookback
        for number, raw in records:
            try:
                if isinstance(raw, BadLine):
                    raise raw
                record = self._record(number, raw)
                at = self._time(number, record["timestamp"])
            except BadLine as exc:
                log.debug("%s (skipped)", exc)
                bad.append(str(exc))
                continue
            if not since <= at < window.until:
                self.outside += 1
                continue
            ref = record.get("id") or ":".join(
                record.get(k, "") for k in ("service", "version", "environment")
            )
            yield Event(
                at=at,
                source="deploys",
                kind=KIND_BY_STATUS[record["status"]],
                ref=ref,
                summary=describe(record),
                service=record.get("service"),
                actor=record.get("actor"),
                url=record.get("url"),
                attrs={
                    k: record.get(k) for k in ("version", "environment", "status", "description")
                }
                | {"file": self.path.name, "line": number},
            )

    def _detail(self, bad: list[str]) -> str | None:
        """The skipped lines (the first few named) and the records left out, if any."""
        parts = []
        if bad:
            self.skipped = len(bad)
            more = len(bad) - SHOWN_BAD_LINES
            shown = " / ".join(bad[:SHOWN_BAD_LINES]) + (f" / and {more} more" if more > 0 else "")
            parts.append(f"{len(bad)} malformed line{'s' if len(bad) > 1 else ''} skipped: {shown}")
        if self.outside:
            hours = self.lookback / timedelta(hours=1)
            parts.append(
                f"{self.outside} record{'s' if self.outside > 1 else ''} outside the window and "
                f"the {hours:g} h deploy lookback before it left out"
            )
        return "; ".join(parts) or None
