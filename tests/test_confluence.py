"""Confluence: the storage-format rendering, and publishing it to the loopback stand-in."""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from pmdraft.config import load_config
from pmdraft.confluence import ConfluenceClient, PublishError, client_from_env, label_for, publish
from pmdraft.draft import Draft, build_draft, make_draft
from pmdraft.living_storage import NAMESPACES, blocks, digest, merge, parse, seal
from pmdraft.model import Event, Window
from pmdraft.pipeline import Collected, SourceReport
from pmdraft.render.confluence import graph_files, page_title, render_confluence
from pmdraft.sandbox import SANDBOX_TOKEN_ENV, scenario

from .conftest import TOKEN, utc
from .standins.confluence import ConfluenceStandIn

USER, API_TOKEN = "pm@example.com", "ATATT3x-secret-api-token-42"
DATA = Path(__file__).resolve().parent / "data" / "confluence"
AC = "{{{}}}".format(NAMESPACES["ac"])
RI = "{{{}}}".format(NAMESPACES["ri"])
T0 = utc(2024, 1, 15, 14, 0)
WINDOW = Window(T0 - timedelta(hours=1), T0 + timedelta(hours=1))


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def incident_draft(note: str = "rolled back", title: str = "Checkout errors") -> Draft:
    events = [
        Event(
            at=T0 + timedelta(minutes=m),
            source="pagerduty",
            kind=kind,
            ref="Q1",
            summary=kind,
            service="api",
            actor="Jane Doe",
            attrs={"incident_number": 4711, "incident_title": title, **extra},
        )
        for m, kind, extra in (
            (0, "incident.triggered", {}),
            (5, "incident.annotated", {"note": note}),
            (9, "incident.resolved", {}),
        )
    ]
    return build_draft(Collected(events, [SourceReport("pagerduty", "ok", 3, 1)]), WINDOW)


def timeline_rows(storage: str) -> list[list[str]]:
    [block] = [b for b in blocks(storage) if b.name == "timeline"]
    table = parse(block.content(storage)).find("table")
    assert table is not None
    return [["".join(cell.itertext()) for cell in tr] for tr in table.iter("tr")][1:]


@pytest.fixture
def conf() -> Iterator[ConfluenceStandIn]:
    """A Confluence site with the SRE space, accepting only USER and API_TOKEN."""
    with ConfluenceStandIn(USER, API_TOKEN) as server:
        yield server


@pytest.fixture
def client(conf: ConfluenceStandIn) -> Iterator[ConfluenceClient]:
    c = ConfluenceClient(conf.base_url, USER, API_TOKEN, sleep=Sleeps())
    yield c
    c.close()


@pytest.fixture
def demo_draft(moto, pd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Draft:
    """The demo incident's draft, collected from moto and the PagerDuty stand-in."""
    monkeypatch.setenv(SANDBOX_TOKEN_ENV, TOKEN)
    config = load_config(scenario.seed(moto, pd, tmp_path, token_env=SANDBOX_TOKEN_ENV))
    window = Window(utc(2024, 1, 15, 14, 0), utc(2024, 1, 15, 15, 30))
    return make_draft(config, window, {SANDBOX_TOKEN_ENV: TOKEN})


def test_the_demo_draft_is_storage_format_with_lozenge_timeline_and_prompts(
    demo_draft: Draft,
) -> None:
    """The page is XML with a yellow Draft lozenge, the demo timeline and info prompts."""
    storage = render_confluence(demo_draft)
    root = parse(storage)
    [status] = [m for m in root.iter(f"{AC}structured-macro") if m.get(f"{AC}name") == "status"]
    assert {p.get(f"{AC}name"): p.text for p in status} == {"colour": "Yellow", "title": "Draft"}
    rows = timeline_rows(storage)
    assert len(rows) == 18  # the web deploy (another service) is concurrent activity
    by_time = dict(rows)
    assert by_time["14:15:00"] == (
        "Deploy: v2.3.4 deployed to production (api): Caching layer for the "
        "user profile endpoint [suspect_change]"
    )
    assert by_time["14:35:10"] == "PagerDuty #1234 acknowledged by Jane Doe [acknowledged]"
    assert rows[-1] == ["14:57:00", "PagerDuty #1234 resolved by Jane Doe [resolved]"]
    prompts = [
        "".join(m.itertext())
        for m in root.iter(f"{AC}structured-macro")
        if m.get(f"{AC}name") == "info"
    ]
    assert "To be writtenthe technical explanation of what failed and why." in prompts
    assert len(prompts) == 12
    assert page_title(demo_draft) == 'Postmortem: ALARM: "HighErrorRate" in US East (N. Virginia)'
    assert (
        "the incident lasted 25 minutes (14:32 - 14:57 UTC, impact start to resolved)."
        in "".join(root.itertext())
    )


def test_hostile_text_is_escaped_and_stays_parseable() -> None:
    """<script>, ]]>, & and control characters in the data are shown as text; entities are XML's."""
    draft = incident_draft(
        note="<script>alert(1)</script> ]]> &amp; & \x01 &nbsp;",
        title="<img src=x onerror=alert(2)>",
    )
    storage = render_confluence(draft)
    assert "<script>" not in storage and "<img" not in storage and "\x01" not in storage
    assert set(re.findall(r"&([A-Za-z]+);", storage)) <= {"amp", "lt", "gt"}
    assert timeline_rows(storage)[1] == [
        "14:05:00",
        "PagerDuty #4711 note by Jane Doe: <script>alert(1)</script> ]]> &amp; & &nbsp;",
    ]
    assert page_title(draft) == "Postmortem: <img src=x onerror=alert(2)>"


def test_graphs_are_attachment_images() -> None:
    """Each graph is an <ac:image> of the attachment named like its file."""
    draft = incident_draft().with_graphs(
        [{"path": "graphs/overview.png", "title": "Overview", "alt": "Error rate & latency"}]
    )
    root = parse(render_confluence(draft))
    [image] = root.iter(f"{AC}image")
    assert image.get(f"{AC}alt") == "Error rate & latency"
    assert image[0].tag == f"{RI}attachment" and image[0].get(f"{RI}filename") == "overview.png"
    assert graph_files(draft) == {"overview.png": Path("graphs/overview.png")}


def test_a_block_survives_confluence_rewriting_its_markup() -> None:
    """Attributes and wrappers Confluence adds on save do not count as a person's edit."""
    fresh = render_confluence(incident_draft())
    stored = (
        fresh.replace(
            '<ac:structured-macro ac:name="anchor">',
            '<ac:structured-macro ac:name="anchor" ac:schema-version="1" ac:macro-id="4f1c">',
        )
        .replace("<th>Time</th>", "<th><p><strong>Time</strong></p></th>")
        .replace("<table>", '<table data-layout="default" ac:local-id="9c1e">')
    )
    merged = merge(stored, render_confluence(incident_draft(note="rolled back v2.3.4")))
    assert merged.kept == [] and "timeline" in merged.updated
    assert "rolled back v2.3.4" in merged.text


def test_publishing_twice_keeps_one_page_at_version_two(
    conf: ConfluenceStandIn, client: ConfluenceClient
) -> None:
    """The second publish finds the page by its label and updates it; no second page appears."""
    conf.add_page("SRE", "Postmortems")
    first = publish(
        client,
        render_confluence(incident_draft()),
        title="Postmortem: Checkout errors",
        space_key="SRE",
        incident_key="Q1",
        parent_title="Postmortems",
    )
    assert first.created and first.version == 1
    assert conf.pages[first.page_id]["parentId"] == "9001"
    assert conf.pages[first.page_id]["labels"] == {"pmdraft-q1"}
    second = publish(
        client,
        render_confluence(incident_draft(note="rolled back v2.3.4")),
        title="Postmortem: Checkout errors (renamed)",
        space_key="SRE",
        incident_key="Q1",
    )
    assert (second.page_id, second.version, second.created) == (first.page_id, 2, False)
    assert len(conf.pages) == 2 and len(conf.calls("POST", r"/wiki/api/v2/pages")) == 1
    assert second.url == f"{conf.base_url}/spaces/SRE/pages/{first.page_id}"
    assert "rolled back v2.3.4" in conf.pages[first.page_id]["body"]
    assert second.kept == [] and "timeline" in second.updated


def test_a_person_s_edit_in_a_block_is_kept_and_the_new_version_proposed_once(
    conf: ConfluenceStandIn, client: ConfluenceClient
) -> None:
    """An edited timeline stays; a footer comment proposes pmdraft's version, and only once."""
    args: dict[str, Any] = {
        "title": "Postmortem: Checkout errors",
        "space_key": "SRE",
        "incident_key": "Q1",
    }
    page_id = publish(client, render_confluence(incident_draft()), **args).page_id
    body = conf.pages[page_id]["body"]
    conf.edit(
        page_id,
        body.replace("note by Jane Doe: rolled back", "note by Jane Doe: rolled back (by Bob)"),
    )
    result = publish(client, render_confluence(incident_draft(note="rolled back v2.3.4")), **args)
    stored = conf.pages[page_id]["body"]
    assert result.kept == ["timeline"] and result.proposed == ["timeline"]
    assert (
        "rolled back (by Bob)" in stored and "rolled back v2.3.4" not in timeline_rows(stored)[1][1]
    )
    [comment] = conf.comments
    assert "rolled back v2.3.4" in comment["body"]["storage"]["value"]
    assert comment["pageId"] == page_id
    publish(client, render_confluence(incident_draft(note="rolled back v2.3.4")), **args)
    assert len(conf.comments) == 1


def test_a_person_s_text_outside_the_blocks_survives_byte_for_byte(
    conf: ConfluenceStandIn, client: ConfluenceClient
) -> None:
    """Everything between pmdraft's blocks stays exactly as the person left it."""
    args: dict[str, Any] = {
        "title": "Postmortem: Checkout errors",
        "space_key": "SRE",
        "incident_key": "Q1",
    }
    page_id = publish(client, render_confluence(incident_draft()), **args).page_id
    mine = (
        "<h2>Summary</h2>\n<p>Checkout &#8212; failed for <em>12%</em> of users &amp; partners.</p>"
    )
    edited = re.sub(
        r"<h2>Summary</h2>.*?</ac:structured-macro>",
        lambda _: mine,
        conf.pages[page_id]["body"],
        count=1,
        flags=re.S,
    )
    conf.edit(page_id, edited)
    publish(client, render_confluence(incident_draft(note="rolled back v2.3.4")), **args)
    stored = conf.pages[page_id]["body"]

    def outside(text: str) -> list[str]:
        cuts = [0] + [i for b in blocks(text) for i in (b.start, b.end)] + [len(text)]
        return [text[a:b] for a, b in zip(cuts[::2], cuts[1::2], strict=True)]

    assert outside(stored) == outside(edited)
    assert mine in stored and "rolled back v2.3.4" in stored


def test_attachments_are_uploaded_once_and_updated_in_place(
    conf: ConfluenceStandIn, client: ConfluenceClient
) -> None:
    """Same bytes are not sent again; new bytes update the same attachment to version 2."""
    args: dict[str, Any] = {
        "title": "Postmortem: Checkout errors",
        "space_key": "SRE",
        "incident_key": "Q1",
    }
    storage = render_confluence(incident_draft())
    first = publish(client, storage, attachments={"overview.png": b"\x89PNG one"}, **args)
    again = publish(client, storage, attachments={"overview.png": b"\x89PNG one"}, **args)
    third = publish(client, storage, attachments={"overview.png": b"\x89PNG two"}, **args)
    assert (first.uploaded, again.unchanged_attachments, third.uploaded) == (
        ["overview.png"],
        ["overview.png"],
        ["overview.png"],
    )
    [stored] = conf.attachments[first.page_id].values()
    assert (stored["data"], stored["version"]) == (b"\x89PNG two", 2)
    assert len(conf.calls("POST", r".*/child/attachment")) == 1
    assert len(conf.calls("POST", r".*/child/attachment/att\d+/data")) == 1
    assert first.version == again.version == third.version == 1


def test_a_stale_version_is_reread_merged_and_retried(
    conf: ConfluenceStandIn, client: ConfluenceClient
) -> None:
    """A 409 (someone saved meanwhile) is merged with their save and published as the next one."""
    args: dict[str, Any] = {
        "title": "Postmortem: Checkout errors",
        "space_key": "SRE",
        "incident_key": "Q1",
    }
    page_id = publish(client, render_confluence(incident_draft()), **args).page_id
    conf.save_meanwhile(page_id)
    result = publish(client, render_confluence(incident_draft(note="rolled back v2.3.4")), **args)
    assert result.version == 3
    assert len(conf.calls("PUT", rf"/wiki/api/v2/pages/{page_id}")) == 2
    stored = conf.pages[page_id]["body"]
    assert "(typo fixed)" in stored and "rolled back v2.3.4" in stored


def test_the_token_never_reaches_an_error_or_a_log_record(caplog: pytest.LogCaptureFixture) -> None:
    """A server echoing the credentials back still yields an error without them, and so do logs."""

    def echo(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            503, text=f"busy; you sent {request.headers['Authorization']} {API_TOKEN}"
        )

    client = ConfluenceClient(
        "https://acme.atlassian.net/wiki",
        USER,
        API_TOKEN,
        max_retries=1,
        sleep=Sleeps(),
        transport=httpx2.MockTransport(echo),
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PublishError) as caught:
        client.space_id("SRE")
    text = str(caught.value)
    assert text.startswith("GET /api/v2/spaces: HTTP 503 busy; you sent Basic *** ***")
    assert client.requests == 2
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (API_TOKEN, client._secrets[1]):
        assert (
            secret not in text
            and secret not in logged
            and secret not in repr(caught.value.__cause__)
        )


def test_a_refused_login_names_the_variables(conf: ConfluenceStandIn) -> None:
    """HTTP 401 says which two variables to check, without their values."""
    client = client_from_env(
        conf.base_url, {"CONFLUENCE_USER": USER, "CONFLUENCE_API_TOKEN": "wrong-token"}
    )
    with pytest.raises(PublishError) as caught:
        client.space_id("SRE")
    assert "HTTP 401" in str(caught.value) and "check CONFLUENCE_USER" in str(caught.value)
    assert "wrong-token" not in str(caught.value)
    with pytest.raises(PublishError, match="CONFLUENCE_USER and CONFLUENCE_API_TOKEN not set"):
        client_from_env(conf.base_url, {})


def test_plain_http_to_a_real_site_is_refused() -> None:
    """Basic auth is never sent in clear to anything but loopback."""
    with pytest.raises(PublishError, match="must be https://"):
        ConfluenceClient("http://acme.atlassian.net/wiki", USER, API_TOKEN)


def test_seal_puts_a_digest_of_the_text_on_each_begin_anchor() -> None:
    """A sealed block's begin anchor carries the digest merge() checks it against."""
    text = seal(
        '<p><ac:structured-macro ac:name="anchor"><ac:parameter ac:name="">pmdraft-begin-x'
        "</ac:parameter></ac:structured-macro></p><p>hello</p><p><ac:structured-macro "
        'ac:name="anchor"><ac:parameter ac:name="">pmdraft-end-x</ac:parameter>'
        "</ac:structured-macro></p>"
    )
    [block] = blocks(text)
    assert block.sha == digest("<p>hello</p>") and block.content(text) == "<p>hello</p>"
    assert label_for("Q1 DEMO/1234") == "pmdraft-q1-demo-1234"


DOCUMENTED = {
    "spaces.json": ("GET", "/wiki/api/v2/spaces", {"keys": ["SRE"]}),
    "pages.json": ("GET", "/wiki/api/v2/pages", {"space-id": ["100"], "title": ["Postmortems"]}),
    "page.json": ("GET", "/wiki/api/v2/pages/9001", {"body-format": ["storage"]}),
    "attachments.json": ("GET", "/wiki/api/v2/pages/9001/attachments", {}),
    "footer-comments.json": ("GET", "/wiki/api/v2/pages/9001/footer-comments", {}),
    "search.json": ("GET", "/wiki/rest/api/content/search", {"cql": ['label = "pmdraft-q1"']}),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_the_stand_in_answers_in_the_documented_shape(
    conf: ConfluenceStandIn, client: ConfluenceClient, name: str
) -> None:
    """Every key of the documented example is in the stand-in's answer, with the same JSON type."""
    page_id = conf.add_page("SRE", "Postmortems", "<p>x</p>")
    client.add_label(page_id, "pmdraft-q1")
    client.put_attachment(page_id, "overview.png", b"png")
    client.add_footer_comment(page_id, "<p>note</p>")
    method, path, query = DOCUMENTED[name]
    status, answer = conf.answer(method, path, query, {"Authorization": conf.auth}, b"")
    assert status == 200
    assert_shape(json.loads((DATA / name).read_text(encoding="utf-8")), answer, name)


def test_the_stand_in_rejects_a_stale_version_like_confluence(conf: ConfluenceStandIn) -> None:
    """An update whose version is not current + 1 is HTTP 409, in the documented shape."""
    page_id = conf.add_page("SRE", "Postmortems")
    update = {
        "id": page_id,
        "status": "current",
        "title": "Postmortems",
        "body": {"value": "<p/>"},
        "version": {"number": 1},
    }
    status, answer = conf.answer(
        "PUT",
        f"/wiki/api/v2/pages/{page_id}",
        {},
        {"Authorization": conf.auth},
        json.dumps(update).encode(),
    )
    assert status == 409
    assert_shape(json.loads((DATA / "error-409.json").read_text(encoding="utf-8")), answer, "409")


def assert_shape(documented: Any, actual: Any, where: str) -> None:
    assert type(actual) is type(documented) or documented is None, f"{where}: {actual!r}"
    if isinstance(documented, dict):
        for key, value in documented.items():
            assert key in actual, f"{where}.{key} missing"
            assert_shape(value, actual[key], f"{where}.{key}")
    elif isinstance(documented, list) and documented and actual:
        assert_shape(documented[0], actual[0], f"{where}[0]")


def test_every_storage_document_declares_no_html_only_entities(demo_draft: Draft) -> None:
    """The demo page uses only XML's entities and numeric ones, so any XML parser reads it."""
    storage = render_confluence(demo_draft)
    assert set(re.findall(r"&([A-Za-z]+);", storage)) <= {"amp", "lt", "gt"}
    ET.fromstring(f'<r xmlns:ac="{NAMESPACES["ac"]}" xmlns:ri="{NAMESPACES["ri"]}">{storage}</r>')
