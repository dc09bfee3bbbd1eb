"""Every source pmdraft can read, registered by name: what the config, doctor, ``pmdraft sources``
and the pipeline iterate instead of naming sources.

A source is one package under ``pmdraft/sources/`` whose ``__init__`` exports ``SOURCES``, a
tuple of :class:`Source` entries. The registry finds those packages itself (a package whose name
starts with ``_`` is a shared helper, not a source), so adding a source touches its own package
and its tests only; registering a name twice is refused.

A source is configured either by its own top-level table (``[cloudwatch]``) or, for the deploy
systems, by a ``[[deploys]]`` table whose ``type`` names it (``type = "codedeploy"``).
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..errors import PmdraftError
from .base import Collector

OK, FAIL, OFF = "ok", "FAIL", "off"
"""Doctor statuses: it works; it needs fixing; the source is not configured (not an error)."""


@dataclass(frozen=True)
class Check:
    """One line of the doctor's table: what was checked, its status, and the detail or the fix."""

    name: str
    status: str
    detail: str

    @property
    def failed(self) -> bool:
        """Whether this line needs fixing (the doctor then exits 1)."""
        return self.status == FAIL


def short(exc: BaseException, limit: int = 200) -> str:
    """``exc`` on one line, at most ``limit`` characters (for a doctor line or a gap)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class BuildContext:
    """What building a source's collectors may use besides its own section."""

    environ: Mapping[str, str]
    """The environment (tokens are read from it, never from the file or a flag)."""
    base_dir: Path
    """Relative paths in the config file (deploy logs, CA bundles) are taken from here."""
    incidents: tuple[str, ...] = ()
    """PagerDuty incident ids the run is scoped to (``--incident``); empty: the whole window."""
    incident_numbers: tuple[int, ...] = ()
    """Their PagerDuty numbers (for sources that find an incident's channel by its number)."""
    deploy_lookback: timedelta = timedelta(hours=6)
    """How long before the window deploys are read (the longer of the suspect and long lookbacks).
    """
    max_requests: int | None = None
    """``[run] max_requests``: most requests one source may make in a run; ``None``: no ceiling."""
    shared: Mapping[str, Any] = field(default_factory=dict)
    """Reads a batch run made once for many drafts, by source name (``cloudwatch``:
    a ``SharedHistory``; ``pagerduty``: a ``SharedReads``' view); empty: each draft reads alone."""

    def resolve(self, relative: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.base_dir / path


Reader = Callable[[str, Any], Any]
"""Reads one raw TOML table (``origin`` names the file in errors) into the source's settings."""


@dataclass(frozen=True)
class Source:
    """One readable source: its name, how it is configured, built, described and checked."""

    name: str
    """Unique; the name in ``pmdraft sources``, the doctor's table, and the draft's Sources."""
    title: str
    """What it reads, in a few words (``CloudWatch alarm history``)."""
    settings: type
    """The frozen dataclass of its config table."""
    read: Reader
    """TOML table -> settings, validated (unknown keys, types, values), raising ``ConfigError``."""
    build: Callable[[Any, BuildContext], list[Collector]]
    """Settings -> collectors (the heavy client libraries are imported here, not at import)."""
    describe: Callable[[Any], str]
    """What these settings read, in a few words, for ``pmdraft sources``."""
    check: Callable[[Any, BuildContext], list[Check]]
    """The doctor's cheap reads with the draft's own clients: one :class:`Check` per target."""
    table: str | None = None
    """The top-level table that configures it (``cloudwatch``); ``None`` for a deploy type."""
    deploy_type: str | None = None
    """For a deploy system: the ``type`` of its ``[[deploys]]`` tables."""
    env: tuple[str, ...] = field(default_factory=tuple)
    """Environment variables it may read secrets from by default (for the secret-leak tests)."""

    @property
    def how_to_add(self) -> str:
        """How a config turns this source on, for ``pmdraft sources`` and the doctor."""
        if self.deploy_type is not None:
            return f'add a [[deploys]] table with type = "{self.deploy_type}"'
        return f"add a [{self.table}] section"


class Registry:
    """Source name -> :class:`Source`; the built-in sources are found on first use."""

    def __init__(self, *, discover: bool = True) -> None:
        self._sources: dict[str, Source] = {}
        self._discover = discover
        self._loading = threading.RLock()

    def register(self, source: Source) -> Source:
        """Add ``source``; a name, table or deploy type registered twice is refused."""
        self._load()
        clash = next(
            (
                s
                for s in self._sources.values()
                if s.name == source.name
                or (source.table is not None and s.table == source.table)
                or (source.deploy_type is not None and s.deploy_type == source.deploy_type)
            ),
            None,
        )
        if clash is not None:
            raise PmdraftError(f"a source named {clash.name!r} is already registered")
        if (source.table is None) == (source.deploy_type is None):
            raise PmdraftError(f"source {source.name!r} needs exactly one of table and deploy_type")
        self._sources[source.name] = source
        return source

    def unregister(self, name: str) -> None:
        """Remove a source (for tests that register a toy one)."""
        self._load()
        del self._sources[name]

    def __iter__(self) -> Iterator[Source]:
        self._load()
        return iter(list(self._sources.values()))

    @property
    def names(self) -> list[str]:
        """Every registered name, built-in sources first, in their order."""
        return [s.name for s in self]

    def get(self, name: str) -> Source:
        """The source called ``name`` (``KeyError`` if there is none)."""
        self._load()
        return self._sources[name]

    def by_table(self) -> dict[str, Source]:
        """Top-level table name -> source."""
        return {s.table: s for s in self if s.table is not None}

    def by_deploy_type(self) -> dict[str, Source]:
        """``[[deploys]]`` type -> source."""
        return {s.deploy_type: s for s in self if s.deploy_type is not None}

    def _load(self) -> None:
        """Import each source package once and register its ``SOURCES``.

        Under a lock: two threads reading a config at once (two batch runners) must both see
        every source, not one of them a registry still being filled.
        """
        with self._loading:
            if not self._discover:
                return
            self._discover = False
            for module in builtin_packages():
                for source in importlib.import_module(module).SOURCES:
                    self.register(source)


BUILTIN_ORDER = ("cloudwatch", "pagerduty", "deploys")
"""Packages listed first in ``pmdraft sources``; any other source package follows by name."""


def builtin_packages() -> list[str]:
    """The module names of the source packages under ``pmdraft.sources``."""
    here = str(Path(__file__).parent)
    names = [m.name for m in pkgutil.iter_modules([here]) if m.ispkg and not m.name.startswith("_")]
    names.sort(
        key=lambda n: (BUILTIN_ORDER.index(n) if n in BUILTIN_ORDER else len(BUILTIN_ORDER), n)
    )
    return [f"{__package__}.{n}" for n in names]


def build_all(
    sections: Mapping[str, Any],
    deploys: Sequence[Any],
    context: BuildContext,
    each: Callable[[Collector], None] | None = None,
) -> tuple[list[Collector], list[str]]:
    """The collectors of every configured source, and the names of those not configured.

    The deploy systems are alternatives: while any ``[[deploys]]`` table is configured, the other
    deploy types are not reported missing; with none, ``deploys`` is, once. ``each`` is called
    with every collector as soon as it is built, in the order of the list returned (the
    pipeline starts a collector that runs apart then, before the next source is built).
    """
    collectors: list[Collector] = []
    missing: list[str] = []
    for source in registry:
        built: list[Collector] = []
        for settings in configured(source, sections, deploys):
            new = source.build(settings, context)
            if each is not None:
                for collector in new:
                    each(collector)
            built += new
        collectors += built
        if not built and source.table is not None:
            missing.append(source.name)
    if not deploys:
        missing.append(DEPLOYS)
    return collectors, missing


DEPLOYS = "deploys"
"""The name the deploy systems are reported under when none of them is configured."""


def configured(source: Source, sections: Mapping[str, Any], deploys: Sequence[Any]) -> list[Any]:
    """The settings objects that configure ``source``: its section, or its ``[[deploys]]``
    tables."""
    if source.table is not None:
        return [sections[source.table]] if source.table in sections else []
    return [d for d in deploys if getattr(d, "type", None) == source.deploy_type]


registry = Registry()
"""The sources pmdraft reads."""
