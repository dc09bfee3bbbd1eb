"""``pmdraft publish``: a Markdown draft to a Confluence page, one page per incident, kept alive.

The draft file is converted as it stands (a person's edits included) by
:mod:`pmdraft.render.markdown_storage`; its images are uploaded as attachments. The page found
before (remembered beside the draft in ``<draft>.confluence.json``, else by the incident's label,
else by title) is refreshed with the living-draft rule of :func:`pmdraft.confluence.publish`: a
block someone edited in Confluence is kept and pmdraft's version is proposed in a comment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from .confluence import ConfluenceClient, PublishResult, client_from_env, publish
from .errors import InputError
from .output import write_atomic
from .render.markdown_storage import to_storage


def remembered(draft: Path) -> Path:
    """Where the page a draft was published to is remembered: ``x.md`` -> ``x.confluence.json``."""
    return draft.with_suffix(".confluence.json")


def publish_draft(
    draft: Path,
    *,
    base_url: str,
    space_key: str,
    parent_title: str | None,
    environ: Mapping[str, str],
    client: ConfluenceClient | None = None,
) -> PublishResult:
    """Publish the Markdown draft at ``draft`` to ``space_key``; return what happened."""
    try:
        text = draft.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{draft} could not be read: {exc}; give the path of a .md draft") from exc
    storage = to_storage(text)
    attachments: dict[str, bytes] = {}
    for src in storage.images:
        path = draft.parent / src
        if not path.is_file():
            raise InputError(
                f"{draft} shows the image {src}, but {path} does not exist; write the draft with "
                "its graphs (pmdraft draft -o) or remove the image line"
            )
        attachments[PurePosixPath(src).name] = path.read_bytes()
    memo = remembered(draft)
    page_id = None
    if memo.is_file():
        page_id = json.loads(memo.read_text(encoding="utf-8")).get("page_id")
    client = client or client_from_env(base_url, environ)
    result = publish(
        client,
        storage.body,
        title=storage.title,
        space_key=space_key,
        incident_key=draft.stem,
        parent_title=parent_title,
        attachments=attachments,
        page_id=page_id,
    )
    record = {"page_id": result.page_id, "url": result.url, "version": result.version}
    write_atomic(memo, json.dumps(record, indent=2) + "\n")
    return result


CONFLUENCE_SCHEME = "confluence://"


def parse_confluence_url(target: str) -> tuple[str, str | None]:
    """``confluence://SPACE/Parent Title`` -> ``("SPACE", "Parent Title")``; no parent: ``None``."""
    rest = target[len(CONFLUENCE_SCHEME) :]
    space, _, parent = rest.partition("/")
    if not space:
        raise InputError(
            f"{target!r} names no space; write it like confluence://SRE/Postmortems "
            "(a space key, then the parent page's title)"
        )
    return space, parent.strip("/") or None


class ConfluenceSink:
    """Batch output to Confluence: each draft a page of its own, refreshed in place.

    The living-draft merge happens on the page (:func:`pmdraft.confluence.publish`), so
    :meth:`read` gives nothing to merge locally; graphs written with :meth:`write_asset` are
    uploaded with the next draft as its attachments.
    """

    def __init__(self, client: ConfluenceClient, space_key: str, parent_title: str | None) -> None:
        self.client, self.space_key, self.parent_title = client, space_key, parent_title
        self._assets: dict[str, bytes] = {}
        self._urls: dict[str, str] = {}

    def read(self, name: str) -> str | None:
        """Nothing: the page keeps people's edits itself."""
        return None

    def write_asset(self, relative: str, data: bytes) -> None:
        """Keep a graph until its draft is published."""
        self._assets[relative] = data

    def write(self, name: str, text: str) -> None:
        """Publish the Markdown draft ``text`` as the incident's page (created or refreshed)."""
        storage = to_storage(text)
        attachments = {
            PurePosixPath(src).name: self._assets[src]
            for src in storage.images
            if src in self._assets
        }
        result = publish(
            self.client,
            storage.body,
            title=storage.title,
            space_key=self.space_key,
            incident_key=Path(name).stem,
            parent_title=self.parent_title,
            attachments=attachments,
        )
        self._urls[name] = result.url
        self._assets.clear()

    def location(self, name: str) -> str:
        """The page's address once published, else where it will go."""
        return self._urls.get(name) or f"{CONFLUENCE_SCHEME}{self.space_key}/{name}"


def confluence_sink(target: str, base_url: str, environ: Mapping[str, str]) -> ConfluenceSink:
    """The sink for ``confluence://SPACE/Parent Title`` on the site ``base_url``."""
    if not base_url:
        raise InputError(
            f"batch output {target} needs the Confluence site: set base_url in [confluence] "
            '(for example: base_url = "https://acme.atlassian.net/wiki")'
        )
    space, parent = parse_confluence_url(target)
    return ConfluenceSink(client_from_env(base_url, environ), space, parent)
