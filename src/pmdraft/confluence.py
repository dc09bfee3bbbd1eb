"""Publishing a draft to Confluence Cloud: one page per incident, refreshed without losing edits.

REST directly over ``httpx2`` (the HTTP library pmdraft already ships for PagerDuty): a handful
of endpoints, one place for retries, secret scrubbing and error messages, no new dependency.
REST v2 for spaces, pages and footer comments; v1 where v2 has no equivalent (attachment upload,
labels, CQL search).

:func:`publish` finds the incident's page (by the remembered page id, else by its label
``pmdraft-<incident>``, else by title in the space) and creates it only when none exists, so an
incident never gets a second page. On re-publish it applies the living-draft rule of
:mod:`pmdraft.living_storage`: pmdraft's blocks are refreshed, a block a person edited is kept and
the new version is proposed in a footer comment (once), and everything outside the blocks stays
byte for byte. A stale version (HTTP 409, someone saved meanwhile) is re-read, merged again and
retried. Graph attachments are uploaded once and updated in place when their bytes change.

Credentials: HTTP Basic with ``CONFLUENCE_USER`` (the account's email) and
``CONFLUENCE_API_TOKEN``; neither ever appears in an exception or a log record.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx2

from .errors import PmdraftError
from .living_storage import canonical, merge

log = logging.getLogger(__name__)

USER_ENV = "CONFLUENCE_USER"
TOKEN_ENV = "CONFLUENCE_API_TOKEN"
MAX_CONFLICTS = 2
"""Times a 409 (stale version) is re-read, merged and retried before publishing gives up."""
_HINTS = {
    401: f"check {USER_ENV} (the account's email) and {TOKEN_ENV} (tokens expire after 1-365 days)",
    403: "the account lacks permission here: it needs to add pages and attachments in the space",
    404: "not found: check that base_url ends with /wiki and that the space and page exist",
}


class PublishError(PmdraftError):
    """The draft could not be published to Confluence; ``status`` is the HTTP status, if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class PublishResult:
    """Where the draft went and what happened to each pmdraft block."""

    page_id: str
    url: str
    version: int
    created: bool = False
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Blocks a person edited in Confluence, left as they were."""
    proposed: list[str] = field(default_factory=list)
    """Kept blocks whose new version was proposed in a footer comment."""
    uploaded: list[str] = field(default_factory=list)
    unchanged_attachments: list[str] = field(default_factory=list)


def label_for(incident_key: str) -> str:
    """The page label that marks an incident's page (``pmdraft-q1demo1234``)."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in incident_key.lower())
    return f"pmdraft-{safe}"


class ConfluenceClient:
    """The Confluence REST endpoints pmdraft uses, with bounded retries and scrubbed errors."""

    def __init__(
        self,
        base_url: str,
        user: str,
        token: str,
        *,
        max_retries: int = 3,
        max_retry_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx2.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise PublishError(
                f"Confluence base_url {base_url!r} must be https:// (Basic auth would travel in "
                "clear), for example https://acme.atlassian.net/wiki"
            )
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        """Retries per request after a 429, a 5xx or a network error."""
        self.max_retry_wait = max_retry_wait
        """Seconds: a longer Retry-After is not waited for."""
        self.sleep = sleep
        self.requests = 0
        self._secrets = [s for s in (token, _basic(user, token)) if s]
        self._http = httpx2.Client(
            base_url=self.base_url,
            auth=httpx2.BasicAuth(user, token),
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json"},
        )

    def scrub(self, text: str) -> str:
        """``text`` with the token (and the Basic credentials) replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def request(self, method: str, path: str, *, ok: tuple[int, ...] = (200,), **kw: Any) -> Any:
        """One REST call, retried on 429/5xx/network errors; its JSON, or a PublishError."""
        for attempt in range(self.max_retries + 1):
            self.requests += 1
            log.debug("confluence %s %s (attempt %d)", method, path, attempt + 1)
            try:
                response = self._http.request(method, path, **kw)
            except httpx2.TransportError as exc:
                if attempt == self.max_retries:
                    raise PublishError(
                        self.scrub(
                            f"{method} {path}: {type(exc).__name__}: {exc} after {attempt + 1} "
                            f"attempts; check the network and base_url {self.base_url}"
                        )
                    ) from exc
                self.sleep(min(self.max_retry_wait, 2.0**attempt))
                continue
            if response.status_code in ok:
                return response.json() if response.content else None
            wait = _retry_after(response, attempt)
            if (
                response.status_code not in (429, 502, 503, 504)
                or attempt == self.max_retries
                or wait > self.max_retry_wait
            ):
                raise self.error(method, path, response)
            self.sleep(wait)
        raise AssertionError("unreachable")

    def error(self, method: str, path: str, response: httpx2.Response) -> PublishError:
        """A PublishError naming the call, the status, a short body and the next step."""
        body = " ".join(response.text.split())[:200]
        hint = _HINTS.get(response.status_code, "")
        text = f"{method} {path}: HTTP {response.status_code} {body}" + (
            f"; {hint}" if hint else ""
        )
        return PublishError(self.scrub(text), response.status_code)

    def space_id(self, key: str) -> str:
        """The numeric id of space ``key``."""
        found = self.request("GET", "/api/v2/spaces", params={"keys": key})["results"]
        if not found:
            raise PublishError(
                f"Confluence space {key!r} does not exist or {USER_ENV} cannot see it"
            )
        return str(found[0]["id"])

    def page_by_title(self, space_id: str, title: str) -> dict[str, Any] | None:
        """The current page titled ``title`` in the space, if any."""
        params = {"space-id": space_id, "title": title, "status": "current"}
        found = self.request("GET", "/api/v2/pages", params=params)["results"]
        return found[0] if found else None

    def page_by_label(self, space_key: str, label: str) -> str | None:
        """The id of the page carrying ``label`` in the space (CQL search), if any."""
        quoted = space_key.replace("\\", "").replace('"', "")
        cql = f'type = page and space = "{quoted}" and label = "{label}"'
        found = self.request("GET", "/rest/api/content/search", params={"cql": cql})["results"]
        return str(found[0]["id"]) if found else None

    def page(self, page_id: str) -> dict[str, Any] | None:
        """Page ``page_id`` with its storage body and version, or None if it is gone."""
        try:
            page: dict[str, Any] = self.request(
                "GET", f"/api/v2/pages/{page_id}", params={"body-format": "storage"}
            )
        except PublishError as exc:
            if exc.status == 404:
                return None
            raise
        return page

    def create_page(self, space_id: str, title: str, body: str, parent_id: str | None) -> Any:
        """Create a current page; its JSON (id, version, _links)."""
        payload: dict[str, Any] = {
            "spaceId": space_id,
            "status": "current",
            "title": title,
            "body": {"representation": "storage", "value": body},
        }
        if parent_id:
            payload["parentId"] = parent_id
        return self.request("POST", "/api/v2/pages", json=payload)

    def update_page(self, page: Mapping[str, Any], body: str, message: str) -> Any:
        """Replace the page's body as version ``current + 1`` (HTTP 409 if someone saved since)."""
        payload = {
            "id": page["id"],
            "status": "current",
            "title": page["title"],
            "body": {"representation": "storage", "value": body},
            "version": {"number": int(page["version"]["number"]) + 1, "message": message},
        }
        return self.request("PUT", f"/api/v2/pages/{page['id']}", json=payload)

    def add_label(self, page_id: str, label: str) -> None:
        """Put ``label`` on the page (v1; v2 labels are read-only)."""
        self.request(
            "POST", f"/rest/api/content/{page_id}/label", json=[{"prefix": "global", "name": label}]
        )

    def footer_comments(self, page_id: str) -> list[str]:
        """The storage bodies of the page's footer comments."""
        found = self.request(
            "GET", f"/api/v2/pages/{page_id}/footer-comments", params={"body-format": "storage"}
        )["results"]
        return [str(c["body"]["storage"]["value"]) for c in found]

    def add_footer_comment(self, page_id: str, body: str) -> None:
        """Add a footer comment to the page."""
        self.request(
            "POST",
            "/api/v2/footer-comments",
            json={"pageId": page_id, "body": {"representation": "storage", "value": body}},
        )

    def put_attachment(self, page_id: str, filename: str, data: bytes) -> bool:
        """Upload ``filename`` to the page, updating one of that name in place; False if the
        stored one already has these bytes (their SHA-256 is kept in the attachment comment)."""
        mark = f"pmdraft sha256={hashlib.sha256(data).hexdigest()}"
        found = self.request(
            "GET", f"/api/v2/pages/{page_id}/attachments", params={"filename": filename}
        )["results"]
        if found and found[0].get("comment") == mark:
            return False
        path = f"/rest/api/content/{page_id}/child/attachment"
        if found:
            path += f"/{found[0]['id']}/data"
        self.request(
            "POST",
            path,
            headers={"X-Atlassian-Token": "no-check"},
            files={
                "file": (
                    filename,
                    data,
                    "image/png" if filename.endswith(".png") else "application/octet-stream",
                )
            },
            data={"comment": mark, "minorEdit": "true"},
        )
        return True

    def web_url(self, page: Mapping[str, Any]) -> str:
        """The page's address in a browser."""
        webui = str(
            (page.get("_links") or {}).get("webui") or f"/pages/viewpage.action?pageId={page['id']}"
        )
        return self.base_url + webui


def _basic(user: str, token: str) -> str:
    return base64.b64encode(f"{user}:{token}".encode()).decode() if user and token else ""


def _retry_after(response: httpx2.Response, attempt: int) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return min(30.0, 2.0**attempt)


def client_from_env(base_url: str, environ: Mapping[str, str], **options: Any) -> ConfluenceClient:
    """A client authenticated from ``CONFLUENCE_USER`` and ``CONFLUENCE_API_TOKEN``."""
    missing = [name for name in (USER_ENV, TOKEN_ENV) if not environ.get(name, "").strip()]
    if missing:
        raise PublishError(
            f"{' and '.join(missing)} not set: export the Atlassian account's email in {USER_ENV} "
            f"and an API token (id.atlassian.com, Security, API tokens) in {TOKEN_ENV}"
        )
    return ConfluenceClient(
        base_url, environ[USER_ENV].strip(), environ[TOKEN_ENV].strip(), **options
    )


def _find(
    client: ConfluenceClient,
    space_key: str,
    space_id: str,
    title: str,
    label: str,
    page_id: str | None,
) -> dict[str, Any] | None:
    if page_id and (page := client.page(page_id)) is not None:
        return page
    found = client.page_by_label(space_key, label)
    if found is None:
        by_title = client.page_by_title(space_id, title)
        found = str(by_title["id"]) if by_title else None
    return client.page(found) if found else None


def _proposal(names: Mapping[str, str]) -> tuple[str, str]:
    """A footer comment proposing ``names``' fresh content, and the key that identifies it
    (a digest of what it proposes, so the same proposal is never posted twice)."""
    key = hashlib.sha256(
        "\n".join(f"{n}\n{canonical(c)}" for n, c in sorted(names.items())).encode()
    ).hexdigest()[:16]
    parts = [
        f"<p>pmdraft proposal {key}: pmdraft has a newer version of sections you edited; your "
        "text was kept. Copy what you want from below.</p>"
    ]
    for name, content in names.items():
        parts += [f"<h3>{name}</h3>", content]
    return key, "".join(parts)


def _refresh(
    client: ConfluenceClient,
    page: dict[str, Any],
    storage: str,
    result: PublishResult,
    message: str,
) -> dict[str, Any]:
    for attempt in range(MAX_CONFLICTS + 1):
        merged = merge(str(page["body"]["storage"]["value"]), storage)
        result.updated, result.kept = merged.updated, merged.kept
        if merged.unmarked:
            result.kept = ["*"]
            merged.proposed = {"draft": storage}
        if merged.text == page["body"]["storage"]["value"]:
            break
        try:
            page = {**page, **client.update_page(page, merged.text, message)}
            break
        except PublishError as exc:
            if exc.status != 409 or attempt == MAX_CONFLICTS:
                raise
            log.info("confluence page %s changed while publishing; merging again", page["id"])
            page = client.page(str(page["id"])) or page
    if merged.proposed:
        key, comment = _proposal(merged.proposed)
        if not any(key in existing for existing in client.footer_comments(str(page["id"]))):
            client.add_footer_comment(str(page["id"]), comment)
        result.proposed = list(merged.proposed)
    return page


def publish(
    client: ConfluenceClient,
    storage: str,
    *,
    title: str,
    space_key: str,
    incident_key: str,
    parent_title: str | None = None,
    attachments: Mapping[str, bytes] | None = None,
    page_id: str | None = None,
    message: str = "Refreshed by pmdraft",
) -> PublishResult:
    """Create or refresh the incident's page with ``storage`` (a sealed Confluence rendering).

    ``page_id`` is the page remembered from an earlier publish, if any. Attachments (file name
    -> bytes) are uploaded after the page exists. Returns the page id, URL, version and what
    happened to each block.
    """
    space_id = client.space_id(space_key)
    label = label_for(incident_key)
    page = _find(client, space_key, space_id, title, label, page_id)
    result = PublishResult("", "", 0)
    if page is None:
        parent = client.page_by_title(space_id, parent_title) if parent_title else None
        if parent_title and parent is None:
            raise PublishError(f"parent page {parent_title!r} not found in space {space_key}")
        page = client.create_page(space_id, title, storage, str(parent["id"]) if parent else None)
        client.add_label(str(page["id"]), label)
        result.created = True
    else:
        page = _refresh(client, page, storage, result, message)
    result.page_id, result.url = str(page["id"]), client.web_url(page)
    result.version = int(page["version"]["number"])
    for name, data in (attachments or {}).items():
        changed = client.put_attachment(result.page_id, name, data)
        (result.uploaded if changed else result.unchanged_attachments).append(name)
    return result
