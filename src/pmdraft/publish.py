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
