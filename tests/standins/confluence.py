"""A Confluence Cloud stand-in on 127.0.0.1: the REST endpoints pmdraft's publisher uses.

Shapes follow Atlassian's REST v2 and v1 docs (examples in ``tests/data/confluence``): spaces
by key, pages (list by space and title, read with ``body-format=storage``, create, update with
optimistic locking: a version number other than current + 1 is HTTP 409), labels and CQL search
by label (v1), attachments (v2 listing; v1 multipart upload, which needs
``X-Atlassian-Token: no-check`` and refuses a second file of the same name, and v1 data update),
footer comments (v2). Every request needs HTTP Basic with the configured email and API token.
``log`` records ``(method, path, query)`` in order; ``edit`` and ``save_meanwhile`` play a
person editing the page in Confluence.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import itertools
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Json = dict[str, Any]
WHEN = "2026-12-01T10:00:00.000Z"


class ConfluenceStandIn:
    """One Confluence site with spaces, pages, attachments and footer comments, in memory."""

    def __init__(self, user: str, token: str, spaces: dict[str, str] | None = None) -> None:
        self.auth = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()
        self.spaces = {
            key: {
                "id": str(100 + i),
                "key": key,
                "name": name,
                "type": "global",
                "status": "current",
            }
            for i, (key, name) in enumerate((spaces or {"SRE": "Site Reliability"}).items())
        }
        self.pages: dict[str, Json] = {}
        self.attachments: dict[str, dict[str, Json]] = {}
        self.comments: list[Json] = []
        self.log: list[tuple[str, str, dict[str, list[str]]]] = []
        self._ids = itertools.count(9001)
        self._meanwhile: set[str] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """The site's ``/wiki`` root, as the publisher is configured with."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/wiki"

    def __enter__(self) -> ConfluenceStandIn:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def add_page(
        self, space: str, title: str, body: str = "<p></p>", parent: str | None = None
    ) -> str:
        """Create a page directly (as a person would), returning its id."""
        return str(
            self._create(
                {
                    "spaceId": self.spaces[space]["id"],
                    "title": title,
                    "parentId": parent,
                    "body": {"value": body},
                }
            )["id"]
        )

    def edit(self, page_id: str, body: str) -> None:
        """A person saves a new body in Confluence: the version goes up by one."""
        page = self.pages[page_id]
        page["body"] = body
        page["version"] = {
            **page["version"],
            "number": page["version"]["number"] + 1,
            "message": "edited by a person",
        }

    def save_meanwhile(self, page_id: str) -> None:
        """Someone saves the page just before the next update arrives (that update gets a 409)."""
        self._meanwhile.add(page_id)

    def calls(self, method: str, pattern: str) -> list[str]:
        """Paths of the logged ``method`` calls whose path matches ``pattern`` (regex)."""
        return [path for m, path, _ in self.log if m == method and re.fullmatch(pattern, path)]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _serve(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, answer = standin.answer(
                    self.command, url.path, parse_qs(url.query), dict(self.headers.items()), body
                )
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _serve

        return Handler

    def answer(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[int, Any]:
        """Status and JSON for one request (what the HTTP handler sends)."""
        with self._lock:
            self.log.append((method, path, query))
            if headers.get("Authorization") != self.auth:
                return 401, {"code": 401, "message": "Unauthorized; scope does not match"}
            for (verb, pattern), handler in _ROUTES.items():
                m = re.fullmatch(pattern, path)
                if verb == method and m:
                    return handler(self, query, headers, body, *m.groups())
            return 404, {"errors": [{"status": 404, "code": "NOT_FOUND", "title": "Not found"}]}

    def _page_json(self, page: Json, with_body: bool) -> Json:
        out = {
            k: page[k]
            for k in (
                "id",
                "status",
                "title",
                "spaceId",
                "parentId",
                "authorId",
                "createdAt",
                "version",
            )
        }
        out["_links"] = {
            "webui": f"/spaces/{self._space_key(page['spaceId'])}/pages/{page['id']}",
            "editui": f"/pages/resumedraft.action?draftId={page['id']}",
            "tinyui": f"/x/{page['id']}",
        }
        if with_body:
            out["body"] = {"storage": {"representation": "storage", "value": page["body"]}}
        return out

    def _space_key(self, space_id: str) -> str:
        return next(s["key"] for s in self.spaces.values() if s["id"] == space_id)

    def _create(self, payload: Json) -> Json:
        page_id = str(next(self._ids))
        self.pages[page_id] = {
            "id": page_id,
            "status": "current",
            "title": payload["title"],
            "spaceId": payload["spaceId"],
            "parentId": payload.get("parentId"),
            "authorId": "557058:pmdraft",
            "createdAt": WHEN,
            "version": {
                "number": 1,
                "message": "",
                "minorEdit": False,
                "authorId": "557058:pmdraft",
                "createdAt": WHEN,
            },
            "body": payload["body"]["value"],
            "labels": set(),
        }
        return self.pages[page_id]


def _one(query: dict[str, list[str]], key: str) -> str | None:
    return query.get(key, [None])[0]


def _spaces(s: ConfluenceStandIn, q: dict[str, list[str]], *_: Any) -> tuple[int, Any]:
    keys = ",".join(q.get("keys", [])).split(",")
    return 200, {"results": [sp for k, sp in s.spaces.items() if k in keys], "_links": {}}


def _pages(s: ConfluenceStandIn, q: dict[str, list[str]], *_: Any) -> tuple[int, Any]:
    found = [
        p
        for p in s.pages.values()
        if p["spaceId"] in q.get("space-id", [p["spaceId"]])
        and _one(q, "title") in (None, p["title"])
    ]
    return 200, {"results": [s._page_json(p, False) for p in found], "_links": {}}


def _get_page(
    s: ConfluenceStandIn, q: dict[str, list[str]], h: Any, b: Any, page_id: str
) -> tuple[int, Any]:
    if page_id not in s.pages:
        return 404, {"errors": [{"status": 404, "code": "NOT_FOUND", "title": "Page not found"}]}
    return 200, s._page_json(s.pages[page_id], _one(q, "body-format") == "storage")


def _post_page(s: ConfluenceStandIn, q: Any, h: Any, body: bytes) -> tuple[int, Any]:
    payload = json.loads(body)
    if payload.get("spaceId") not in {sp["id"] for sp in s.spaces.values()}:
        return 400, {
            "errors": [{"status": 400, "code": "INVALID_REQUEST_PARAMETER", "title": "bad spaceId"}]
        }
    return 200, s._page_json(s._create(payload), True)


def _put_page(s: ConfluenceStandIn, q: Any, h: Any, body: bytes, page_id: str) -> tuple[int, Any]:
    page, payload = s.pages.get(page_id), json.loads(body)
    if page is None:
        return 404, {"errors": [{"status": 404, "code": "NOT_FOUND", "title": "Page not found"}]}
    if page_id in s._meanwhile:
        s._meanwhile.discard(page_id)
        s.edit(page_id, page["body"].replace("</p>", " (typo fixed)</p>", 1))
    if payload["version"]["number"] != page["version"]["number"] + 1:
        return 409, {
            "errors": [
                {
                    "status": 409,
                    "code": "CONFLICT",
                    "title": "Version must be incremented on update. Current version is: "
                    f"{page['version']['number']}",
                }
            ]
        }
    page.update(
        title=payload["title"],
        body=payload["body"]["value"],
        version={
            **page["version"],
            "number": payload["version"]["number"],
            "message": payload["version"].get("message", ""),
        },
    )
    return 200, s._page_json(page, False)


def _search(s: ConfluenceStandIn, q: dict[str, list[str]], *_: Any) -> tuple[int, Any]:
    cql = _one(q, "cql") or ""
    label = re.search(r'label = "([^"]+)"', cql)
    space = re.search(r'space = "([^"]+)"', cql)
    found = [
        p
        for p in s.pages.values()
        if label
        and label.group(1) in p["labels"]
        and (not space or s._space_key(p["spaceId"]) == space.group(1))
    ]
    return 200, {
        "results": [
            {"id": p["id"], "type": "page", "status": "current", "title": p["title"]} for p in found
        ],
        "start": 0,
        "limit": 25,
        "size": len(found),
        "_links": {},
    }


def _label(s: ConfluenceStandIn, q: Any, h: Any, body: bytes, page_id: str) -> tuple[int, Any]:
    labels = json.loads(body)
    s.pages[page_id]["labels"].update(label["name"] for label in labels)
    return 200, {
        "results": [
            {"prefix": "global", "name": n, "id": str(abs(hash(n)) % 10**6), "label": n}
            for n in sorted(s.pages[page_id]["labels"])
        ],
        "start": 0,
        "limit": 200,
        "size": len(s.pages[page_id]["labels"]),
    }


def _attachment_json(page_id: str, a: Json) -> Json:
    return {
        "id": a["id"],
        "status": "current",
        "title": a["title"],
        "pageId": page_id,
        "mediaType": a["mediaType"],
        "fileSize": len(a["data"]),
        "comment": a["comment"],
        "fileId": a["fileId"],
        "version": {"number": a["version"], "createdAt": WHEN},
        "downloadLink": f"/download/attachments/{page_id}/{a['title']}?version={a['version']}",
    }


def _list_attachments(
    s: ConfluenceStandIn, q: Any, h: Any, b: Any, page_id: str
) -> tuple[int, Any]:
    files = s.attachments.get(page_id, {})
    wanted = [a for name, a in files.items() if _one(q, "filename") in (None, name)]
    return 200, {"results": [_attachment_json(page_id, a) for a in wanted], "_links": {}}


def _multipart(headers: dict[str, str], body: bytes) -> dict[str, tuple[str | None, bytes]]:
    head = f"Content-Type: {headers.get('Content-Type', '')}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    parts: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        parts[str(name)] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return parts


def _upload(
    s: ConfluenceStandIn,
    q: Any,
    headers: dict[str, str],
    body: bytes,
    page_id: str,
    attachment_id: str | None = None,
) -> tuple[int, Any]:
    if headers.get("X-Atlassian-Token") != "no-check":
        return 403, {"statusCode": 403, "message": "XSRF check failed"}
    parts = _multipart(headers, body)
    filename, data = parts["file"]
    files = s.attachments.setdefault(page_id, {})
    comment = parts.get("comment", (None, b""))[1].decode()
    if attachment_id is None:
        if filename in files:
            return 400, {
                "statusCode": 400,
                "message": "Cannot add a new attachment with same file "
                f"name as an existing attachment: {filename}",
            }
        files[str(filename)] = {
            "id": f"att{next(s._ids)}",
            "title": filename,
            "data": data,
            "version": 1,
            "comment": comment,
            "fileId": f"file-{len(files)}",
            "mediaType": "image/png"
            if str(filename).endswith(".png")
            else "application/octet-stream",
        }
        stored = files[str(filename)]
    else:
        stored = next(a for a in files.values() if a["id"] == attachment_id)
        stored.update(data=data, comment=comment, version=stored["version"] + 1)
    record = {
        "id": stored["id"],
        "type": "attachment",
        "status": "current",
        "title": stored["title"],
        "version": {"number": stored["version"]},
        "metadata": {"mediaType": stored["mediaType"], "comment": comment},
        "extensions": {"mediaType": stored["mediaType"], "fileSize": len(data), "comment": comment},
    }
    return 200, ({"results": [record], "size": 1} if attachment_id is None else record)


def _footer_comments(s: ConfluenceStandIn, q: Any, h: Any, b: Any, page_id: str) -> tuple[int, Any]:
    found = [c for c in s.comments if c["pageId"] == page_id]
    return 200, {"results": found, "_links": {}}


def _post_comment(s: ConfluenceStandIn, q: Any, h: Any, body: bytes) -> tuple[int, Any]:
    payload = json.loads(body)
    if payload.get("pageId") not in s.pages:
        return 404, {"errors": [{"status": 404, "code": "NOT_FOUND", "title": "Page not found"}]}
    comment = {
        "id": str(next(s._ids)),
        "status": "current",
        "title": "Re: " + s.pages[payload["pageId"]]["title"],
        "pageId": payload["pageId"],
        "version": {"number": 1, "createdAt": WHEN},
        "body": {"storage": {"representation": "storage", "value": payload["body"]["value"]}},
        "_links": {"webui": f"/pages/{payload['pageId']}?focusedCommentId=1"},
    }
    s.comments.append(comment)
    return 200, comment


_ROUTES: dict[tuple[str, str], Any] = {
    ("GET", r"/wiki/api/v2/spaces"): _spaces,
    ("GET", r"/wiki/api/v2/pages"): _pages,
    ("POST", r"/wiki/api/v2/pages"): _post_page,
    ("GET", r"/wiki/api/v2/pages/(\d+)"): _get_page,
    ("PUT", r"/wiki/api/v2/pages/(\d+)"): _put_page,
    ("GET", r"/wiki/api/v2/pages/(\d+)/attachments"): _list_attachments,
    ("GET", r"/wiki/api/v2/pages/(\d+)/footer-comments"): _footer_comments,
    ("POST", r"/wiki/api/v2/footer-comments"): _post_comment,
    ("GET", r"/wiki/rest/api/content/search"): _search,
    ("POST", r"/wiki/rest/api/content/(\d+)/label"): _label,
    ("POST", r"/wiki/rest/api/content/(\d+)/child/attachment"): _upload,
    ("POST", r"/wiki/rest/api/content/(\d+)/child/attachment/(att\d+)/data"): _upload,
}
