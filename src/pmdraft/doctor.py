"""``pmdraft doctor``: is each configured source reachable with the access a draft needs?

The config is read first; then every registered source runs its own ``check`` (one cheap read per
region, repository or file, with the draft's own clients), and a source that is not configured is
one "off" line saying how to add it. Every check becomes a :class:`Check`, pass or fail, with what
to do next; nothing is printed here, and a token is never part of a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .config import load_config
from .errors import PmdraftError
from .sources.registry import DEPLOYS, FAIL, OFF, OK, Check, registry

__all__ = ["FAIL", "OFF", "OK", "Check", "run_checks"]


def run_checks(config_path: Path, environ: Mapping[str, str]) -> list[Check]:
    """The config, then every registered source: one cheap read each."""
    try:
        config = load_config(config_path)
    except PmdraftError as exc:
        return [Check("config", FAIL, str(exc))]
    checks = [Check("config", OK, str(config_path))]
    checks += [Check("config", FAIL, w) for w in config.warnings]
    context = config.context(environ)
    for source in registry:
        settings = config.settings_of(source)
        if not settings and source.table is not None:
            hint = f"not configured: {source.how_to_add} to read {source.title}"
            checks.append(Check(source.name, OFF, hint))
        for one in settings:
            checks += source.check(one, context)
    if not config.deploys:
        # The deploy systems are alternatives: one line for all of them, not one per type.
        types = ", ".join(registry.by_deploy_type())
        hint = f"not configured: add a [[deploys]] table per deploy source (type = {types})"
        checks.append(Check(DEPLOYS, OFF, hint))
    return checks
