"""What a batch run reports: one :class:`Outcome` an incident, and the run's :class:`BatchResult`
(its counts, one-line summary and exit code)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .state import FAILED, PARTIAL

DRAFTED, WOULD_DRAFT, SKIPPED = "drafted", "would_draft", "skipped"
"""Outcome statuses besides ``partial`` and ``failed``."""

ALREADY_DRAFTED = "already drafted"


@dataclass(frozen=True)
class Outcome:
    """What the run did with one incident."""

    incident_id: str
    number: int | None
    title: str
    status: str
    """``drafted``, ``partial``, ``failed``, ``skipped`` or (``--dry-run``) ``would_draft``."""
    reason: str = ""
    location: str = ""
    attempts: int = 0
    error: str = ""
    proposal: str = ""
    """Where the new version went because a person edited a block of the draft, else empty."""
    kept: tuple[str, ...] = ()
    """Blocks left as they were because a person edited them."""
    annotated: bool = False

    def as_json(self) -> dict[str, Any]:
        """The outcome as one ``--log-json`` line's object."""
        return {"event": "incident", **dataclasses.asdict(self), "kept": list(self.kept)}


@dataclass
class BatchResult:
    """Every outcome of a run, and the window of resolutions it looked at."""

    since: datetime
    until: datetime
    outcomes: list[Outcome] = field(default_factory=list)
    dry_run: bool = False
    annotate_errors: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        """How many incidents ended with ``status``."""
        return sum(o.status == status for o in self.outcomes)

    @property
    def counts(self) -> dict[str, int]:
        """Each status's count, every status present (zero included)."""
        return {s: self.count(s) for s in (DRAFTED, PARTIAL, FAILED, SKIPPED, WOULD_DRAFT)}

    @property
    def exit_code(self) -> int:
        """1 if an incident failed (or a note could not be added), 3 if one is partial, else 0."""
        if self.count(FAILED) or self.annotate_errors:
            return 1
        return 3 if self.count(PARTIAL) else 0

    def summary(self) -> str:
        """One line, like ``pmdraft batch: 4 drafted, 1 partial, 0 failed, 2 skipped (already
        drafted)``."""
        reasons: dict[str, int] = {}
        for o in self.outcomes:
            if o.status == SKIPPED:
                reasons[o.reason] = reasons.get(o.reason, 0) + 1
        if not reasons or list(reasons) == [ALREADY_DRAFTED]:
            why = ALREADY_DRAFTED
        else:
            why = ", ".join(f"{n} {reason}" for reason, n in reasons.items())
        skipped = f"{self.count(SKIPPED)} skipped ({why})"
        if self.dry_run:
            return f"pmdraft batch --dry-run: {self.count(WOULD_DRAFT)} would be drafted, {skipped}"
        return (
            f"pmdraft batch: {self.count(DRAFTED)} drafted, {self.count(PARTIAL)} partial, "
            f"{self.count(FAILED)} failed, {skipped}"
        )
