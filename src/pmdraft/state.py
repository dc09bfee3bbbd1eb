"""What the batch job remembers between runs: each incident's draft, and the high-water mark.

Two stores with one interface. :class:`SqliteState` (the default) keeps a file on the runner;
:class:`DynamoState` keeps a DynamoDB table several runners can share. Every change is one
transaction (SQLite) or one conditional write (DynamoDB), so a run killed at any point leaves
either the old state or the new. An incident is *claimed* before it is drafted: the claim
succeeds only if the incident is not drafted completely, has attempts left, and no other runner
holds an unexpired claim on it, so two runners never draft the same incident.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
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
        """Log the run and move the high-water mark forward to ``mark`` (never back), in one step."""

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

_FIELDS = [f for f in IncidentRecord.__dataclass_fields__]


def _stamp(at: datetime) -> str:
    """A fixed-width UTC time, so that stamps compare as strings in the order of their instants."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: str | None) -> datetime | None:
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
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._create_schema()
        except (sqlite3.Error, OSError) as exc:
            raise StateError(
                f"state database {path} could not be opened: {exc}; check [batch] state_path"
            ) from exc

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
        row = self._db.execute("SELECT value FROM meta WHERE key = 'high_water_mark'").fetchone()
        return _parse(row[0]) if row else None

    def get(self, incident_id: str) -> IncidentRecord | None:
        row = self._db.execute(
            f"SELECT {', '.join(_FIELDS)} FROM incidents WHERE incident_id = ?", (incident_id,)
        ).fetchone()
        return IncidentRecord(*row) if row else None

    def retryable(self, max_attempts: int) -> list[IncidentRecord]:
        rows = self._db.execute(
            f"SELECT {', '.join(_FIELDS)} FROM incidents WHERE status != ? AND attempts < ? ORDER "
            "BY number",
            (COMPLETE, max_attempts),
        ).fetchall()
        return [IncidentRecord(*row) for row in rows]

    def claim(
        self, incident_id: str, runner: str, now: datetime, until: datetime, max_attempts: int
    ) -> bool:
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
        values = asdict(rec)

        def record(db: sqlite3.Connection) -> None:
            cursor = db.execute(
                f"UPDATE incidents SET {', '.join(f'{k} = :{k}' for k in _FIELDS[1:])}, "
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
        self._do(
            f"releasing incident {incident_id}",
            lambda db: db.execute(
                "UPDATE incidents SET claimed_by = NULL, claimed_until = NULL "
                "WHERE incident_id = ? AND claimed_by = ?",
                (incident_id, runner),
            ),
        )

    def mark_annotated(self, incident_id: str, at: datetime) -> None:
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
                old = _parse(row[0]) if row else None
                if old is None or mark > old:
                    db.execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('high_water_mark', ?)",
                        (_stamp(mark),),
                    )

        self._do("finishing the run", finish)

    def close(self) -> None:
        self._db.close()


_HWM_KEY = "meta#high_water_mark"


def _incident_key(incident_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"incident#{incident_id}"}}


class DynamoState:
    """The state in a DynamoDB table (string hash key ``pk``), shared by several runners.

    Claims and the high-water mark are conditional writes, so only one runner claims an incident
    and the mark never moves back. Create the table once::

        aws dynamodb create-table --table-name pmdraft-state --billing-mode PAY_PER_REQUEST \\
          --attribute-definitions AttributeName=pk,AttributeType=S --key-schema
          AttributeName=pk,KeyType=HASH
    """

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def _call(self, what: str, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(TableName=self.table, **kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise
            raise StateError(
                f"DynamoDB table {self.table}: {what} failed: {exc}; check [batch] table and "
                "that the job may GetItem, PutItem, UpdateItem and Scan on it"
            ) from exc
        except BotoCoreError as exc:
            raise StateError(f"DynamoDB table {self.table}: {what} failed: {exc}") from exc

    @staticmethod
    def _record(item: dict[str, Any]) -> IncidentRecord:
        def value(name: str) -> Any:
            cell = item.get(name)
            if cell is None:
                return None
            return int(cell["N"]) if "N" in cell else cell.get("S", "")

        values = {name: value(name) for name in _FIELDS}
        values = {
            k: (v if v is not None else IncidentRecord.__dataclass_fields__[k].default)
            for k, v in values.items()
        }
        return IncidentRecord(**values)

    def high_water_mark(self) -> datetime | None:
        item = self._call(
            "reading the high-water mark",
            "get_item",
            Key={"pk": {"S": _HWM_KEY}},
            ConsistentRead=True,
        ).get("Item")
        return _parse(item["value"]["S"]) if item else None

    def get(self, incident_id: str) -> IncidentRecord | None:
        item = self._call(
            f"reading incident {incident_id}",
            "get_item",
            Key=_incident_key(incident_id),
            ConsistentRead=True,
        ).get("Item")
        return self._record(item) if item and "status" in item else None

    def retryable(self, max_attempts: int) -> list[IncidentRecord]:
        found, start = [], None
        while True:
            kwargs: dict[str, Any] = {
                "FilterExpression": (
                    "begins_with(pk, :inc) AND (attribute_not_exists(#s) OR #s <> :done) "
                    "AND (attribute_not_exists(attempts) OR attempts < :max)"
                ),
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {
                    ":inc": {"S": "incident#"},
                    ":done": {"S": COMPLETE},
                    ":max": {"N": str(max_attempts)},
                },
                "ConsistentRead": True,
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = self._call("listing incidents to retry", "scan", **kwargs)
            found += [self._record(i) for i in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if not start:
                return sorted(found, key=lambda r: r.number or 0)

    def claim(
        self, incident_id: str, runner: str, now: datetime, until: datetime, max_attempts: int
    ) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._call(
                f"claiming incident {incident_id}",
                "update_item",
                Key=_incident_key(incident_id),
                UpdateExpression="SET claimed_by = :r, claimed_until = :u, incident_id = :id",
                ConditionExpression=(
                    "(attribute_not_exists(#s) OR #s <> :done) "
                    "AND (attribute_not_exists(attempts) OR attempts < :max) "
                    "AND (attribute_not_exists(claimed_until) OR claimed_until < :now)"
                ),
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":r": {"S": runner},
                    ":u": {"N": str(Decimal(str(until.timestamp())))},
                    ":id": {"S": incident_id},
                    ":done": {"S": COMPLETE},
                    ":max": {"N": str(max_attempts)},
                    ":now": {"N": str(Decimal(str(now.timestamp())))},
                },
            )
        except ClientError:
            return False
        return True

    def record(self, rec: IncidentRecord, runner: str) -> None:
        from botocore.exceptions import ClientError

        item: dict[str, Any] = {"pk": {"S": f"incident#{rec.incident_id}"}}
        for name, value in asdict(rec).items():
            if isinstance(value, int) and not isinstance(value, bool):
                item[name] = {"N": str(value)}
            elif value is not None:
                item[name] = {"S": str(value)}
        try:
            self._call(
                f"recording incident {rec.incident_id}",
                "put_item",
                Item=item,
                ConditionExpression="claimed_by = :r",
                ExpressionAttributeValues={":r": {"S": runner}},
            )
        except ClientError as exc:
            raise StateError(
                f"incident {rec.incident_id} is no longer claimed by this run (its claim "
                "expired and another run took it); raise [batch] claim_minutes"
            ) from exc

    def release(self, incident_id: str, runner: str) -> None:
        from botocore.exceptions import ClientError

        with contextlib.suppress(ClientError):  # not ours any more: nothing to release
            self._call(
                f"releasing incident {incident_id}",
                "update_item",
                Key=_incident_key(incident_id),
                UpdateExpression="REMOVE claimed_by, claimed_until",
                ConditionExpression="claimed_by = :r",
                ExpressionAttributeValues={":r": {"S": runner}},
            )

    def mark_annotated(self, incident_id: str, at: datetime) -> None:
        self._call(
            f"recording the note on incident {incident_id}",
            "update_item",
            Key=_incident_key(incident_id),
            UpdateExpression="SET annotated_at = :a",
            ExpressionAttributeValues={":a": {"S": iso_z(at)}},
        )

    def finish_run(
        self, runner: str, started: datetime, mark: datetime | None, counts: dict[str, int]
    ) -> None:
        from botocore.exceptions import ClientError

        if mark is None:
            return
        try:
            self._call(
                "moving the high-water mark",
                "put_item",
                Item={
                    "pk": {"S": _HWM_KEY},
                    "value": {"S": _stamp(mark)},
                    "runner": {"S": runner},
                    "started_at": {"S": iso_z(started)},
                    "counts": {"S": json.dumps(counts, sort_keys=True)},
                },
                ConditionExpression="attribute_not_exists(#v) OR #v < :v",
                ExpressionAttributeNames={"#v": "value"},
                ExpressionAttributeValues={":v": {"S": _stamp(mark)}},
            )
        except ClientError:
            pass  # another runner already moved it further

    def close(self) -> None:
        """Nothing to release: boto3 clients need no closing."""
