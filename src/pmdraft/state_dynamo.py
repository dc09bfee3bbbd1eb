"""The batch job's state in a DynamoDB table, shared by several runners (see :mod:`pmdraft.state`).

Every change is one conditional write: a claim succeeds only for an incident not drafted
completely, with attempts left and no unexpired claim; the high-water mark only moves forward.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from .errors import StateError
from .model import iso_z
from .state import COMPLETE, RECORD_FIELDS, IncidentRecord, parse_stamp, stamp

_HWM_KEY = "meta#high_water_mark"


def _incident_key(incident_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"incident#{incident_id}"}}


class DynamoState:
    """The state in a DynamoDB table (string hash key ``pk``), shared by several runners.

    Claims and the high-water mark are conditional writes, so only one runner claims an incident
    and the mark never moves back. Create the table once::

        aws dynamodb create-table --table-name pmdraft-state --billing-mode PAY_PER_REQUEST \\
          --attribute-definitions AttributeName=pk,AttributeType=S \\
          --key-schema AttributeName=pk,KeyType=HASH
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

        values = {name: value(name) for name in RECORD_FIELDS}
        values = {
            k: (v if v is not None else IncidentRecord.__dataclass_fields__[k].default)
            for k, v in values.items()
        }
        return IncidentRecord(**values)

    def high_water_mark(self) -> datetime | None:
        """The time up to which resolved incidents have been looked at, or ``None``."""
        item = self._call(
            "reading the high-water mark",
            "get_item",
            Key={"pk": {"S": _HWM_KEY}},
            ConsistentRead=True,
        ).get("Item")
        return parse_stamp(item["value"]["S"]) if item else None

    def get(self, incident_id: str) -> IncidentRecord | None:
        """The record of one incident, or ``None`` if the state has none."""
        item = self._call(
            f"reading incident {incident_id}",
            "get_item",
            Key=_incident_key(incident_id),
            ConsistentRead=True,
        ).get("Item")
        return self._record(item) if item and "status" in item else None

    def retryable(self, max_attempts: int) -> list[IncidentRecord]:
        """Incidents not drafted completely, with attempts left, lowest number first."""
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
        """Claim an incident for ``runner`` until ``until``; ``False`` if done, spent or claimed."""
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
        """Store a claimed incident's outcome and release the claim (``StateError`` if lost)."""
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
        """Drop ``runner``'s claim on an incident without recording an outcome."""
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
        """Remember that the incident's PagerDuty note was added."""
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
        """Log the run and move the high-water mark forward to ``mark`` (never back)."""
        from botocore.exceptions import ClientError

        if mark is None:
            return
        with contextlib.suppress(ClientError):  # another runner already moved it further
            self._call(
                "moving the high-water mark",
                "put_item",
                Item={
                    "pk": {"S": _HWM_KEY},
                    "value": {"S": stamp(mark)},
                    "runner": {"S": runner},
                    "started_at": {"S": iso_z(started)},
                    "counts": {"S": json.dumps(counts, sort_keys=True)},
                },
                ConditionExpression="attribute_not_exists(#v) OR #v < :v",
                ExpressionAttributeNames={"#v": "value"},
                ExpressionAttributeValues={":v": {"S": stamp(mark)}},
            )

    def close(self) -> None:
        """Nothing to release: boto3 clients need no closing."""
