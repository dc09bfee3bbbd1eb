"""What a draft covers: with ``--incident``, the PagerDuty incidents named and the window around
them, and the window's other incidents (listed once, shown as concurrent activity).

Which events of the window are in scope is decided later, from the events themselves
(:mod:`pmdraft.timeline.scope`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from .config import Config
from .errors import CollectorError, InputError
from .model import PastIncident, Window
from .sources.pagerduty import PagerDutyConfig, ScopedPagerDutyConfig
from .sources.pagerduty import open_api as pagerduty_api
from .sources.pagerduty.events import past_incident


def scope_to_incidents(
    config: Config,
    environ: Mapping[str, str],
    refs: Sequence[str],
    *,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
    calls: Any = None,
) -> tuple[Config, Window]:
    """The config scoped to the PagerDuty incidents ``refs`` (numbers or ids), and their window.

    The incidents are looked up here, once: the scoped config carries their records
    (:class:`ScopedPagerDutyConfig`), so the collector does not ask for them again.
    The window runs from the earliest incident's creation minus ``incident_lookback_minutes`` to
    the latest resolution (``now`` for one still open) plus ``incident_after_minutes``;
    ``since`` and ``until`` can only widen it. The other incidents created in the window (of
    ``[pagerduty] service_ids``, when set) are listed once, for the draft's concurrent activity;
    a failed listing is said in the draft, not raised.

    ``calls``: the PagerDuty API to ask (a batch run's shared reads, which already hold the
    incidents' records); by default one opened here and closed after.
    """
    cfg = config.get(PagerDutyConfig)
    if cfg is None:
        raise InputError(
            "--incident needs PagerDuty: add a [pagerduty] section to the config "
            "(see config.example.toml)"
        )
    from .sources.pagerduty.collector import incident_window

    own = calls is None
    calls = pagerduty_api(cfg, config.context(environ)) if own else calls
    try:
        incidents = calls.resolve(refs)
        window = incident_window(
            incidents,
            lookback=timedelta(minutes=cfg.incident_lookback_minutes),
            after=timedelta(minutes=cfg.incident_after_minutes),
            now=now,
        )
        window = Window(
            min(window.since, since or window.since), max(window.until, until or window.until)
        )
        others, error = _others(calls, cfg, window, {i["id"] for i in incidents})
    finally:
        if own:
            calls.close()
    numbers = tuple(n for i in incidents if isinstance(n := i.get("incident_number"), int))
    name = next(n for n, s in config.sections.items() if s is cfg)
    settings = ScopedPagerDutyConfig(
        **{f.name: getattr(cfg, f.name) for f in dataclasses.fields(PagerDutyConfig)},
        resolved=tuple(incidents),
    )
    scoped = dataclasses.replace(
        config,
        sections={**config.sections, name: settings},
        incidents=tuple(i["id"] for i in incidents),
        incident_numbers=numbers,
        concurrent_incidents=others,
        concurrent_error=error,
    )
    return scoped, window


def _others(
    calls: Any, cfg: PagerDutyConfig, window: Window, named: set[str]
) -> tuple[tuple[PastIncident, ...], str | None]:
    """The incidents created in ``window`` besides ``named`` (one listing), or why there are
    none."""
    params = {"service_ids[]": list(cfg.service_ids)} if cfg.service_ids else {}
    try:
        listed = calls.list_incidents(window, params)
    except CollectorError as exc:
        return (), exc.message
    return tuple(past_incident(i) for i in listed if i.get("id") not in named), None
