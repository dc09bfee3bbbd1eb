"""--format html: one self-contained, autoescaped file with the Markdown draft's sections and rows."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.draft import build_draft
from pmdraft.model import Event, Window
from pmdraft.pipeline import Collected, SourceReport
from pmdraft.render import render_html

from ..conftest import utc

SINCE, UNTIL = "2024-01-15T14:00:00Z", "2024-01-15T15:30:00Z"


class Page(HTMLParser):
    """The parts of a page a reader looks at: headings, timeline rows (cell texts), resources."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[tuple[str, str]] = []
        self.rows: list[list[str]] = []
        self.resources: list[str] = []
        self.title = ""
        self._heading: str | None = None
        self._in_row = False
        self._cell: list[str] | None = None
        self._in_title = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("h1", "h2", "h3"):
            self._heading = ""
        elif tag == "tr" and a.get("class") == "timeline-row":
            self._in_row = True
            self.rows.append([])
        elif tag == "td" and self._in_row:
            self._cell = []
        elif tag == "title":
            self._in_title = True
        if tag in ("script", "link", "img", "iframe", "object", "embed") or "src" in a:
            self.resources.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append((tag, self._heading))
            self._heading = None
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None
        elif tag == "tr":
            self._in_row = False
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading += data
        if self._cell is not None:
            self._cell.append(data)
        if self._in_title:
            self.title += data


def test_demo_html_lists_the_timeline_rows_in_order(demo_config: Path, tmp_path: Path) -> None:
    """`draft --format html -o` writes one page whose timeline rows tell the worked example in order."""
    out = tmp_path / "pm.html"
    result = CliRunner().invoke(
        cli,
        [
            "draft",
            "--since",
            SINCE,
            "--until",
            UNTIL,
            "--config",
            str(demo_config),
            "--format",
            "html",
            "-o",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    page = Page(out.read_text(encoding="utf-8"))
    assert page.title == 'Postmortem: ALARM: "HighErrorRate" in US East (N. Virginia)'
    times = [row[0] for row in page.rows]
    assert (
        times == sorted(times) and len(times) == 18
    )  # HighErrorRate's ALARM and its page are one row; the web deploy (another service) is
    # concurrent activity, not the incident's timeline
    by_time = {row[0]: row[1] for row in page.rows}
    assert (
        by_time["14:15:00"]
        == "Deploy: v2.3.4 deployed to production (api): Caching layer for the user profile endpoint [suspect_change]"
    )
    assert (
        by_time["14:33:05"]
        == "PagerDuty #1234: paged Jane Doe (sms, push_notification, email) [paged]"
    )
    assert by_time["14:35:10"] == "PagerDuty #1234 acknowledged by Jane Doe [acknowledged]"
    assert by_time["14:50:00"] == "CloudWatch alarm HighErrorRate: ALARM -> OK [mitigated]"
    assert page.rows[-1] == ["14:57:00", "PagerDuty #1234 resolved by Jane Doe [resolved]"]


def test_html_has_the_markdown_drafts_headings_and_facts(demo_config: Path) -> None:
    """The HTML page has the same headings in the same order, and the same computed facts, as the Markdown."""
    args = ["draft", "--since", SINCE, "--until", UNTIL, "--config", str(demo_config)]
    html = CliRunner().invoke(cli, [*args, "--format", "html"], catch_exceptions=False).stdout
    md = CliRunner().invoke(cli, args, catch_exceptions=False).stdout
    md_headings = [
        (f"h{line.index(' ')}", line.split(" ", 1)[1])
        for line in md.splitlines()
        if re.match(r"#{1,3} ", line)
    ]
    assert Page(html).headings == md_headings
    for fact in (
        "customer-facing impact lasted 18 minutes (14:32 - 14:50 UTC, impact start to mitigated)",
        "the incident lasted 25 minutes (14:32 - 14:57 UTC, impact start to resolved)",
        "Detection, two measures: the first alert fired 25 seconds after impact began "
        "(time_to_detect = 25 s) and 17 minutes after deploy v2.3.4 (change_to_detect = 1045 s)",
        "Deploy at 14:20:00 UTC: v8.1.0 deployed to production (web): Marketing page copy",
        "2024-01-15 14:38:00 UTC, Jane Doe on PagerDuty #1234: Identified: database connection pool at 100%",
        "To be written: the technical explanation of what failed and why.",
    ):
        assert fact in md and fact in html


def test_html_is_self_contained_with_a_print_stylesheet(demo_config: Path) -> None:
    """No external resource is loaded; the inline CSS keeps table rows whole on printed pages."""
    html = (
        CliRunner()
        .invoke(
            cli,
            [
                "draft",
                "--since",
                SINCE,
                "--until",
                UNTIL,
                "--config",
                str(demo_config),
                "--format",
                "html",
            ],
            catch_exceptions=False,
        )
        .stdout
    )
    assert html.startswith("<!DOCTYPE html>")
    assert Page(html).resources == []
    assert "@import" not in html and "url(" not in html
    assert "@media print" in html
    assert re.search(
        r"@media print \{.*tr, [^{]*\{ break-inside: avoid; page-break-inside: avoid; \}",
        html,
        re.DOTALL,
    )


def test_markup_in_the_data_is_escaped() -> None:
    """A `<script>` in an incident title or note is shown as text, never run."""
    events = [
        Event(
            at=utc(2024, 1, 15, 14, 0) + timedelta(minutes=m),
            source="pagerduty",
            kind=kind,
            ref="QX",
            summary=kind,
            service="api",
            actor="<b>Eve</b>",
            attrs={
                "incident_number": 9,
                "incident_title": "<script>alert(1)</script> & co",
                **extra,
            },
        )
        for m, kind, extra in (
            (0, "incident.triggered", {}),
            (5, "incident.annotated", {"note": '<img src=x onerror="alert(2)">'}),
        )
    ]
    window = Window(utc(2024, 1, 15, 13, 0), utc(2024, 1, 15, 15, 0))
    html = render_html(
        build_draft(Collected(events, [SourceReport("pagerduty", "ok", 2, 1)]), window)
    )
    assert "<script>" not in html and "<img" not in html and "<b>Eve" not in html
    assert "<h1>Postmortem: &lt;script&gt;alert(1)&lt;/script&gt; &amp; co</h1>" in html
    page = Page(html)
    assert page.resources == []
    assert page.rows[1] == [
        "14:05:00",
        'PagerDuty #9 note by <b>Eve</b>: <img src=x onerror="alert(2)">',
    ]
