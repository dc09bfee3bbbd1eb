"""One call from config and window to a finished draft: collect, build the frame, analyse.

Everything the CLI does is also a Python call here: :func:`make_draft` returns a
:class:`Draft` of plain values that the renderers turn into text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .config import Config
from .heap import gc_paused
from .model import Event, IncidentRef, MetricSeries, PastIncident, Scalar, Window
from .pipeline import (
    Collected,
    Meanwhile,
    Progress,
    SourceReport,
    collect,
    start_collectors,
)
from .sources.base import Collector
from .sources.cloudwatch import CloudWatchConfig
from .warm import warm_up

# The timeline needs pandas (about 0.4 s to import): it is imported while the sources are read
# (:func:`pmdraft.warm.warm_up`), not when this module is.
if TYPE_CHECKING:
    from .facts import Refire, RelatedMatch
    from .timeline import Analysis, Row
    from .timeline.concurrent import Concurrent, IncidentFacts
    from .timeline.responders import Responder
    from .timeline.scope import CatalogService, IncidentRows, Scope
    from .timeline.suspects import Suspects

TIMELINE_MODULES = (
    "pmdraft.timeline",
    "pmdraft.timeline.concurrent",
    "pmdraft.timeline.correlate",
    "pmdraft.timeline.refires",
    "pmdraft.timeline.related",
    "pmdraft.timeline.responders",
    "pmdraft.timeline.scope",
)
"""What building a draft imports (pandas, numpy): imported while the sources are read."""


@dataclass(frozen=True)
class Settled:
    """What of a draft is final before its milestones are worked out (told to
    :func:`build_draft`'s ``events_ready``): the same values the finished :class:`Draft` has."""

    window: Window
    reports: tuple[SourceReport, ...]
    events: tuple[Event, ...]
    in_scope: tuple[bool, ...]


_T = TypeVar("_T")


class EventsReady(Protocol):
    """Told a draft's window, source reports, events and their in-scope flags as soon as all
    are final (:func:`build_draft`'s ``events_ready``), with ``aside``: the draft's own work
    that does not wait for its headline analysis (every other in-scope incident's analysis, the
    incidents and their people), which may run elsewhere meanwhile. It returns how to wait for
    ``aside``'s result (``None`` from that: not done, after all), or ``None`` when ``aside``
    runs nowhere; either way the draft then does that work itself."""

    def __call__(
        self, settled: Settled, aside: Callable[[], _T]
    ) -> Callable[[], _T | None] | None: ...


def _no_concurrent() -> Concurrent:
    from .timeline.concurrent import Concurrent

    return Concurrent()


@dataclass(frozen=True)
class Draft:
    """Everything a renderer needs, as plain values, complete when built (change it with
    :meth:`with_graphs` or :func:`dataclasses.replace`, which return a new draft)."""

    window: Window
    events: tuple[Event, ...]
    analysis: Analysis
    rows: tuple[Row, ...]
    reports: tuple[SourceReport, ...]
    generated_at: datetime | None = None
    incidents: tuple[IncidentRef, ...] = ()
    """The in-scope PagerDuty incidents, with who was assigned and who acknowledged."""
    responders: tuple[Responder, ...] = ()
    """Each person paged or acknowledging, per incident, with their time to acknowledge."""
    related: tuple[RelatedMatch, ...] = ()
    """Past PagerDuty incidents like these (same service or similar title), most similar first."""
    related_lookback_days: float | None = None
    """Days searched for related incidents; ``None`` when they were not looked for."""
    related_error: str | None = None
    """Why the past incidents could not be read, if they could not."""
    series: tuple[MetricSeries, ...] = ()
    """Each alarmed metric's datapoints (from CloudWatch's GetMetricData), for the graphs."""
    graphs: tuple[Mapping[str, str], ...] = ()
    """The graphs written beside the draft (path, title, alt), added by whoever writes them."""
    graphs_note: str | None = None
    """Why there are no graphs, when that is worth saying (matplotlib missing, --no-graphs)."""
    in_scope: tuple[bool, ...] = ()
    """Per event of :attr:`events`: whether it is in the draft's scope (empty: all are)."""
    scope: Scope | None = None
    """What the draft covers: its incidents, services and each alarm's link."""
    per_incident: tuple[IncidentFacts, ...] = ()
    """Each in-scope incident's own milestones and durations; the first is the headline's."""
    concurrent: Concurrent = field(default_factory=_no_concurrent)
    """What ran in the window outside the scope: other incidents, alarms and deploys."""
    refires: tuple[Refire, ...] = ()
    """In-scope alarms that went back to ALARM after recovering."""

    @property
    def suspects(self) -> Suspects:
        """Ranked suspect deploys (up to three leads) and the long lookback's deploys."""
        return self.analysis.suspects

    @property
    def rollback(self) -> Event | None:
        """The rollback after detection that was the mitigation action, if the deploys show one."""
        return self.analysis.rollback

    @property
    def metric_series(self) -> list[dict[str, Any]]:
        """:attr:`series` as plain dicts (what the CLI checks and older callers read)."""
        return [s.to_record() for s in self.series]

    @property
    def gaps(self) -> list[SourceReport]:
        """The sources that failed (the draft's "Data gaps")."""
        return [r for r in self.reports if r.status == "failed"]

    def with_graphs(
        self, graphs: Sequence[Mapping[str, str]] = (), note: str | None = None
    ) -> Draft:
        """This draft with the graphs written beside it (or the note saying why there are none)."""
        return replace(self, graphs=tuple(graphs), graphs_note=note)


def _text(value: Scalar) -> str | None:
    return None if value is None else str(value)


def _incidents(events: Sequence[Event]) -> tuple[IncidentRef, ...]:
    """One :class:`IncidentRef` per PagerDuty incident, from its first event and all its people."""
    seen: dict[str, IncidentRef] = {}
    from .timeline.responders import people

    who = people(events)
    for e in events:
        if e.source == "pagerduty" and e.kind.startswith("incident.") and e.ref not in seen:
            a = e.attrs
            number = a.get("incident_number")
            seen[e.ref] = IncidentRef(
                id=e.ref,
                number=number if isinstance(number, int) else None,
                title=_text(a.get("incident_title")),
                url=_text(a.get("incident_url")),
                priority=_text(a.get("priority")),
                urgency=_text(a.get("urgency")),
                service=e.service,
                escalation_policy=_text(a.get("escalation_policy")),
                assignees=tuple(who.get(e.ref, {}).get("assignees", [])),
                acknowledged_by=tuple(who.get(e.ref, {}).get("acknowledged_by", [])),
            )
    return tuple(seen.values())


def related_incidents(
    incidents: Sequence[IncidentRef], collected: Collected
) -> tuple[RelatedMatch, ...]:
    """Past incidents like the draft's own (those with events), ranked.

    See :mod:`pmdraft.timeline.related`; without PagerDuty's listing there are none.
    """
    from .timeline.related import related

    if collected.related is None:
        return ()
    scope, shown = collected.related.scope, {i.id for i in incidents}
    return tuple(
        related([i for i in scope if i.id in shown] or scope, collected.related.candidates)
    )


def _squashed(text: str) -> str:
    return "".join(c for c in text.casefold() if c not in " -_")


def alarms_of_services(events: Sequence[Event]) -> list[Event]:
    """``events`` without the CloudWatch alarms that mention none of the services in scope.

    The services in scope are those of the PagerDuty incidents and the deploys among ``events``;
    an alarm mentions one when its name, dimensions or tags contain it (case, spaces, "-" and
    "_" ignored). Without any such service, every alarm is kept.
    """
    services = {
        _squashed(e.service)
        for e in events
        if e.service
        and (
            e.kind.startswith("deploy.")
            or (e.source == "pagerduty" and e.kind.startswith("incident."))
        )
    }
    services.discard("")
    if not services:
        return list(events)

    def mentioned(e: Event) -> bool:
        """Whether alarm ``e``'s name, dimensions or tags mention a service in scope."""
        said = _squashed(
            " ".join(str(e.attrs.get(k) or "") for k in ("alarm_name", "dimensions", "tags"))
        )
        return any(s in said for s in services)

    return [e for e in events if e.source != "cloudwatch" or mentioned(e)]


def _service_ids(collected: Collected) -> dict[str, str]:
    """Incident id -> its PagerDuty service id, as the past-incident listing read them."""
    scope = collected.related.scope if collected.related else ()
    return {str(p.id): p.service_id for p in scope if p.id and p.service_id}


@dataclass(frozen=True)
class Scoping:
    """How a draft's scope is chosen: the catalog, the incidents named, one service, what else ran.

    Every field's default keeps the behaviour of a draft without a catalog: the incidents of the
    window, all of them.
    """

    catalog: Sequence[CatalogService] = ()
    """The service catalog (``[[services]]``)."""
    incidents: Sequence[str] = ()
    """Incident ids named with ``--incident``; empty: every incident of the window."""
    service: str | None = None
    """``--service``: only the incidents of this service."""
    listed: Sequence[PastIncident] = ()
    """The window's other incidents, listed apart (``--incident`` reads only its own)."""
    listed_error: str | None = None


# Long because it is the one place the stages meet: scope, frame, analysis per incident, rows,
# suspects, related and concurrent activity, each one call; splitting it would scatter the order.
def build_draft(
    collected: Collected,
    window: Window,
    *,
    suspect_lookback: timedelta = timedelta(hours=6),
    long_lookback: timedelta = timedelta(0),
    overrides: Mapping[str, datetime] | None = None,
    generated_at: datetime | None = None,
    flap_transitions: int = 3,
    flap_span: timedelta = timedelta(minutes=10),
    alarm_services: bool = False,
    scoping: Scoping | None = None,
    events_ready: EventsReady | None = None,
) -> Draft:
    """Turn gathered events into a draft: one sorted frame, its scope, milestones, rows, suspects.

    Deploys from before ``suspect_lookback`` ahead of the window (read for the long lookback)
    stay out of the frame and the timeline; they only feed the long lookback's list. With
    ``alarm_services``, alarms go through :func:`alarms_of_services` first. Milestones come from
    the in-scope rows only (:mod:`pmdraft.timeline.scope`): the headline ones from the first
    triggered incident in scope, each incident's own in :attr:`Draft.per_incident`.

    ``events_ready`` is told the draft's :attr:`~Draft.window`, :attr:`~Draft.reports`,
    :attr:`~Draft.events` and :attr:`~Draft.in_scope` (a :class:`Settled`) once they are final,
    before the milestones are worked out (the CLI starts writing the JSON draft's opening and
    events then, see :mod:`pmdraft.cli.forked`).
    """
    from .timeline import analyse, build_rows, frame_events
    from .timeline.columns import Columns
    from .timeline.concurrent import concurrent_activity
    from .timeline.correlate import correlate
    from .timeline.frame import framed
    from .timeline.refires import refires
    from .timeline.responders import responders
    from .timeline.scope import apply_catalog, find_scope

    how = scoping or Scoping()
    if alarm_services:
        collected = replace(collected, events=alarms_of_services(collected.events))
    events = apply_catalog(collected.events, how.catalog, _service_ids(collected))
    cutoff = window.since - suspect_lookback
    history = [e for e in events if e.at < cutoff and e.kind.startswith("deploy.")]
    current = [e for e in events if not (e.at < cutoff and e.kind.startswith("deploy."))]
    frame, positions = framed(current)
    frame = correlate(frame)
    scope = find_scope(
        frame,
        how.catalog,
        incidents=how.incidents,
        service=how.service,
        other_services=[p.service for p in how.listed if p.service],
    )

    all_events = tuple(frame_events(frame, (current, positions)))
    in_scope = tuple(scope.mask.tolist())
    reports = tuple(collected.reports)
    columns = Columns(frame)  # the frame's columns, taken once for every incident's analysis
    failed_sources = [r.name for r in collected.reports if r.status == "failed"]

    def analysis_of(rows: Any) -> Analysis:
        """The milestones of the rows at ascending positions ``rows`` (``None``: every row)."""
        return analyse(
            columns,
            rows=rows,
            suspect_lookback=suspect_lookback,
            overrides=overrides,
            failed_sources=failed_sources,
            history=history,
            long_lookback=long_lookback,
        )

    index = _incident_index(frame, scope)

    def the_others() -> tuple[IncidentFacts, ...]:
        """Every in-scope incident's own analysis but the headline's (the first's)."""
        return _per_incident(index, analysis_of, scope.incidents[1:])

    def aside() -> _Aside:
        """What of the draft does not wait for its headline analysis: the other incidents'
        analyses, and the in-scope incidents and their people (from the in-scope events)."""
        kept = tuple(e for e, keep in zip(all_events, in_scope, strict=True) if keep)
        return _Aside(the_others(), _incidents(kept), tuple(responders(kept)))

    # The headline analysis before the JSON child is forked: done here, it reads pages only this
    # process has (after the fork each page it touched would be copied first; busy month:
    # 0.005 s against 0.015-0.025 s).
    inner_rows = scope.mask.nonzero()[0] if scope.partial else None
    headline = _per_incident(index, analysis_of, scope.incidents[:1])
    analysis = headline[0].analysis if headline else analysis_of(inner_rows)
    fetch = None
    if events_ready is not None:
        fetch = events_ready(Settled(window, reports, all_events, in_scope), aside)
    inner = frame[scope.mask].reset_index(drop=True) if scope.partial else frame
    series = collected.series
    if alarm_services:
        names = {e.attrs.get("alarm_name") for e in all_events if e.source == "cloudwatch"}
        series = tuple(s for s in series if s.alarm_name in names)
    rows = build_rows(inner, analysis.marks, flap_transitions=flap_transitions, flap_span=flap_span)
    concurrent = concurrent_activity(frame, scope, how.listed, how.listed_error)
    refired = tuple(refires(inner))
    # The aside last: done elsewhere meanwhile (the JSON draft's child), it is ready by now.
    told = fetch() if fetch is not None else None
    done = aside() if told is None else told
    rel = collected.related
    return Draft(
        window=window,
        events=all_events,
        analysis=analysis,
        rows=tuple(rows),
        reports=reports,
        generated_at=generated_at,
        incidents=done.incidents,
        responders=done.responders,
        related=related_incidents(done.incidents, collected),
        related_lookback_days=rel.lookback_days if rel else None,
        related_error=rel.error if rel else None,
        series=series,
        in_scope=in_scope,
        scope=scope,
        per_incident=(*headline, *done.others),
        concurrent=concurrent,
        refires=refired,
    )


@dataclass(frozen=True)
class _Aside:
    """:func:`build_draft`'s work that may be done beside it (see :data:`EventsReady`)."""

    others: tuple[IncidentFacts, ...]
    """Every in-scope incident's own analysis but the headline's."""
    incidents: tuple[IncidentRef, ...]
    responders: tuple[Responder, ...]


@dataclass(frozen=True)
class _IncidentIndex:
    """Where each in-scope incident's rows are, and its number, worked out once for every
    incident's analysis (before the JSON draft's child is forked, so that neither process reads
    the whole frame for them again)."""

    rows: IncidentRows | None
    """The rows by whose they are; ``None`` when the one incident's rows are all the frame's."""
    numbers: Mapping[str, int | None]
    """Incident ref -> its number: the last one its rows give."""


def _incident_index(frame: Any, scope: Scope) -> _IncidentIndex:
    """:class:`_IncidentIndex` of ``frame``'s in-scope incidents (see
    :func:`.timeline.scope.incident_rows`)."""
    from .timeline.scope import incident_rows

    # Each incident's number: the last one its rows give (read from the last row back).
    wanted = set(scope.incidents)
    numbers: dict[str, int | None] = {}
    refs, attrs_of = frame["ref"].tolist(), frame["attrs"].tolist()
    for ref, attrs in zip(reversed(refs), reversed(attrs_of), strict=True):
        if ref in wanted and ref not in numbers:
            number = attrs.get("incident_number")
            if number is not None:
                numbers[str(ref)] = number if isinstance(number, int) else None
    whole = len(scope.incidents) == 1 and not scope.partial
    rows = incident_rows(frame, scope) if scope.incidents and not whole else None
    return _IncidentIndex(rows, numbers)


def _per_incident(
    index: _IncidentIndex, analysis_of: Callable[[Any], Analysis], refs: Sequence[str]
) -> tuple[IncidentFacts, ...]:
    """The own analysis of each in-scope incident of ``refs`` (its rows:
    :meth:`.timeline.scope.IncidentRows.of`): each incident costs its own rows, not the
    frame's."""
    from .timeline.concurrent import IncidentFacts

    rows = index.rows
    return tuple(
        IncidentFacts(
            ref, index.numbers.get(ref), analysis_of(None if rows is None else rows.of(ref))
        )
        for ref in refs
    )


def make_draft(
    config: Config,
    window: Window,
    environ: Mapping[str, str],
    *,
    overrides: Mapping[str, datetime] | None = None,
    collectors: Sequence[Collector] | None = None,
    generated_at: datetime | None = None,
    progress: Progress | None = None,
    service: str | None = None,
    warm: Sequence[str] = (),
    shared: Mapping[str, Any] | None = None,
    events_ready: EventsReady | None = None,
    meanwhile: Meanwhile | None = None,
) -> Draft:
    """Collect every configured source for ``window`` and build the draft.

    While the sources are read, a background thread imports the timeline and the modules named
    in ``warm`` (the renderer the caller will use), so their imports cost no wall time after.

    ``progress`` is passed to :func:`pmdraft.pipeline.collect` (per-source counts while it runs);
    ``service`` (``--service``) narrows the draft to that service's incidents; ``shared`` is a
    batch run's reads made once (:func:`pmdraft.pipeline.build_collectors`); ``events_ready``
    is :func:`build_draft`'s; ``meanwhile`` is given each source's events while the others are
    still read (:data:`pmdraft.pipeline.Meanwhile`).
    """
    # Reading and building make hundreds of thousands of objects and few cycles (.heap).
    with gc_paused():
        not_configured: list[str] = []
        apart = None
        if collectors is None:
            # A collector that runs apart starts reading as soon as it is built.
            built, not_configured, apart = start_collectors(config, environ, shared, window)
            collectors = built
        # The warm-up thread starts once any collector that runs apart has been forked.
        collected = collect(
            collectors,
            window,
            not_configured,
            progress=progress,
            started=lambda: warm_up(collectors, (*TIMELINE_MODULES, *warm)),
            apart=apart,
            meanwhile=meanwhile,
        )
        cw = config.get(CloudWatchConfig)
        alarm_services = cw is not None and cw.alarm_services
        scoping = Scoping(
            catalog=config.services,
            incidents=config.incidents,
            service=service,
            listed=config.concurrent_incidents,
            listed_error=config.concurrent_error,
        )
        return build_draft(
            collected,
            window,
            suspect_lookback=timedelta(hours=config.timeline.suspect_lookback_hours),
            long_lookback=timedelta(days=config.timeline.long_lookback_days),
            overrides=overrides,
            generated_at=generated_at,
            flap_transitions=config.timeline.flap_transitions,
            flap_span=timedelta(minutes=config.timeline.flap_minutes),
            alarm_services=alarm_services,
            scoping=scoping,
            events_ready=events_ready,
        )
