"""What a draft covers: with ``--incident``, the PagerDuty incidents named and the window around
them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from .config import Config
from .errors import InputError
from .model import Window
from .sources.pagerduty import PagerDutyConfig, ScopedPagerDutyConfig
from .sources.pagerduty import open_api as pagerduty_api


def scope_to_incidents(
    config: Config,
    environ: Mapping[str, str],
    refs: Sequence[str],
    *,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[Config, Window]:
    """The config scoped to the PagerDuty incidents ``refs`` (numbers or ids), and their window.

    The incidents are looked up here, once: the scoped config carries their records
    (:class:`ScopedPagerDutyConfig`), so the collector does not ask for them again.
    The window runs from the earliest incident's creation minus ``incident_lookback_minutes`` to
    the latest resolution (``now`` for one still open) plus ``incident_after_minutes``;
    ``since`` and ``until`` can only widen it.
    """
    cfg = config.get(PagerDutyConfig)
    if cfg is None:
        raise InputError(
            "--incident needs PagerDuty: add a [pagerduty] section to the config "
            "(see config.example.toml)"
        )
    from .sources.pagerduty.collector import incident_window

    calls = pagerduty_api(cfg, config.context(environ))
    try:
        incidents = calls.resolve(refs)
    finally:
        calls.close()
    window = incident_window(
        incidents,
        lookback=timedelta(minutes=cfg.incident_lookback_minutes),
        after=timedelta(minutes=cfg.incident_after_minutes),
        now=now,
    )
    window = Window(
        min(window.since, since or window.since), max(window.until, until or window.until)
    )
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
    )
    return scoped, window
