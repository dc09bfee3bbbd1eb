"""The TOML configuration, read into frozen dataclasses and validated with key names in errors.

Every section is optional. The core sections (``[timeline]``, ``[render]``, ``[batch]``) are
declared here; each source's table (``[cloudwatch]``, ``[[deploys]]`` ``type = "github"``...) is
declared by its own package and found through the source registry, so this module names no
source. A source whose table is absent is *not configured*, and the draft says so rather than
skipping it silently. ``config.example.toml`` documents every key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from .errors import ConfigError
from .model import PastIncident
from .settings import did_you_mean, is_credential, key, looks_like_token, read_table, token_advice
from .sources.base import Collector
from .sources.registry import BuildContext, Source, configured, registry

T = TypeVar("T")


@dataclass(frozen=True)
class TimelineConfig:
    """``[timeline]``: how milestones are found."""

    suspect_lookback_hours: float = key(6.0, "suspect_lookback_hours = 6")
    long_lookback_days: float = key(30.0, "long_lookback_days = 30")
    """Days before the window in which the affected service's last deploys are listed apart (0:
    off)."""
    flap_transitions: int = key(3, "flap_transitions = 3")
    """An alarm with this many transitions within flap_minutes, back to ALARM after an OK, is one
    "flapped" timeline line (the JSON keeps every transition; 0: never fold)."""
    flap_minutes: float = key(10.0, "flap_minutes = 10")


@dataclass(frozen=True)
class RenderConfig:
    """``[render]``: how the Markdown draft is written."""

    template: str = key("", 'template = "postmortem-template.md.j2"')
    """Your own jinja2 template for the Markdown draft, relative to the config file; empty:
    built-in."""


@dataclass(frozen=True)
class BatchConfig:
    """``[batch]``: the scheduled job that drafts every qualifying resolved incident once."""

    lookback_hours: float = key(24.0, "lookback_hours = 24")
    """First run only: incidents resolved this many hours before it are drafted."""
    overlap_minutes: int = key(15, "overlap_minutes = 15")
    """Each run looks this far behind the last one's high-water mark, for late-arriving resolutions.
    """
    created_within_days: int = key(7, "created_within_days = 7")
    """Incidents created at most this many days before the run's start are found (PagerDuty lists by
    creation)."""
    priorities: list[str] = key([], 'priorities = ["P1", "P2"]')
    """Only incidents with one of these priority names; empty: any priority, or none."""
    urgencies: list[str] = key([], 'urgencies = ["high"]')
    service_ids: list[str] = key([], 'service_ids = ["PABC123"]')
    """Only these services; empty: [pagerduty] service_ids, else every service."""
    team_ids: list[str] = key([], 'team_ids = ["PTEAM01"]')
    output: str = key("postmortems", 'output = "s3://my-bucket/postmortems/"')
    """A directory (relative to this file) or s3://bucket/prefix/."""
    state: str = key("sqlite", 'state = "dynamodb"')
    state_path: str = key("pmdraft-state.sqlite3", 'state_path = "/var/lib/pmdraft/state.sqlite3"')
    table: str = key("", 'table = "pmdraft-state"')
    aws_region: str = key("", 'aws_region = "eu-west-1"')
    aws_endpoint_url: str = key("", 'aws_endpoint_url = "http://127.0.0.1:5000"')
    max_attempts: int = key(3, "max_attempts = 3")
    """Drafts per incident while a source keeps failing, before the job stops retrying it."""
    claim_minutes: int = key(30, "claim_minutes = 30")
    """How long a runner's claim on an incident lasts; a crashed run's incidents are retried after
    it."""
    annotate_from: str = key("", 'annotate_from = "pmdraft-bot@example.com"')
    """With --annotate: the PagerDuty user's email the notes are added as (the From header)."""
    link_base: str = key("", 'link_base = "https://wiki.example.com/postmortems/"')
    """With --annotate: the note links link_base + file name; empty: the draft's path or s3:// URL.
    """


@dataclass(frozen=True)
class ConfluenceConfig:
    """``[confluence]``: where ``pmdraft publish`` puts drafts (credentials from the environment:
    ``CONFLUENCE_USER`` and ``CONFLUENCE_API_TOKEN``, never the file)."""

    base_url: str = key("", 'base_url = "https://acme.atlassian.net/wiki"')
    """The site's /wiki root; empty: --confluence-url must be given."""
    space_key: str = key("", 'space_key = "SRE"')
    """The space drafts go to; --confluence-space overrides it."""
    parent_title: str = key("", 'parent_title = "Postmortems"')
    """The page drafts are created under; empty: the space's top level."""


@dataclass(frozen=True)
class RunConfig:
    """``[run]``: limits that hold for every run (draft, timeline, batch)."""

    max_requests: int = key(5000, "max_requests = 5000")
    """Most HTTP requests one source may make in one run (retries count); default 5000. A source
    that reaches it stops and becomes a named gap; the others go on. In ``batch``, the incident
    listing and each incident's draft are runs of their own."""


@dataclass(frozen=True)
class ServiceConfig:
    """``[[services]]``: one service of the catalog, and the names other systems give it.

    A draft's scope is its incidents' services; the catalog says which PagerDuty services,
    deploy names and alarms belong to each (README: "Scope, the catalog and concurrent activity").
    """

    name: str = key("", 'name = "checkout"', required=True)
    """The service's name, as the draft says it."""
    pagerduty_service_ids: list[str] = key([], 'pagerduty_service_ids = ["PCHK01"]')
    """PagerDuty services of this service: their incidents are said as ``name``."""
    deploy_services: list[str] = key([], 'deploy_services = ["checkout", "checkout-web"]')
    """The service names your deploy systems write (case ignored): their deploys are ``name``'s."""
    alarm_prefixes: list[str] = key([], 'alarm_prefixes = ["checkout-"]')
    """CloudWatch alarms whose name starts with one of these belong to this service."""
    alarm_tags: dict[str, str] = key({}, 'alarm_tags = { team = "checkout" }')
    """CloudWatch alarms with all of these tags belong to this service (needs the alarms' tags:
    ``[cloudwatch] alarm_services = true``)."""


_STATE_KINDS = ("sqlite", "dynamodb")
_CORE: dict[str, type] = {
    "timeline": TimelineConfig,
    "render": RenderConfig,
    "batch": BatchConfig,
    "confluence": ConfluenceConfig,
    "run": RunConfig,
}
_ARRAYS = ("deploys", "services")


@dataclass(frozen=True)
class Config:
    """The whole configuration: each configured source's settings, and the core sections."""

    sections: Mapping[str, Any] = field(default_factory=dict)
    """Top-level source table name (``cloudwatch``) -> its settings; absent: not configured."""
    deploys: tuple[Any, ...] = ()
    """Each ``[[deploys]]`` table's settings, in the file's order (each has a ``type``)."""
    timeline: TimelineConfig = field(default_factory=TimelineConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)
    confluence: ConfluenceConfig = field(default_factory=ConfluenceConfig)
    run: RunConfig = field(default_factory=RunConfig)
    path: Path | None = None
    warnings: tuple[str, ...] = ()
    """Things the file holds that work but should not be there (a value shaped like a token)."""
    incidents: tuple[str, ...] = ()
    """PagerDuty incident ids the run is scoped to (``--incident``); set by the caller."""
    incident_numbers: tuple[int, ...] = ()
    """Their numbers (an incident channel's name carries the number); set by the caller."""
    services: tuple[ServiceConfig, ...] = ()
    """The service catalog (``[[services]]``), in the file's order."""
    concurrent_incidents: tuple[PastIncident, ...] = ()
    """With ``--incident``: the window's other incidents (concurrent activity); set by the
    caller."""
    concurrent_error: str | None = None
    """Why the window's other incidents could not be listed, if they could not."""

    @property
    def base_dir(self) -> Path:
        """Relative paths in the file (deploy logs, CA bundle) are taken from here."""
        return self.path.parent if self.path else Path.cwd()

    def resolve(self, relative: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def get(self, kind: type[T]) -> T | None:
        """The settings of the source table of type ``kind``, or ``None`` if not configured."""
        found = next((s for s in self.sections.values() if isinstance(s, kind)), None)
        return found

    def with_settings(self, settings: Any) -> Config:
        """This config with one source table's settings replaced (by their type)."""
        name = next(n for n, s in self.sections.items() if type(s) is type(settings))
        return replace(self, sections={**self.sections, name: settings})

    @property
    def deploy_lookback(self) -> timedelta:
        """How long before the window deploys are read: the suspect or the long lookback."""
        return max(
            timedelta(hours=self.timeline.suspect_lookback_hours),
            timedelta(days=self.timeline.long_lookback_days),
        )

    def context(self, environ: Mapping[str, str]) -> BuildContext:
        """What the sources' ``build`` and ``check`` need besides their own settings."""
        return BuildContext(
            environ=environ,
            base_dir=self.base_dir,
            incidents=self.incidents,
            incident_numbers=self.incident_numbers,
            deploy_lookback=self.deploy_lookback,
            max_requests=self.run.max_requests,
        )

    def settings_of(self, source: Source) -> list[Any]:
        """The settings that configure ``source``: its table, or its ``[[deploys]]`` tables."""
        return configured(source, self.sections, self.deploys)

    def collectors(self, name: str, environ: Mapping[str, str]) -> list[Collector]:
        """The collectors of the one source called ``name`` (none if it is not configured)."""
        source = registry.get(name)
        context = self.context(environ)
        return [c for one in self.settings_of(source) for c in source.build(one, context)]

    def source_details(self, name: str) -> str | None:
        """What this config reads from source ``name``, in a few words; ``None`` if not
        configured."""
        source = registry.get(name)
        described = [source.describe(s) for s in self.settings_of(source)]
        return "; ".join(described) or None


def _sources_phrase() -> str:
    """``[cloudwatch], [pagerduty] or [[deploys]]``: every way to configure a source."""
    tables = [f"[{t}]" for t in registry.by_table()]
    return ", ".join(tables) + " or [[deploys]]"


def _deploy_table(origin: str, table: Any) -> Any:
    """One ``[[deploys]]`` table, read by the source its ``type`` names (default ``file``)."""
    types = registry.by_deploy_type()
    kind = table.get("type", "file") if isinstance(table, dict) else "file"
    if isinstance(kind, str) and kind not in types:
        known = ", ".join(f'"{t}"' for t in types)
        raise ConfigError(f"{origin}: [[deploys]] type {kind!r} is not known; use one of {known}")
    source = types.get(kind) if isinstance(kind, str) else None
    return (source or types["file"]).read(origin, table)


def _unknown_section(origin: str, name: str, data: Mapping[str, Any]) -> ConfigError:
    """The error for a top-level name that is not a section (a credential gets its own advice)."""
    if is_credential(name, data[name]):
        advice = token_advice(data.get("pagerduty"))
        return ConfigError(
            f"{origin}: key '{name}' looks like a credential: {advice}; remove '{name}' from the "
            "file"
        )
    known = [*registry.by_table(), "deploys", *_CORE, "services"]
    listed = ", ".join(f"[[{k}]]" if k in _ARRAYS else f"[{k}]" for k in known)
    return ConfigError(
        f"{origin}: unknown section [{name}]{did_you_mean(name, known)}; known sections: {listed}"
    )


def _check_batch(origin: str, bc: BatchConfig) -> None:
    if bc.state not in _STATE_KINDS:
        raise ConfigError(
            f'{origin}: [batch] state {bc.state!r} is not known; use "sqlite" or "dynamodb"'
        )
    if bc.state == "dynamodb" and not bc.table:
        raise ConfigError(
            f'{origin}: [batch] state = "dynamodb" needs the table\'s name; for example: '
            'table = "pmdraft-state"'
        )
    for name in ("max_attempts", "claim_minutes"):
        if getattr(bc, name) < 1:
            raise ConfigError(
                f"{origin}: [batch] key '{name}' must be at least 1, got {getattr(bc, name)}"
            )


def read_services(origin: str, raw: Any) -> tuple[ServiceConfig, ...]:
    """The ``[[services]]`` tables, validated: each named once, each deploy name claimed once."""
    if not isinstance(raw, list):
        raise ConfigError(
            f"{origin}: services must be an array of tables: write [[services]] (two brackets)"
        )
    services = tuple(read_table(origin, "services", t, ServiceConfig) for t in raw)
    names: dict[str, str] = {}
    claimed: dict[str, str] = {}
    for s in services:
        if s.name.casefold() in names:
            raise ConfigError(
                f"{origin}: [[services]] name {s.name!r} is listed twice; "
                "give each service one table"
            )
        names[s.name.casefold()] = s.name
        for d in s.deploy_services:
            other = claimed.setdefault(d.casefold(), s.name)
            if other != s.name:
                raise ConfigError(
                    f"{origin}: [[services]] key 'deploy_services': {d!r} is claimed by both "
                    f"{other!r} and {s.name!r}; list it under one service"
                )
    return services


def _token_warnings(origin: str, data: Mapping[str, Any]) -> tuple[str, ...]:
    """A warning per key whose value is shaped like an API token (the value is never shown)."""
    return tuple(
        f"{origin}: [{section}] key '{name}' holds a value shaped like a PagerDuty API token "
        f"(not shown); if it is one, {token_advice(data.get('pagerduty'))}, and remove it "
        "from the file"
        for section, tables in data.items()
        for table in (tables if isinstance(tables, list) else [tables])
        if isinstance(table, dict)
        for name, value in table.items()
        if looks_like_token(value)
    )


def parse_config(text: str, origin: str = "<config>", path: Path | None = None) -> Config:
    """Parse TOML text into a :class:`Config`; ``origin`` names the file in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: invalid TOML: {exc}") from exc
    tables = registry.by_table()
    unknown = [k for k in data if k not in tables and k not in _ARRAYS and k not in _CORE]
    if unknown:
        raise _unknown_section(origin, unknown[0], data)
    sections = {name: tables[name].read(origin, data[name]) for name in tables if name in data}
    raw_deploys = data.get("deploys", [])
    if not isinstance(raw_deploys, list):
        raise ConfigError(
            f"{origin}: deploys must be an array of tables: write [[deploys]] (two brackets)"
        )
    deploys = tuple(_deploy_table(origin, d) for d in raw_deploys)
    core = {
        name: read_table(origin, name, data[name], cls) if name in data else cls()
        for name, cls in _CORE.items()
    }
    _check_batch(origin, core["batch"])
    if core["run"].max_requests < 1:
        raise ConfigError(
            f"{origin}: [run] key 'max_requests' must be at least 1, got "
            f"{core['run'].max_requests}; for example: max_requests = 5000"
        )
    services = read_services(origin, data.get("services", []))
    if not sections and not deploys:
        raise ConfigError(
            f"{origin}: no source is configured; add at least one of {_sources_phrase()} "
            "(see config.example.toml)"
        )
    return Config(
        sections=sections,
        deploys=deploys,
        timeline=core["timeline"],
        render=core["render"],
        batch=core["batch"],
        confluence=core["confluence"],
        run=core["run"],
        services=services,
        path=path,
        warnings=_token_warnings(origin, data),
    )


def load_config(path: Path) -> Config:
    """Read and validate the config file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            f"config file {path} does not exist; copy config.example.toml to start"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} could not be read: {exc}") from exc
    return parse_config(text, origin=str(path), path=path.resolve())
