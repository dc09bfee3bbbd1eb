"""Ranked suspect changes and rollbacks: the deploys a postmortem writer should look at first.

Leads, not verdicts. Every deploy (of any deploy source) at or before impact start within the
suspect lookback is scored, and the reasons behind the score are kept so the draft can say why
each lead was picked:

- **same service** as an alarm or incident (+3): the affected services are those named by the
  non-deploy events;
- **nearness** before impact start (+0..2, falling linearly to 0 at the lookback's edge);
- **failed or rolled back** (+1.5): the deploy has a failed or rolled-back event, even after impact;
- **staged rollout** (+1.5): the same version of the service went out in two or more stages, and
  the latest stage before impact lines up with it (within :data:`STAGE_LINES_UP`).

The stages of one rollout (same service and version) are one lead, placed at its latest stage
before impact. Separately, a **long lookback** lists the last deploys of each affected service
before the short lookback, so a latent bug shipped weeks earlier (Fastly, June 2021: 27 days) is
not missed.

A **rollback** after detection (a ``deploy.rolled_back``, or a deploy of a version the service
ran before) is the mitigation action the draft shows in the timeline and under What Went Well.

Pure functions over :class:`~pmdraft.model.Event` lists: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ..facts import (
    BeforeImpact,
    LatentDeploy,
    OtherService,
    Reason,
    SameService,
    StagedRollout,
    WentBad,
)
from ..model import (
    DEPLOY_FAILED,
    DEPLOY_KINDS,
    DEPLOY_ROLLED_BACK,
    DEPLOY_STARTED,
    DEPLOY_SUCCEEDED,
    Event,
)

MAX_LEADS = 3
"""Leads listed under Root Cause."""

LATENT_PER_SERVICE = 3
"""Deploys per affected service listed under the long lookback."""

SAME_SERVICE = 3.0
"""Score for a deploy of a service an alarm or incident names."""

NEARNESS = 2.0
"""Score for a deploy right at impact start; falls linearly to 0 at the lookback's edge."""

BAD_STATUS = 1.5
"""Score for a deploy that failed or was rolled back."""

STAGED = 1.5
"""Score for a staged rollout whose latest stage before impact lines up with it."""

STAGE_LINES_UP = timedelta(minutes=30)
"""A rollout stage at most this long before impact start lines up with it."""


@dataclass(frozen=True)
class Lead:
    """One suspect deploy, where it stands, and why it was picked."""

    at: datetime
    ref: str
    source: str
    kind: str
    summary: str
    service: str | None
    version: str | None
    environment: str | None
    url: str | None
    score: float
    reasons: tuple[Reason, ...]
    before_impact: float | None = None
    """Seconds from the deploy to impact start."""


@dataclass(frozen=True)
class Suspects:
    """Ranked leads, the long lookback's deploys, and the lookbacks they came from."""

    leads: tuple[Lead, ...] = ()
    latent: tuple[Lead, ...] = ()
    """The last deploys of the affected services before the short lookback (long lookback)."""
    lookback: timedelta = timedelta(hours=6)
    long_lookback: timedelta = timedelta(0)
    services: tuple[str, ...] = ()
    """The affected services (from alarms and incidents), as written in the data."""


def affected_services(events: Iterable[Event]) -> dict[str, str]:
    """Lower-cased name -> name as written, of the services the alarms and incidents name."""
    out: dict[str, str] = {}
    for e in events:
        if e.kind not in DEPLOY_KINDS and isinstance(e.service, str) and e.service:
            out.setdefault(e.service.lower(), e.service)
    return out


def _version(e: Event) -> str | None:
    value = e.attrs.get("version")
    return str(value) if value not in (None, "") else None


def _lead(e: Event, score: float, reasons: list[Reason], impact: datetime | None) -> Lead:
    environment = e.attrs.get("environment")
    return Lead(
        at=e.at,
        ref=e.ref,
        source=e.source,
        kind=e.kind,
        summary=e.summary,
        service=e.service,
        version=_version(e),
        environment=str(environment) if environment not in (None, "") else None,
        url=e.url,
        score=score,
        reasons=tuple(reasons),
        before_impact=None if impact is None else (impact - e.at).total_seconds(),
    )


def _grouped(window: Iterable[Event]) -> list[list[Event]]:
    """The deploys in ``window`` in time order, grouped: one rollout (service and version) is one
    group of its stages; a deploy without both is a group of its own events (by ref)."""
    groups: dict[tuple[str | None, ...], list[Event]] = {}
    for e in sorted(window, key=lambda e: (e.at, e.source, e.kind, e.ref)):
        version = _version(e)
        key = (
            ("rollout", (e.service or "").lower(), version)
            if version and e.service
            else ("ref", e.source, e.ref)
        )
        groups.setdefault(key, []).append(e)
    return list(groups.values())


def _score(
    members: list[Event],
    impact: datetime,
    services: dict[str, str],
    bad_refs: dict[str, Event],
    seconds: float,
) -> Lead:
    """One group's lead: its latest member, scored, with the reasons behind the score."""
    last = members[-1]
    reasons: list[Reason] = []
    score = 0.0
    if isinstance(last.service, str) and last.service.lower() in services:
        score += SAME_SERVICE
        reasons.append(SameService(last.service))
    else:
        reasons.append(OtherService(any_named=bool(services)))
    gap = (impact - last.at).total_seconds()
    score += NEARNESS * max(0.0, 1.0 - gap / seconds)
    reasons.append(BeforeImpact(gap))
    bad = next((bad_refs[m.ref] for m in reversed(members) if m.ref in bad_refs), None)
    if bad is not None:
        score += BAD_STATUS
        reasons.append(WentBad(bad.kind != DEPLOY_FAILED, bad.at, bad.at > impact))
    stages = list(dict.fromkeys((m.attrs.get("environment") or m.ref) for m in members))
    if len(stages) >= 2 and impact - last.at <= STAGE_LINES_UP:
        score += STAGED
        first = (impact - members[0].at).total_seconds()
        reasons.append(StagedRollout(tuple(str(s) for s in stages), first))
    return _lead(last, score, reasons, impact)


def _latent(
    deploys: list[Event],
    services: dict[str, str],
    impact: datetime,
    since: datetime,
    span: timedelta,
) -> tuple[Lead, ...]:
    """The last :data:`LATENT_PER_SERVICE` deploys of each affected service in ``span`` before
    ``impact`` and before ``since`` (the short lookback's start), newest first."""
    latent: list[Lead] = []
    oldest = impact - span
    days = span.total_seconds() / 86400
    by_service: dict[str, list[Event]] = {}
    for e in deploys:
        if (
            isinstance(e.service, str)
            and oldest <= e.at < since
            and e.kind in (DEPLOY_SUCCEEDED, DEPLOY_STARTED, DEPLOY_FAILED)
        ):
            by_service.setdefault(e.service.lower(), []).append(e)
    for name in services.values():
        older = by_service.get(name.lower(), [])
        seen: set[str] = set()
        picked: list[Event] = []
        for e in sorted(older, key=lambda e: e.at, reverse=True):
            if e.ref in seen:
                continue
            seen.add(e.ref)
            picked.append(e)
            if len(picked) == LATENT_PER_SERVICE:
                break
        for e in picked:
            gap = (impact - e.at).total_seconds()
            latent.append(_lead(e, 0.0, [LatentDeploy(name, days, gap)], impact))
    return tuple(sorted(latent, key=lambda lead: lead.at, reverse=True))


def rank(
    events: Sequence[Event],
    impact: datetime | None,
    *,
    lookback: timedelta = timedelta(hours=6),
    long_lookback: timedelta = timedelta(0),
    limit: int = MAX_LEADS,
    services: dict[str, str] | None = None,
) -> Suspects:
    """Rank the deploys in ``events`` as suspects for an impact that started at ``impact``.

    ``events`` may hold deploys from before the window (the long lookback); the other events
    name the affected services, unless ``services`` (lower-cased -> as written) is given.
    """
    services = affected_services(events) if services is None else services
    empty = Suspects(
        lookback=lookback, long_lookback=long_lookback, services=tuple(services.values())
    )
    if impact is None:
        return empty
    deploys = [e for e in events if e.kind in DEPLOY_KINDS]
    bad_refs: dict[str, Event] = {}
    for e in deploys:
        if e.kind in (DEPLOY_FAILED, DEPLOY_ROLLED_BACK):
            bad_refs.setdefault(e.ref, e)
    since = impact - lookback
    window = [e for e in deploys if since <= e.at <= impact]
    seconds = max(lookback.total_seconds(), 1.0)
    leads = [_score(group, impact, services, bad_refs, seconds) for group in _grouped(window)]
    leads.sort(key=lambda lead: (-lead.score, -lead.at.timestamp(), lead.source, lead.ref))
    latent: tuple[Lead, ...] = ()
    if long_lookback > lookback and services:
        latent = _latent(deploys, services, impact, since, long_lookback)
    return replace(empty, leads=tuple(leads[:limit]), latent=latent)


_NUMBERS = re.compile(r"\d+")


def _older(version: str, than: str) -> bool:
    """Whether ``version`` sorts before ``than`` by its numbers (``v2.3.3`` < ``v2.3.4``)."""
    a, b = _NUMBERS.findall(version), _NUMBERS.findall(than)
    return bool(a and b) and [int(x) for x in a] < [int(x) for x in b]


def find_rollback(events: Sequence[Event], detected: datetime | None) -> Event | None:
    """The first rollback after ``detected``: a ``deploy.rolled_back``, or the completion of a
    deploy of a version the service ran before (else that deploy's start).

    One pass in time order. A deploy is compared only with the same service's earlier
    started/succeeded deploys of *other* refs, so each service keeps its latest deploy, the
    latest one of a different ref than that, and the refs seen for each version.
    """
    if detected is None:
        return None
    ordered = sorted(
        (e for e in events if e.kind in DEPLOY_KINDS), key=lambda e: (e.at, e.source, e.kind, e.ref)
    )
    history: dict[str | None, _Ran] = {}
    done: list[Event] = []
    begun: list[Event] = []
    for e in ordered:
        version = _version(e) if e.kind in (DEPLOY_STARTED, DEPLOY_SUCCEEDED) else None
        ran = history.get(e.service)
        if e.at > detected:
            if e.kind == DEPLOY_ROLLED_BACK:
                done.append(e)
            elif version and e.service and ran is not None:
                last = ran.last_other(e.ref)
                if (
                    last is not None
                    and last != version
                    and (ran.ran_elsewhere(version, e.ref) or _older(version, last))
                ):
                    (done if e.kind == DEPLOY_SUCCEEDED else begun).append(e)
        if version:
            if ran is None:
                ran = history[e.service] = _Ran()
            ran.add(e.ref, version)
    found = done or begun
    return found[0] if found else None


class _Ran:
    """One service's deploys so far (started or succeeded, with a version), as
    :func:`find_rollback` reads them: which version came last from a ref other than a given one,
    and whether a version ran under a ref other than a given one."""

    __slots__ = ("latest", "other", "refs")

    def __init__(self) -> None:
        self.latest: tuple[str, str] | None = None
        """(ref, version) of the latest deploy."""
        self.other: tuple[str, str] | None = None
        """(ref, version) of the latest deploy whose ref differs from ``latest``'s."""
        self.refs: dict[str, set[str]] = {}
        """version -> the refs it was deployed under (two are enough to answer)."""

    def add(self, ref: str, version: str) -> None:
        if self.latest is not None and self.latest[0] != ref:
            self.other = self.latest
        self.latest = (ref, version)
        refs = self.refs.setdefault(version, set())
        if len(refs) < 2:
            refs.add(ref)

    def last_other(self, ref: str) -> str | None:
        """The version of the latest deploy of a ref other than ``ref``."""
        if self.latest is not None and self.latest[0] != ref:
            return self.latest[1]
        return None if self.other is None else self.other[1]

    def ran_elsewhere(self, version: str, ref: str) -> bool:
        """Whether ``version`` was deployed before under a ref other than ``ref``."""
        refs = self.refs.get(version, ())
        return len(refs) > 1 or (len(refs) == 1 and ref not in refs)
