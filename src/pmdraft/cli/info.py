"""The commands around a draft: ``sources``, ``doctor``, ``template`` and ``publish``."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import click

from .common import config_path as find_config
from .common import run
from .options import config_option, verbose_option
from .write import emit


@click.command("template")
@verbose_option
@click.option("--dump", is_flag=True, help="Write the built-in template, to start your own from.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "html"]),
    default="markdown",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write it here (atomically); default stdout.",
)
def template_command(dump: bool, fmt: str, output: str | None) -> None:
    """Write the built-in postmortem template, to start your own from.

    Use your copy with `pmdraft draft --template PATH` or `[render] template = "PATH"` in the
    config. It is filled in a sandbox, and a misspelt variable is an error naming it; every
    variable is listed in docs/templates.md.

    \b
    Example:
      pmdraft template --dump -o my-template.md.j2
      pmdraft draft --since 2024-01-15T14:00:00Z --until 2024-01-15T15:30:00Z \\
        --template my-template.md.j2 -o postmortem.md
    """
    if not dump:
        raise click.UsageError(
            "nothing to do: pass --dump to write the built-in template (-o PATH for a file)"
        )
    from ..render import builtin_template

    emit(builtin_template(fmt), output)


@click.command()
@verbose_option
@click.argument("draft_path", metavar="DRAFT.md", type=click.Path(dir_okay=False))
@click.option("--confluence-space", "space", help="Space key; else [confluence] space_key.")
@click.option("--parent", "parent", help="Title of the page to create it under.")
@click.option("--confluence-url", "url", help="The site's /wiki root; else [confluence] base_url.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config file (TOML); else $PMDRAFT_CONFIG or ./pmdraft.toml, if there is one.",
)
def publish(
    draft_path: str, space: str | None, parent: str | None, url: str | None, config_path: str | None
) -> None:
    """Publish a Markdown draft (your edits included) to Confluence, one page per incident.

    A second publish updates the same page (its version goes up): pmdraft's blocks are refreshed,
    a block someone edited in Confluence is kept and the new version is proposed in a comment.
    Graphs are uploaded as attachments. Credentials come from CONFLUENCE_USER and
    CONFLUENCE_API_TOKEN.

    \b
    Example:
      export CONFLUENCE_USER=me@example.com CONFLUENCE_API_TOKEN=...
      pmdraft publish postmortem.md --confluence-space SRE --parent Postmortems
    """

    def body() -> int:
        from ..config import ConfluenceConfig, load_config
        from ..publish import publish_draft

        # Unlike the other commands, publish runs without a config file when flags say enough.
        wanted = config_path or os.environ.get("PMDRAFT_CONFIG")
        if wanted or Path("pmdraft.toml").is_file():
            settings = load_config(Path(wanted or "pmdraft.toml")).confluence
        else:
            settings = ConfluenceConfig()
        base_url, space_key = url or settings.base_url, space or settings.space_key
        if not base_url or not space_key:
            raise click.UsageError(
                "give the Confluence site and space: --confluence-url "
                "https://acme.atlassian.net/wiki"
                " --confluence-space SRE (or base_url and space_key in [confluence])"
            )
        result = publish_draft(
            Path(draft_path),
            base_url=base_url,
            space_key=space_key,
            parent_title=parent or settings.parent_title or None,
            environ=os.environ,
        )
        what = "created" if result.created else f"updated to version {result.version}"
        click.echo(f"{result.url} ({what})")
        for name in result.kept:
            click.echo(f"kept your edit of {name}; pmdraft's version is proposed in a page comment")
        return 0

    run(body)


@click.command()
@verbose_option
@config_option
def sources(config_path: str | None) -> None:
    """List the sources pmdraft can read and whether the config sets each one up.

    \b
    Example:
      pmdraft sources --config pmdraft.toml
    """

    def body() -> int:
        from ..config import load_config
        from ..sources.registry import registry

        path = find_config(config_path)
        config = load_config(path)
        rows = [("SOURCE", "CONFIGURED", "DETAILS")]
        for source in registry:
            details = config.source_details(source.name)
            hint = f"{source.how_to_add} (see config.example.toml)"
            rows.append((source.name, "yes" if details else "no", details or hint))
        click.echo(f"Sources in {path}:\n")
        _echo_table(rows)
        return 0

    run(body)


@click.command()
@verbose_option
@config_option
def doctor(config_path: str | None) -> None:
    """Check the config and each configured source's access, with one cheap read each.

    CloudWatch: DescribeAlarms (one record) per region; PagerDuty: the token and
    GET /incidents?limit=1; deploy logs: each file readable. Exit 0 if everything works,
    1 if something needs fixing (the table says what).

    \b
    Example:
      export PAGERDUTY_API_TOKEN=...
      pmdraft doctor --config pmdraft.toml
    """
    from ..doctor import run_checks

    environ = dict(os.environ)
    checks = run_checks(find_config(config_path), environ)
    scrub = _scrubber(environ, find_config(config_path))
    rows = [("CHECK", "STATUS", "DETAILS")] + [(c.name, c.status, scrub(c.detail)) for c in checks]
    _echo_table(rows)
    failed = sum(c.failed for c in checks)
    if failed:
        click.echo(
            f"\n{failed} check{'s' if failed > 1 else ''} failed: fix "
            f"{'them' if failed > 1 else 'it'} "
            "and run pmdraft doctor again."
        )
        sys.exit(1)
    click.echo("\nEverything configured works.")


def _echo_table(rows: list[tuple[str, str, str]]) -> None:
    """Three columns on stdout, the first two padded to their widest cell, two spaces apart."""
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    for first, second, rest in rows:
        click.echo(f"{first:{width[0]}}  {second:{width[1]}}  {rest}")


def _scrubber(environ: dict[str, str], config_path: Path) -> Callable[[str], str]:
    """Hide every secret the sources may read from the environment (and a cut-off start of one)
    in text about to be printed: a proxy's error page may echo the Authorization header.

    The secrets are the variables the registered sources read, AWS's secret variables, and every
    variable a config key ending in ``_env`` names (``token_env`` of any section); each is hidden
    by the one scrubber the sources' own messages use.
    """
    from ..sources._http import scrub
    from ..sources.registry import registry

    names = {name for source in registry for name in source.env}
    names |= {"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
    names |= _env_names(config_path)
    # Longest first, so a secret that contains another is hidden whole.
    secrets = sorted({environ[n] for n in names if len(environ.get(n, "")) >= 8}, key=len)

    def scrub_all(text: str) -> str:
        for secret in reversed(secrets):
            text = scrub(text, secret)
        return text

    return scrub_all


def _env_names(config_path: Path) -> set[str]:
    """The variable names held by keys ending in ``env`` anywhere in the config file (none if it
    cannot be read: doctor reports that itself)."""
    import tomllib

    try:
        data = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return set()
    names: set[str] = set()
    stack: list[object] = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and str(key).endswith("env"):
                    names.add(value)
                else:
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return names
