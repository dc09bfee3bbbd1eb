"""Your own template: --template and [render] template, sandboxed and strict; `pmdraft template --dump`."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.draft import build_draft
from pmdraft.model import Event, Window
from pmdraft.pipeline import Collected, SourceReport
from pmdraft.render.context import context

from .conftest import REPO, utc, write_config

WINDOW = ["--since", "2024-01-15T14:00:00Z", "--until", "2024-01-15T15:30:00Z"]
DEPLOYS = [
    {
        "timestamp": "2024-01-15T14:15:00Z",
        "status": "succeeded",
        "service": "api",
        "version": "v2.3.4",
        "environment": "production",
        "id": "d1",
    },
    {
        "timestamp": "2024-01-15T14:47:00Z",
        "status": "rolled_back",
        "service": "api",
        "version": "v2.3.4",
        "environment": "production",
        "id": "d1",
    },
]
PACKAGED = REPO / "src" / "pmdraft" / "render" / "templates"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path / "pm.toml", deploys=DEPLOYS)


def test_a_user_template_renders_with_the_drafts_values(config: Path, tmp_path: Path) -> None:
    """--template fills the user's own layout with the title, window, timeline rows and sources."""
    tpl = tmp_path / "short.md.j2"
    tpl.write_text(
        "# {{ title }} ({{ window.since }})\n"
        "{% for row in timeline %}- {{ row.time }} {{ row.event }}\n{% endfor %}"
        "{% for s in sources %}{{ s.name }}={{ s.status }}; {% endfor %}(end)\n",
        encoding="utf-8",
    )
    result = run("draft", *WINDOW, "--config", str(config), "--template", str(tpl))
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "# Incident of 2024-01-15 14:00 UTC (2024-01-15T14:00:00Z)\n"
        "- 14:15:00 Deploy: v2.3.4 deployed to production (api)\n"
        "- 14:47:00 Deploy: v2.3.4 rolled back in production (api)\n"
        "deploys:deploys.jsonl=ok; cloudwatch=not configured; pagerduty=not configured; "
        "slack=not configured; (end)\n"
    )


def test_a_typo_in_a_user_template_names_the_variable_and_file(
    config: Path, tmp_path: Path
) -> None:
    """A misspelt variable exits 1 with its name, the template file and line, and writes nothing."""
    tpl = tmp_path / "typo.md.j2"
    tpl.write_text("# {{ title }}\n\nImpact began {{ strat }}.\n", encoding="utf-8")
    out = tmp_path / "pm.md"
    result = run("draft", *WINDOW, "--config", str(config), "--template", str(tpl), "-o", str(out))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"Error: template {tpl.resolve()}, line 3: 'strat' is undefined; "
        "docs/templates.md lists the variables a template can use"
    )
    assert not out.exists()
    assert list(tmp_path.glob(".pm.md.*")) == []


def test_a_typo_in_an_attribute_is_named_too(config: Path, tmp_path: Path) -> None:
    """A misspelt key of a row (`row.tiem`) is an error naming the missing attribute."""
    tpl = tmp_path / "attr.md.j2"
    tpl.write_text("{% for row in timeline %}{{ row.tiem }}{% endfor %}\n", encoding="utf-8")
    result = run("draft", *WINDOW, "--config", str(config), "--template", str(tpl))
    assert result.exit_code == 1
    assert (
        f"template {tpl.resolve()}, line 1: 'dict object' has no attribute 'tiem'" in result.stderr
    )


def test_a_syntax_error_is_reported_before_any_source_is_read(tmp_path: Path) -> None:
    """A template that does not compile fails fast with its line, even when no source would answer."""
    cfg = write_config(
        tmp_path / "pm.toml", extra='[cloudwatch]\nendpoint_url = "http://127.0.0.1:9"\n'
    )
    tpl = tmp_path / "broken.md.j2"
    tpl.write_text("ok\n{% for row in timeline %}\n", encoding="utf-8")
    result = run("draft", *WINDOW, "--config", str(cfg), "--template", str(tpl))
    assert result.exit_code == 1
    assert f"Error: template {tpl.resolve()}, line 2: Unexpected end of template." in result.stderr
    assert "data gap" not in result.stderr


def test_the_sandbox_keeps_python_internals_out_of_reach(config: Path, tmp_path: Path) -> None:
    """A template reaching for `__class__` fails instead of touching Python objects."""
    tpl = tmp_path / "evil.md.j2"
    tpl.write_text("{{ title.__class__.__mro__ }}\n", encoding="utf-8")
    result = run("draft", *WINDOW, "--config", str(config), "--template", str(tpl))
    assert result.exit_code == 1
    assert "__class__" in result.stderr and "str" not in result.stdout


def test_the_config_template_is_used_relative_to_the_config_file(tmp_path: Path) -> None:
    """`[render] template` names a file beside the config; the draft uses it for Markdown."""
    cfg = write_config(
        tmp_path / "pm.toml", deploys=DEPLOYS, extra='[render]\ntemplate = "team.md.j2"\n'
    )
    (tmp_path / "team.md.j2").write_text(
        "Team draft: {{ timeline | length }} rows\n", encoding="utf-8"
    )
    result = run("draft", *WINDOW, "--config", str(cfg))
    assert result.stdout == "Team draft: 2 rows\n"


def test_template_with_json_is_a_usage_error(config: Path, tmp_path: Path) -> None:
    """JSON has a fixed schema, so --template with --format json exits 2 and says why."""
    tpl = tmp_path / "t.j2"
    tpl.write_text("x", encoding="utf-8")
    result = run(
        "draft", *WINDOW, "--config", str(config), "--template", str(tpl), "--format", "json"
    )
    assert result.exit_code == 2
    assert "--template applies to --format markdown or html, not json" in result.output


def test_template_dump_writes_the_packaged_template(tmp_path: Path) -> None:
    """`pmdraft template --dump` prints the built-in Markdown template; -o writes it to a file."""
    packaged = (PACKAGED / "postmortem.md.j2").read_text(encoding="utf-8")
    result = run("template", "--dump")
    assert result.exit_code == 0
    assert result.stdout == packaged
    out = tmp_path / "mine.md.j2"
    result = run("template", "--dump", "-o", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    assert out.read_text(encoding="utf-8") == packaged
    assert run("template", "--dump", "--format", "html").stdout == (
        PACKAGED / "postmortem.html.j2"
    ).read_text(encoding="utf-8")


def test_a_dumped_template_renders_the_same_draft_as_the_built_in_one(
    config: Path, tmp_path: Path
) -> None:
    """The dumped template used with --template gives the same draft, so it is a true starting point."""
    out = tmp_path / "mine.md.j2"
    run("template", "--dump", "-o", str(out))
    builtin = run("draft", *WINDOW, "--config", str(config), "--tz", "Europe/Berlin")
    mine = run(
        "draft", *WINDOW, "--config", str(config), "--tz", "Europe/Berlin", "--template", str(out)
    )
    assert mine.stdout == builtin.stdout
    assert (
        "| 14:15:00 | 15:15:00 CET | Deploy: v2.3.4 deployed to production (api) |" in mine.stdout
    )


def test_template_without_dump_says_what_to_pass() -> None:
    """`pmdraft template` alone is a usage error that names --dump."""
    result = run("template")
    assert result.exit_code == 2
    assert "pass --dump to write the built-in template" in result.output


def test_docs_list_every_variable_the_templates_see() -> None:
    """docs/templates.md names each variable of the template context and each key of its rows."""
    events = [
        Event(
            at=utc(2024, 1, 15, 14, 15),
            source="deploys",
            kind="deploy.succeeded",
            ref="d1",
            summary="v2.3.4 deployed",
            service="api",
            attrs={"version": "v2.3.4"},
        ),
        Event(
            at=utc(2024, 1, 15, 14, 32),
            source="cloudwatch",
            kind="alarm.alarm",
            ref="HighErrorRate",
            summary="HighErrorRate OK -> ALARM",
            service="api",
            attrs={"alarm_name": "HighErrorRate", "old_state": "OK", "new_state": "ALARM"},
        ),
        *(
            Event(
                at=utc(2024, 1, 15, 14, m),
                source="pagerduty",
                kind=kind,
                ref="Q1",
                summary=kind,
                service="api",
                actor="Jane",
                attrs={"incident_number": 1, "incident_title": "Errors", "note": "looking"},
            )
            for m, kind in (
                (33, "incident.triggered"),
                (35, "incident.acknowledged"),
                (38, "incident.annotated"),
                (50, "incident.resolved"),
            )
        ),
    ]
    reports = [
        SourceReport("cloudwatch", "ok", 1, 1),
        SourceReport("pagerduty", "failed", 4, 3, "GET failed: 503"),
        SourceReport("deploys", "not_configured"),
    ]
    d = build_draft(Collected(events, reports), Window(utc(2024, 1, 15, 14), utc(2024, 1, 15, 15)))
    values = context(d, ZoneInfo("Europe/Berlin"))
    doc = (REPO / "docs" / "templates.md").read_text(encoding="utf-8")
    for name, value in values.items():
        assert f"`{name}`" in doc, f"{name} is not documented"
        if name == "source_labels":
            continue
        rows = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
        for row in rows:
            if isinstance(row, dict):
                for key in row:
                    assert f"`{name}[].{key}`" in doc or f"`{name}.{key}`" in doc, (
                        f"{name}.{key} is not documented"
                    )


def test_a_user_html_template_is_autoescaped(tmp_path: Path) -> None:
    """With --format html, a user template's values are escaped: a `<script>` in a deploy stays text."""
    cfg = write_config(
        tmp_path / "pm.toml",
        deploys=[
            {
                "timestamp": "2024-01-15T14:15:00Z",
                "status": "succeeded",
                "service": "api",
                "version": "v9",
                "description": "<script>alert(1)</script>",
            }
        ],
    )
    tpl = tmp_path / "mine.html.j2"
    tpl.write_text(
        "<ul>{% for row in timeline %}<li>{{ row.event }}</li>{% endfor %}</ul>\n", encoding="utf-8"
    )
    result = run("draft", *WINDOW, "--config", str(cfg), "--format", "html", "--template", str(tpl))
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "<ul><li>Deploy: v9 deployed to an unnamed environment (api): &lt;script&gt;alert(1)&lt;/script&gt;</li></ul>\n"
    )


def test_a_dicts_keys_and_methods_are_read_as_jinja2_reads_them() -> None:
    """``row.text`` is the row's key (pmdraft's environment takes a plain dict's key without
    the sandbox's attribute-then-key detour); a name a dict has as a method stays the method;
    a missing key is an undefined-variable error naming it, as before; and the sandbox still
    refuses an attribute starting with ``_``."""
    from jinja2.exceptions import SecurityError, UndefinedError

    from pmdraft.render.environment import markdown_environment

    env = markdown_environment()
    row = {"text": "a | b", "items": "its items key", "time": "14:00:00"}
    filled = env.from_string("{{ row.time }} {{ row.text | cell }} {{ row.get('text') }}").render(
        row=row
    )
    assert filled == "14:00:00 a \\| b a | b"
    assert env.from_string("{{ row.items() | list | length }}").render(row=row) == "3"
    with pytest.raises(UndefinedError, match="has no attribute 'title'"):
        env.from_string("{{ row.title }}").render(row=row)
    with pytest.raises(SecurityError):
        env.from_string("{{ row.__class__.__subclasses__() }}").render(row=row)
