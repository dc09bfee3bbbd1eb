"""A new source is one package plus its tests: registering it is all the rest of pmdraft needs.

The toy source below lives only in this file. Once registered, ``pmdraft sources`` lists it,
``pmdraft doctor`` runs its check, the config file accepts (and validates) its table, and a draft
contains its events, without any other module naming it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.errors import ConfigError, PmdraftError
from pmdraft.model import DEPLOY_SUCCEEDED, Event, SourceExtras, Window
from pmdraft.settings import key, read_table
from pmdraft.sources.registry import OK, BuildContext, Check, Source, builtin_packages, registry


@dataclass(frozen=True)
class ToyConfig:
    """``[toy]``: a source that reads nothing and says one thing."""

    greeting: str = key("hello", 'greeting = "hello"', required=True)
    """What the toy's one event says."""
    count: int = key(1, "count = 1")
    """How many events it gives."""


class ToyCollector:
    """Gives ``count`` deploy events at the window's start."""

    name = "toy"
    requests = 0
    detail = None

    def __init__(self, cfg: ToyConfig) -> None:
        self.cfg = cfg

    def collect(self, window: Window) -> Iterator[Event]:
        for n in range(self.cfg.count):
            yield Event(window.since, "toy", DEPLOY_SUCCEEDED, f"toy-{n}", self.cfg.greeting)

    def extras(self) -> SourceExtras:
        return SourceExtras()

    def close(self) -> None:
        pass


def read_toy(origin: str, table: Any) -> ToyConfig:
    cfg = read_table(origin, "toy", table, ToyConfig)
    if cfg.count < 0:
        raise ConfigError(f"{origin}: [toy] count must be 0 or more, got {cfg.count}")
    return cfg


TOY = Source(
    name="toy",
    title="toy greetings",
    settings=ToyConfig,
    read=read_toy,
    build=lambda cfg, context: [ToyCollector(cfg)],
    describe=lambda cfg: f"says {cfg.greeting!r} {cfg.count} time(s)",
    check=lambda cfg, context: [Check("toy", OK, f"ready to say {cfg.greeting!r}")],
    table="toy",
)


@pytest.fixture
def toy() -> Iterator[Source]:
    """The toy source, registered for one test."""
    registry.register(TOY)
    yield TOY
    registry.unregister("toy")


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_a_registered_source_is_listed_checked_validated_and_drafted(toy, tmp_path: Path) -> None:
    """`sources`, `doctor`, config validation and `draft` all see the toy source."""
    cfg = tmp_path / "pm.toml"
    cfg.write_text('[toy]\ngreeting = "hi there"\ncount = 2\n', encoding="utf-8")

    listed = run("sources", "--config", str(cfg))
    assert "toy         yes         says 'hi there' 2 time(s)\n" in listed.stdout

    doctor = run("doctor", "--config", str(cfg))
    assert "ready to say 'hi there'" in doctor.stdout

    draft = run(
        "draft",
        "--since",
        "2024-01-15T14:00:00Z",
        "--until",
        "2024-01-15T15:00:00Z",
        "--config",
        str(cfg),
        "--format",
        "json",
    )
    assert draft.exit_code == 0, draft.output
    assert draft.stdout.count('"summary": "hi there"') == 2

    cfg.write_text('[toy]\ngreting = "hi"\n', encoding="utf-8")
    bad = run("sources", "--config", str(cfg))
    assert bad.exit_code == 1
    assert f"{cfg}: [toy]: unknown key 'greting' (did you mean 'greeting'?)" in bad.stderr

    cfg.write_text('[toy]\ngreeting = "hi"\ncount = -1\n', encoding="utf-8")
    assert (
        f"{cfg}: [toy] count must be 0 or more, got -1"
        in run("sources", "--config", str(cfg)).stderr
    )


def test_without_registration_the_toy_table_is_an_unknown_section(tmp_path: Path) -> None:
    """Before the toy source is registered, `[toy]` is refused and the known sections are named."""
    cfg = tmp_path / "pm.toml"
    cfg.write_text('[toy]\ngreeting = "hi"\n', encoding="utf-8")
    result = run("sources", "--config", str(cfg))
    assert result.exit_code == 1
    assert "unknown section [toy]; known sections: [cloudwatch], [pagerduty]" in result.stderr


def test_a_name_table_or_deploy_type_registered_twice_is_refused(toy) -> None:
    """Registering the same name again, or another source on an existing table, is an error."""
    with pytest.raises(PmdraftError, match="a source named 'toy' is already registered"):
        registry.register(TOY)
    with pytest.raises(PmdraftError, match="a source named 'cloudwatch' is already registered"):
        registry.register(Source(**{**TOY.__dict__, "name": "toy2", "table": "cloudwatch"}))
    github_again = {**TOY.__dict__, "name": "gh2", "table": None, "deploy_type": "github"}
    with pytest.raises(PmdraftError, match="a source named 'github' is already registered"):
        registry.register(Source(**github_again))


def test_every_source_package_is_found_and_every_deploy_type_is_its_own_source() -> None:
    """The registry finds each package under pmdraft/sources and registers each deploy type by name."""
    assert [p.rsplit(".", 1)[-1] for p in builtin_packages()][:3] == [
        "cloudwatch",
        "pagerduty",
        "deploys",
    ]
    assert registry.names == [
        "cloudwatch",
        "pagerduty",
        "deploys",
        "codedeploy",
        "github",
        "cloudtrail",
        "slack",
    ]
    assert list(registry.by_deploy_type()) == ["file", "codedeploy", "github", "cloudtrail"]


def test_build_context_resolves_paths_from_the_config_folder(tmp_path: Path) -> None:
    """A relative path in a source's table is taken from the config file's folder."""
    context = BuildContext(environ={}, base_dir=tmp_path)
    assert context.resolve("logs/deploys.jsonl") == tmp_path / "logs" / "deploys.jsonl"
    assert context.resolve("/abs/x") == Path("/abs/x")
