"""What a draft covers: its incidents, their services, the alarms linked to them, their deploys.

Everything else the sources returned for the window is *concurrent activity*: it is kept (the
JSON marks each event's ``in_scope``) and listed apart, and it never sets a milestone.

The incidents in scope are the PagerDuty incidents named with ``--incident`` (all of the window's
otherwise), narrowed to one service by ``--service``. An alarm is linked to an incident or a
service by the first of these that holds, each link recorded with its reason
(:class:`~pmdraft.facts.LinkReason`):

1. **paged**: its transition to ALARM paged the incident (:mod:`.correlate`);
2. **catalog**: a ``[[services]]`` entry lists one of its name prefixes or all of its tags;
3. **tags or dimensions** name the service;
4. **name prefix**: its name starts with the service's name (``checkout-5xx-high``).

A linked alarm is in scope when its incident or service is; an alarm with no link is out of scope
when any incident in scope has a linked alarm, and in scope otherwise. A deploy is in scope when
its service (mapped through the catalog's ``deploy_services``) is a service in scope, or it names
no service, or no service is known. A window without incidents keeps every event in scope.

Pure: a frame in, facts out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ..facts import AlarmLink, LinkReason
from ..model import ALARM_KINDS, DEPLOY_KINDS, INCIDENT_TRIGGERED, Event


class CatalogService(Protocol):
    """One service of the catalog (``[[services]]`` in the config), as the scope reads it."""

    @property
    def name(self) -> str:
        """The service's name, as the draft says it."""

    @property
    def pagerduty_service_ids(self) -> Sequence[str]:
        """PagerDuty service ids of this service."""

    @property
    def deploy_services(self) -> Sequence[str]:
        """The service names deploy systems write for it."""

    @property
    def alarm_prefixes(self) -> Sequence[str]:
        """Alarm name prefixes of this service."""

    @property
    def alarm_tags(self) -> Mapping[str, str]:
        """Alarm tags (all must match) of this service."""


@dataclass(frozen=True)
class Scope:
    """What the draft covers, as a mask over the frame's rows and the facts behind it."""

    mask: np.ndarray
    """``mask[i]``: whether frame row ``i`` is in scope."""
    incidents: tuple[str, ...] = ()
    """The in-scope incident refs, the first triggered first."""
    services: tuple[str, ...] = ()
    """The services in scope, as written (after the catalog's mapping)."""
    links: tuple[AlarmLink, ...] = ()
    """One link per alarm seen in the window (``reason`` ``None``: unlinked)."""
    incident_services: Mapping[str, str | None] = field(default_factory=dict)
    """Incident ref -> its service, for every incident of the window."""
    service: str | None = None
    """The ``--service`` the draft was narrowed to, if any."""

    @property
    def partial(self) -> bool:
        """Whether some rows are out of scope."""
        return not bool(self.mask.all())


def _fold(text: str) -> str:
    return text.casefold()


def _squashed(text: str) -> str:
    return "".join(c for c in text.casefold() if c not in " -_")


def apply_catalog(
    events: Iterable[Event],
    catalog: Sequence[CatalogService],
    service_ids: Mapping[str, str] | None = None,
) -> list[Event]:
    """``events`` with each deploy's and incident's service said as the catalog names it.

    A deploy whose service is one of an entry's ``deploy_services`` (case ignored), and an
    incident whose PagerDuty service id (``service_ids``: incident id -> service id) is one of an
    entry's ``pagerduty_service_ids``, take the entry's name; the name as written is kept in
    ``attrs["service_as_written"]``. Without a catalog, ``events`` are returned as they are.
    """
    if not catalog:
        return list(events)
    by_deploy = {_fold(n): s.name for s in catalog for n in s.deploy_services}
    by_id = {i: s.name for s in catalog for i in s.pagerduty_service_ids}
    ids = service_ids or {}
    out: list[Event] = []
    for e in events:
        name: str | None = None
        if e.kind in DEPLOY_KINDS and e.service:
            name = by_deploy.get(_fold(e.service))
        elif e.source == "pagerduty" and e.kind.startswith("incident."):
            name = by_id.get(ids.get(e.ref, ""))
        if name is None or name == e.service:
            out.append(e)
            continue
        attrs = {**e.attrs, "service_as_written": e.service}
        out.append(replace(e, service=name, attrs=attrs))
    return out


def _tags(attrs: Mapping[str, Any]) -> dict[str, str]:
    """An alarm's tags from its ``tags`` attr (``k=v, k=v``)."""
    raw = attrs.get("tags")
    if not isinstance(raw, str):
        return {}
    pairs = (item.partition("=") for item in raw.split(", ") if "=" in item)
    return {k.strip(): v.strip() for k, _, v in pairs}


def _catalog_link(
    name: str, attrs: Mapping[str, Any], catalog: Sequence[CatalogService]
) -> tuple[str, str] | None:
    """(service, what matched) of the first catalog entry that claims alarm ``name``."""
    tags = _tags(attrs)
    for s in catalog:
        prefix = next((p for p in s.alarm_prefixes if p and name.startswith(p)), None)
        if prefix is not None:
            return s.name, f"alarm_prefixes {prefix!r}"
        wanted = dict(s.alarm_tags)
        if wanted and all(tags.get(k) == v for k, v in wanted.items()):
            return s.name, "alarm_tags " + ", ".join(f"{k}={v}" for k, v in wanted.items())
    return None


def _named_link(
    name: str, attrs: Mapping[str, Any], services: Sequence[str]
) -> tuple[LinkReason, str, str] | None:
    """(reason, service, detail) when the alarm's tags, dimensions or name name a service."""
    said = {k: str(attrs.get(k) or "") for k in ("tags", "dimensions")}
    for s in services:
        key = _squashed(s)
        for what, text in said.items():
            if key and key in _squashed(text):
                return LinkReason.TAG_OR_DIMENSION, s, f"{what} {text}"
    for s in services:
        if re.match(rf"{re.escape(_fold(s))}(?![a-z0-9])", _fold(name)):
            return LinkReason.NAME_PREFIX, s, f"name starts with {s!r}"
    return None


def _paged(rows: list[int], attrs: np.ndarray, numbers: Mapping[str, int | None]) -> Any:
    """(incident ref, number, rule) of the first incident one of the alarm's rows paged."""
    for p in rows:
        link = attrs[p].get("correlation")
        if isinstance(link, str):
            ref = link.split("/", 1)[0]
            return ref, numbers.get(ref), str(attrs[p].get("correlated_by") or "")
    return None


def link_alarms(
    frame: pd.DataFrame,
    catalog: Sequence[CatalogService],
    services: Sequence[str],
    incident_services: Mapping[str, str | None],
    numbers: Mapping[str, int | None],
    is_alarm: np.ndarray,
) -> list[AlarmLink]:
    """One link per alarm of the frame (its rows: ``is_alarm``, from :func:`_kinds`), the
    strongest reason first (see the module's list)."""
    alarm_rows = np.flatnonzero(is_alarm)
    if not len(alarm_rows):
        return []
    refs = frame["ref"].to_numpy()
    attrs = frame["attrs"].to_numpy()
    links: list[AlarmLink] = []
    # Each alarm's rows, the alarms in the order they first appear (one pass: comparing every
    # alarm row with each alarm's ref cost 400 x 5,000 object comparisons in a busy month).
    by_ref: dict[Any, list[int]] = {}
    for p in alarm_rows.tolist():
        by_ref.setdefault(refs[p], []).append(p)
    for ref, rows in by_ref.items():
        first = attrs[rows[0]]
        name = str(first.get("alarm_name") or ref)
        paged = _paged(rows, attrs, numbers)
        if paged is not None:
            incident, number, rule = paged
            links.append(
                AlarmLink(
                    name,
                    str(ref),
                    LinkReason.PAGED,
                    rule or None,
                    service=incident_services.get(incident),
                    incident=incident,
                    incident_number=number,
                )
            )
            continue
        claimed = _catalog_link(name, first, catalog)
        if claimed is not None:
            links.append(AlarmLink(name, str(ref), LinkReason.CATALOG, claimed[1], claimed[0]))
            continue
        named = _named_link(name, first, services)
        if named is not None:
            links.append(AlarmLink(name, str(ref), named[0], named[2], named[1]))
            continue
        links.append(AlarmLink(name, str(ref), None))
    return links


def _incidents(
    frame: pd.DataFrame, is_incident: np.ndarray
) -> tuple[list[str], dict[str, str | None], dict[str, Any]]:
    """The window's incident refs (first triggered first), each one's service and number
    (the incident rows: ``is_incident``, from :func:`_kinds`)."""
    rows = frame[is_incident]
    order: dict[str, tuple[int, int]] = {}
    services: dict[str, str | None] = {}
    numbers: dict[str, Any] = {}
    refs, kinds, service_of = (rows[name].tolist() for name in ("ref", "kind", "service"))
    attrs = rows["attrs"].tolist()
    for i, (ref, kind) in enumerate(zip(refs, kinds, strict=True)):
        # Each incident's rank: its first trigger row, or its first row if it has no trigger.
        seen = order.get(ref)
        if seen is None:
            order[ref] = (0 if kind == INCIDENT_TRIGGERED else 1, i)
            service = service_of[i]
            services[ref] = service if isinstance(service, str) and service else None
            number = attrs[i].get("incident_number")
            numbers[ref] = number if isinstance(number, int) else None
        elif seen[0] and kind == INCIDENT_TRIGGERED:
            order[ref] = (0, i)
    return sorted(order, key=lambda r: order[r]), services, numbers


def find_scope(
    frame: pd.DataFrame,
    catalog: Sequence[CatalogService] = (),
    *,
    incidents: Sequence[str] = (),
    service: str | None = None,
    other_services: Iterable[str] = (),
) -> Scope:
    """The scope of a correlated frame: ``incidents`` (refs; empty: all), narrowed to ``service``.

    ``other_services`` are services known besides the frame's incidents (concurrent incidents
    read apart), so an alarm that names one is linked to it and left out.
    """
    kinds = _kinds(frame)  # which rows are incidents', alarms', deploys': told once
    refs, incident_services, numbers = _incidents(frame, kinds[0])
    chosen = [r for r in refs if not incidents or r in incidents]
    if service is not None:
        chosen = [r for r in chosen if _fold(incident_services.get(r) or "") == _fold(service)]
    in_services = list(dict.fromkeys(s for r in chosen if (s := incident_services.get(r))))
    if service is not None and _fold(service) not in {_fold(s) for s in in_services}:
        in_services.append(service)
    known = list(
        dict.fromkeys(
            [
                *in_services,
                *(s for s in incident_services.values() if s),
                *other_services,
                *(c.name for c in catalog),
            ]
        )
    )
    links = link_alarms(frame, catalog, known, incident_services, numbers, kinds[1])
    wanted = {_fold(s) for s in in_services}
    links = [replace(k, in_scope=_linked_in(k, chosen, wanted)) for k in links]
    if not refs and service is None:
        mask = np.ones(len(frame), dtype=bool)
        return Scope(mask, (), (), tuple(links), incident_services)
    any_linked = any(k.reason is not None and k.in_scope for k in links)
    links = [replace(k, in_scope=not any_linked) if k.reason is None else k for k in links]
    mask = _mask(frame, chosen, wanted, {k.ref: k.in_scope for k in links}, kinds)
    return Scope(mask, tuple(chosen), tuple(in_services), tuple(links), incident_services, service)


def _linked_in(link: AlarmLink, chosen: Sequence[str], services: set[str]) -> bool:
    if link.reason is None:
        return True
    if link.incident is not None:
        return link.incident in chosen
    return _fold(link.service or "") in services


def _mask(
    frame: pd.DataFrame,
    chosen: Sequence[str],
    services: set[str],
    alarms: Mapping[str, bool],
    kinds: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """Which rows are in scope: chosen incidents, in-scope alarms and deploys, any other row
    (``kinds``: :func:`_kinds` of ``frame``)."""
    ref, service = frame["ref"].to_numpy(), frame["service"].to_numpy()
    is_incident, is_alarm, is_deploy = kinds
    mask = np.ones(len(frame), dtype=bool)
    wanted = set(chosen)  # a set, not np.isin: isin compares objects pairwise
    mask[is_incident] = [r in wanted for r in ref[is_incident].tolist()]
    mask[is_alarm] = [alarms.get(r, True) for r in ref[is_alarm].tolist()]
    if services:
        mask[is_deploy] = [
            not isinstance(s, str) or not s or _fold(s) in services
            for s in service[is_deploy].tolist()
        ]
    return mask


def _kinds(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which rows are PagerDuty incident rows, alarm rows, deploy rows (each kind tested once)."""
    codes, kinds = pd.factorize(frame["kind"].to_numpy())
    said = [k if isinstance(k, str) else str(k) for k in kinds.tolist()]
    starts = np.array([k.startswith("incident.") for k in said] + [False], dtype=bool)
    alarm = np.array([k in ALARM_KINDS for k in said] + [False], dtype=bool)
    deploy = np.array([k in DEPLOY_KINDS for k in said] + [False], dtype=bool)
    is_incident = (frame["source"].to_numpy() == "pagerduty") & starts[codes]
    return is_incident, alarm[codes], deploy[codes]


def _arrays(groups: Mapping[Any, list[int]]) -> dict[Any, np.ndarray]:
    return {k: np.asarray(v, dtype=np.intp) for k, v in groups.items()}


_NONE = np.zeros(0, dtype=np.intp)


@dataclass(frozen=True)
class IncidentRows:
    """A frame's in-scope rows by whose they are, so one incident's rows cost only their number."""

    everyone: np.ndarray
    """Rows that are every incident's: unlinked alarms, deploys naming no service, other rows."""
    own: Mapping[str, np.ndarray]
    """Incident ref -> its own PagerDuty rows."""
    paged: Mapping[str, np.ndarray]
    """Incident ref -> the rows of the alarms that paged it."""
    alarms: Mapping[str, np.ndarray]
    """Folded service -> the rows of the alarms linked to it (not by a page)."""
    deploys: Mapping[str, np.ndarray]
    """Folded service -> the rows of its deploys."""
    services: Mapping[str, str | None]
    """Incident ref -> its service."""

    def of(self, incident: str) -> np.ndarray:
        """The ascending positions of ``incident``'s rows."""
        service = self.services.get(incident)
        if service is None:
            alarms = [*self.alarms.values()]
            deploys = [*self.deploys.values()]
        else:
            alarms = [self.alarms.get(_fold(service), _NONE)]
            deploys = [self.deploys.get(_fold(service), _NONE)]
        parts = [self.everyone, self.own.get(incident, _NONE), self.paged.get(incident, _NONE)]
        return np.sort(np.concatenate([*parts, *alarms, *deploys]))


def incident_rows(frame: pd.DataFrame, scope: Scope) -> IncidentRows:
    """Index ``frame``'s in-scope rows by whose they are (see :func:`incident_mask`)."""
    is_incident, is_alarm, is_deploy = _kinds(frame)
    ref, service = frame["ref"].to_numpy(), frame["service"].to_numpy()
    links = {k.ref: k for k in scope.links}
    everyone = np.flatnonzero(scope.mask & ~is_incident & ~is_alarm & ~is_deploy).tolist()
    own: dict[Any, list[int]] = {}
    paged: dict[Any, list[int]] = {}
    alarms: dict[Any, list[int]] = {}
    deploys: dict[Any, list[int]] = {}
    for p in np.flatnonzero(is_incident & scope.mask).tolist():
        own.setdefault(ref[p], []).append(p)
    for p in np.flatnonzero(is_alarm & scope.mask).tolist():
        link = links.get(ref[p])
        if link is None or link.reason is None:
            everyone.append(p)
        elif link.incident is not None:
            paged.setdefault(link.incident, []).append(p)
        else:
            alarms.setdefault(_fold(link.service or ""), []).append(p)
    for p in np.flatnonzero(is_deploy & scope.mask).tolist():
        s = service[p]
        if isinstance(s, str) and s:
            deploys.setdefault(_fold(s), []).append(p)
        else:
            everyone.append(p)
    return IncidentRows(
        np.sort(np.asarray(everyone, dtype=np.intp)),
        _arrays(own),
        _arrays(paged),
        _arrays(alarms),
        _arrays(deploys),
        scope.incident_services,
    )


def incident_mask(frame: pd.DataFrame, scope: Scope, incident: str) -> np.ndarray:
    """The in-scope rows that belong to ``incident``: its own, its alarms, its service's deploys.

    An alarm that paged another incident, or is linked to another service, is not its; an
    unlinked in-scope alarm and a deploy naming no service are everyone's. For many incidents
    of one frame, index it once with :func:`incident_rows` and ask :meth:`IncidentRows.of`.
    """
    mask = np.zeros(len(frame), dtype=bool)
    mask[incident_rows(frame, scope).of(incident)] = True
    return mask
