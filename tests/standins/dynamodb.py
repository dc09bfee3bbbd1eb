"""A patch only the tests need: moto's DynamoDB writes made atomic, as DynamoDB's are.

moto's threaded server checks a write's condition and applies it without a lock, so two
concurrent conditional writes can both pass; DynamoDB never lets that happen, and the batch
job's claims (tested with two concurrent runners) rely on it.
"""

from __future__ import annotations

import threading
from typing import Any

_WRITE_LOCK = threading.Lock()


def atomic_dynamodb_writes() -> None:
    """Make moto's DynamoDB writes atomic (idempotent)."""
    from moto.dynamodb.responses import DynamoHandler

    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        method = getattr(DynamoHandler, name)
        if getattr(method, "_pmdraft_atomic", False):
            continue

        def atomic(self: Any, _method: Any = method) -> Any:
            with _WRITE_LOCK:
                return _method(self)

        atomic._pmdraft_atomic = True  # type: ignore[attr-defined]
        setattr(DynamoHandler, name, atomic)
