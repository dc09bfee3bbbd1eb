"""Each incident's rows, indexed once per frame, are the rows the scope rules give it.

The reference below is the per-incident computation the index replaced (the whole frame scanned
for each incident); random windows with catalog links, unlinked alarms, service-less deploys and
incidents, chat messages and narrowed scopes must give every incident the same rows and the same
milestones either way.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from pmdraft.model import ALARM_KINDS, DEPLOY_KINDS, Event
from pmdraft.timeline import analyse
from pmdraft.timeline.scope import Scope, find_scope, incident_mask, incident_rows

from .test_scope import Service, alarm, deploy, frame, page, t


def reference_mask(frame: pd.DataFrame, scope: Scope, incident: str) -> np.ndarray:
    """An incident's rows as found before the index: every rule applied to the whole frame."""
    mask = scope.mask.copy()
    source, kind, ref, service = (frame[c].to_numpy() for c in ("source", "kind", "ref", "service"))
    is_incident = (source == "pagerduty") & np.char.startswith(kind.astype(str), "incident.")
    mask &= ~is_incident | (ref == incident)
    own = scope.incident_services.get(incident)
    links = {k.ref: k for k in scope.links}
    for p in np.flatnonzero(np.isin(kind, ALARM_KINDS) & mask).tolist():
        link = links.get(ref[p])
        if link is None or link.reason is None:
            continue
        if link.incident is not None:
            mask[p] = link.incident == incident
        else:
            mask[p] = own is None or (link.service or "").casefold() == own.casefold()
    if own is not None:
        for p in np.flatnonzero(np.isin(kind, DEPLOY_KINDS) & mask).tolist():
            s = service[p]
            mask[p] = not isinstance(s, str) or not s or s.casefold() == own.casefold()
    return mask


SERVICES = ("checkout", "payments", "Orders", "search")
CATALOG = [
    Service("payments", deploy_services=["payments-worker"], alarm_prefixes=["pay-"]),
    Service("search", alarm_tags={"team": "find"}),
]


def window(seed: int) -> list[Event]:
    """A random busy window: 30 incidents, 20 alarms, deploys and chat, some without a service."""
    rnd = random.Random(seed)
    names = [f"{rnd.choice([*SERVICES, 'pay', 'disk'])}-alarm-{a}" for a in range(20)]
    events: list[Event] = []
    fired: list[tuple[str, float]] = []
    for name in names:
        tags = {"tags": "team=find"} if rnd.random() < 0.2 else {}
        for k in range(rnd.randrange(2, 8)):
            at = rnd.uniform(0, 600)
            events.append(alarm(at, name, "ALARM" if k % 2 == 0 else "OK", **tags))
            fired += [(name, at)] if k % 2 == 0 else []
    for i in range(30):
        service = rnd.choice([*SERVICES, "orders", ""])
        name, start = rnd.choice(fired)
        start += rnd.uniform(0.5, 3)  # a page soon after an alarm fired: often its partner
        title = f'ALARM: "{name}"' if rnd.random() < 0.3 else "latency"
        events.append(page(start, "incident.triggered", 9000 + i, service, title))
        for kind in ("incident.notified", "incident.acknowledged", "incident.resolved"):
            start += rnd.uniform(0, 30)
            events.append(page(start, kind, 9000 + i, service))
    for _ in range(25):
        events.append(deploy(rnd.uniform(-10, 600), rnd.choice([*SERVICES, "payments-worker", ""])))
    for m in range(10):
        events.append(Event(t(rnd.uniform(0, 600)), "slack", "chat.message", f"m{m}", "on it"))
    return events


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_incident_gets_the_rows_and_milestones_the_rules_give_it(seed: int) -> None:
    """For all, some and one service's incidents, each incident's rows and analysis are unchanged."""
    f = frame(window(seed))
    refs = sorted(set(f[f["source"] == "pagerduty"]["ref"]))
    for scope in (
        find_scope(f, CATALOG),
        find_scope(f, CATALOG, incidents=refs[::3]),
        find_scope(f, CATALOG, service="orders"),
        find_scope(f),
    ):
        index = incident_rows(f, scope)
        for ref in refs:
            expected = reference_mask(f, scope, ref)
            rows = index.of(ref)
            assert rows.tolist() == np.flatnonzero(expected).tolist(), ref
            assert (incident_mask(f, scope, ref) == expected).all()
        for ref in scope.incidents[:3]:
            mine = analyse(f.take(index.of(ref)).reset_index(drop=True))
            before = analyse(f[reference_mask(f, scope, ref)].reset_index(drop=True))
            assert mine.milestones == before.milestones
            assert mine.durations == before.durations
