"""Deploy records from files: JSON Lines or CSV, one record per deploy step.

Fields: ``timestamp`` (ISO 8601 with an offset or ``Z``), ``status`` (``started``,
``succeeded``, ``failed``, ``rolled_back``), and optionally ``service``, ``version``,
``environment``, ``actor``, ``description``, ``url``, ``id``. A record that breaks these rules
stops the run with its file and line, since a wrong deploy time would make a wrong draft.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import CollectorError, InputError
from ..model import (
    DEPLOY_FAILED,
    DEPLOY_ROLLED_BACK,
    DEPLOY_STARTED,
    DEPLOY_SUCCEEDED,
    EXAMPLE_TIME,
    UTC,
    Event,
    Window,
)

KIND_BY_STATUS = {
    "started": DEPLOY_STARTED,
    "succeeded": DEPLOY_SUCCEEDED,
    "failed": DEPLOY_FAILED,
    "rolled_back": DEPLOY_ROLLED_BACK,
}
FIELDS = ("timestamp", "service", "version", "environment", "status", "actor", "description", "url", "id")

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

    def __init__(self, path: Path, *, fmt: str = "auto", lookback: timedelta = timedelta(hours=6)) -> None:
        self.path = path
        self.format = fmt if fmt != "auto" else ("csv" if path.suffix.lower() == ".csv" else "jsonl")
        self.lookback = lookback
        """Deploys this long before the window are kept: the suspect change often precedes it."""
        self.name = f"deploys:{path.name}"
        self.requests = 0

    def _records(self, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
        if self.format == "csv":
            reader = csv.DictReader(io.StringIO(text))
            header = [name.strip() for name in reader.fieldnames or [] if name]
            missing = [name for name in ("timestamp", "status") if header and name not in header]
            if missing:
                raise InputError(
                    f"{self.path}, line 1: the CSV header has no {' and no '.join(missing)} column; it must "
                    f"name at least timestamp and status, like timestamp,service,version,environment,status "
                    f"(found: {','.join(header)})"
                )
            for row in reader:
                yield reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items() if k}
            return
        # Only "\n" ends a line: str.splitlines() would also split at U+2028 and other separators,
        # which JSON allows unescaped inside strings.
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise InputError(
                    f"{self.path}, line {number}: not a JSON object ({exc.msg}); each line must be one "
                    f'object such as {{"timestamp": "{EXAMPLE_TIME}", "status": "succeeded", "version": "v2.3.4"}}'
                ) from exc
            if not isinstance(record, dict):
                raise InputError(f"{self.path}, line {number}: a JSON object is expected, got {type(record).__name__}")
            yield number, record

    def _record(self, number: int, raw: Mapping[str, Any]) -> dict[str, str]:
        where = f"{self.path}, line {number}"
        record = {k: str(raw[k]) for k in FIELDS if raw.get(k) not in (None, "")}
        stamp = record.get("timestamp")
        if not stamp:
            raise InputError(f"{where}: the timestamp field is missing; for example \"timestamp\": \"{EXAMPLE_TIME}\"")
        status = record.get("status", "")
        if status not in KIND_BY_STATUS:
            raise InputError(
                f"{where}: status {status!r} is not one of {', '.join(KIND_BY_STATUS)}"
            )
        return record

    def _time(self, number: int, stamp: str) -> datetime:
        where = f"{self.path}, line {number}: timestamp {stamp!r}"
        try:
            at = datetime.fromisoformat(stamp.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise InputError(
                f"{where} is not an ISO 8601 time; write it like {EXAMPLE_TIME} or 2024-01-15T15:32:00+01:00"
            ) from exc
        if at.tzinfo is None:
            raise InputError(
                f"{where} has no UTC offset, so its instant is unknown; add Z or an offset, "
                f"like {EXAMPLE_TIME} or 2024-01-15T15:32:00+01:00"
            )
        return at.astimezone(UTC)

    def collect(self, window: Window) -> Iterator[Event]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError as exc:
            raise CollectorError(self.name, f"deploy log {self.path} does not exist") from exc
        except OSError as exc:
            raise CollectorError(self.name, f"deploy log {self.path} could not be read: {exc}") from exc
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = exc.object[: exc.start].count(b"\n") + 1
            raise InputError(
                f"{self.path}, line {line}: byte 0x{exc.object[exc.start]:02x} is not UTF-8 text; "
                "save the deploy log as UTF-8 (JSON Lines or CSV)"
            ) from exc
        since = window.since - self.lookback
        for number, raw in self._records(text):
            record = self._record(number, raw)
            at = self._time(number, record["timestamp"])
            if not since <= at < window.until:
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
                attrs={k: record.get(k) for k in ("version", "environment", "status", "description")}
                | {"file": self.path.name, "line": number},
            )
