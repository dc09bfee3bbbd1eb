"""What the batch job remembers between runs: each incident's draft, and the high-water mark.

Two stores with one interface. :class:`SqliteState` (the default, here) keeps a file on the
runner; :class:`~pmdraft.state_dynamo.DynamoState` keeps a DynamoDB table several runners can
share. Every change is one
transaction (SQLite) or one conditional write (DynamoDB), so a run killed at any point leaves
either the old state or the new. An incident is *claimed* before it is drafted: the claim
succeeds only if the incident is not drafted completely, has attempts left, and no other runner
holds an unexpired claim on it, so two runners never draft the same incident.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from .errors import StateError
from .model import iso_z

COMPLETE, PARTIAL, FAILED = "complete", "partial", "failed"
"""An incident's draft status: every source answered; a source failed (retried); no draft."""


@dataclass(frozen=True)
class IncidentRecord:
    """One incident as the state knows it."""

    incident_id: str
    number: int | None = None
    title: str = ""
    status: str = ""
    """``complete``, ``partial`` or ``failed``; empty while only claimed."""
    location: str = ""
    """Where the draft is: a path or an ``s3://`` URL."""
    name: str = ""
    """The draft's file name, kept so a retitled incident keeps its file."""
    checksum: str = ""
    """SHA-256 of the draft as last written."""
    sources: str = ""
    """Each source's status, as JSON: ``{"cloudwatch": "ok", "pagerduty": "failed"}``."""
    attempts: int = 0
    error: str = ""
    drafted_at: str = ""
    annotated_at: str = ""


class State(Protocol):
    """The operations a batch run needs; see :class:`SqliteState` and :class:`DynamoState`."""

    def high_water_mark(self) -> datetime | None:
        """The time up to which resolved incidents have been looked at, or ``None`` before the first
        run."""

    def get(self, incident_id: str) -> IncidentRecord | None:
        """The record of one incident, or ``None``."""

    def retryable(self, max_attempts: int) -> list[IncidentRecord]:
        """Incidents not drafted completely (partial, failed, or claimed by a run that crashed),
        with attempts left."""

    def claim(
        self, incident_id: str, runner: str, now: datetime, until: datetime, max_attempts: int
    ) -> bool:
        """Claim an incident for ``runner`` until ``until``; ``False`` if it is done, spent or
        claimed."""

    def record(self, rec: IncidentRecord, runner: str) -> None:
        """Store the outcome of a claimed incident and release the claim."""

    def release(self, incident_id: str, runner: str) -> None:
        """Drop ``runner``'s claim on an incident without recording an outcome (an interrupted run),
        so the next run may draft it at once."""

    def mark_annotated(self, incident_id: str, at: datetime) -> None:
        """Remember that the incident's PagerDuty note was added."""

    def finish_run(
        self, runner: str, started: datetime, mark: datetime | None, counts: dict[str, int]
    ) -> None:
        """Log the run and move the high-water mark forward to ``mark`` (never back), in one
        step."""

    def close(self) -> None:
        """Release the store's connections."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    incident_id TEXT PRIMARY KEY, number INTEGER, title TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT '', location TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '', checksum TEXT NOT NULL DEFAULT '',
    sources TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '', drafted_at TEXT NOT NULL DEFAULT '',
    annotated_at TEXT NOT NULL DEFAULT '',
    claimed_by TEXT, claimed_until REAL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, runner TEXT NOT NULL, started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL, high_water_mark TEXT, counts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

RECORD_FIELDS = [f for f in IncidentRecord.__dataclass_fields__]
"""The columns (SQLite) and attributes (DynamoDB) of an incident, in the record's order."""


def stamp(at: datetime) -> str:
    """A fixed-width UTC time, so that stamps compare as strings in the order of their instants."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_stamp(value: str | None) -> datetime | None:
    """A stored time (a stamp or ISO 8601) as an aware UTC datetime; ``None`` for none."""
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


class SqliteState:
    """The state in one SQLite file (WAL mode); every change is a transaction."""

    def __init__(self, path: Path, *, timeout: float = 30.0, read_only: bool = False) -> None:
        """Open or create the database at ``path``; ``timeout`` seconds are waited for a lock.

        With ``read_only`` (``batch --dry-run``) nothing is created or changed on disk: a missing
        file reads as an empty state held in memory, an existing one is opened read-only.
        """
        self.path = path
        try:
            if read_only:
                self._db = self._open_read_only(path, timeout)
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
            self._wal(timeout)
            self._db.execute("PRAGMA synchronous=FULL")
            self._create_schema()
        except (sqlite3.Error, OSError) as exc:
            raise StateError(
                f"state database {path} could not be opened: {exc}; check [batch] state_path"
            ) from exc

    def _wal(self, timeout: float) -> None:
        """Switch to WAL; two runners opening a new file at once may find it locked for a moment
        (this pragma does not wait on SQLite's busy timeout), so it is retried for ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def _open_read_only(self, path: Path, timeout: float) -> sqlite3.Connection:
        if not path.exists():
            self._db = sqlite3.connect(":memory:", isolation_level=None)
            self._create_schema()
            return self._db
        uri = f"{path.resolve().as_uri()}?mode=ro"
        return sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)

    def _create_schema(self) -> None:
        with self._tx():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)

    def _tx(self) -> Any:
        db = self._db

        class _Transaction:
            def __enter__(self) -> sqlite3.Connection:
                db.execute("BEGIN IMMEDIATE")
                return db

            def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
                db.execute("COMMIT" if kind is None else "ROLLBACK")

        return _Transaction()

    def _do(self, what: str, fn: Any) -> Any:
        try:
            with self._tx() as db:
                return fn(db)
        except sqlite3.Error as exc:
            raise StateError(f"state database {self.path}: {what} failed: {exc}") from exc

    def high_water_mark(self) -> datetime | None:
        """The time up to which resolved incidents have been looked at, or ``None``."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'high_water_mark'").fetchone()
        return parse_stamp(row[0]) if row else None

    def get(self, incident_id: str) -> IncidentRecord | None:
        """The record of one incident, or ``None`` if the state has none."""
        row = self._db.execute(
            f"SELECT {', '.join(RECORD_FIELDS)} FROM incidents WHERE incident_id = ?",
            (incident_id,),
        ).fetchone()
        return IncidentRecord(*row) if row else None

    def retryable(self, max_attempts: int) -> list[IncidentRecord]:
        """Incidents not drafted completely, with attempts left, lowest number first."""
        rows = self._db.execute(
            f"SELECT {', '.join(RECORD_FIELDS)} FROM incidents "
            "WHERE status != ? AND attempts < ? ORDER BY number",
            (COMPLETE, max_attempts),
        ).fetchall()
        return [IncidentRecord(*row) for row in rows]

    def claim(
        self, incident_id: str, runner: str, now: datetime, until: datetime, max_attempts: int
    ) -> bool:
        """Claim an incident for ``runner`` until ``until``; ``False`` if done, spent or claimed."""

        def claim(db: sqlite3.Connection) -> bool:
            db.execute("INSERT OR IGNORE INTO incidents (incident_id) VALUES (?)", (incident_id,))
            cursor = db.execute(
                "UPDATE incidents SET claimed_by = ?, claimed_until = ? WHERE incident_id = ? "
                "AND status != ? AND attempts < ? AND (claimed_until IS NULL OR claimed_until < ?)",
                (runner, until.timestamp(), incident_id, COMPLETE, max_attempts, now.timestamp()),
            )
            return cursor.rowcount == 1

        return bool(self._do(f"claiming incident {incident_id}", claim))

    def record(self, rec: IncidentRecord, runner: str) -> None:
        """Store a claimed incident's outcome and release the claim (``StateError`` if lost)."""
        values = asdict(rec)

        def record(db: sqlite3.Connection) -> None:
            cursor = db.execute(
                f"UPDATE incidents SET {', '.join(f'{k} = :{k}' for k in RECORD_FIELDS[1:])}, "
                "claimed_by = NULL, "
                "claimed_until = NULL WHERE incident_id = :incident_id AND claimed_by = :runner",
                {**values, "runner": runner},
            )
            if cursor.rowcount != 1:
                raise StateError(
                    f"incident {rec.incident_id} is no longer claimed by this run (its claim "
                    "expired and another run took it); raise [batch] claim_minutes"
                )

        self._do(f"recording incident {rec.incident_id}", record)

    def release(self, incident_id: str, runner: str) -> None:
        """Drop ``runner``'s claim on an incident without recording an outcome."""
        self._do(
            f"releasing incident {incident_id}",
            lambda db: db.execute(
                "UPDATE incidents SET claimed_by = NULL, claimed_until = NULL "
                "WHERE incident_id = ? AND claimed_by = ?",
                (incident_id, runner),
            ),
        )

    def mark_annotated(self, incident_id: str, at: datetime) -> None:
        """Remember that the incident's PagerDuty note was added."""
        self._do(
            f"recording the note on incident {incident_id}",
            lambda db: db.execute(
                "UPDATE incidents SET annotated_at = ? WHERE incident_id = ?",
                (iso_z(at), incident_id),
            ),
        )

    def finish_run(
        self, runner: str, started: datetime, mark: datetime | None, counts: dict[str, int]
    ) -> None:
        """Log the run and move the high-water mark forward to ``mark`` (never back)."""

        def finish(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO runs (runner, started_at, finished_at, high_water_mark, counts) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    runner,
                    iso_z(started),
                    iso_z(datetime.now(UTC)),
                    iso_z(mark) if mark else None,
                    json.dumps(counts, sort_keys=True),
                ),
            )
            if mark is not None:
                row = db.execute("SELECT value FROM meta WHERE key = 'high_water_mark'").fetchone()
                old = parse_stamp(row[0]) if row else None
                if old is None or mark > old:
                    db.execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('high_water_mark', ?)",
                        (stamp(mark),),
                    )

        self._do("finishing the run", finish)

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()
