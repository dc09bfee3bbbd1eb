"""Local stand-in for GitHub's Deployments REST API, for the demo and the tests.

Plain HTTP on 127.0.0.1 (the client is pmdraft's own, so nothing refuses ``http://``):
``GET /repos/{owner}/{repo}/deployments`` (newest first, ``environment`` filter, ``per_page``
up to 100, default 30, ``page``) and ``GET /repos/{owner}/{repo}/deployments/{id}/statuses``.
It behaves as GitHub does where a client could notice: ``Authorization: Bearer <token>`` (or
``token <token>``) or 401 ``Bad credentials``; ``Link`` headers with ``next`` and ``last``;
``x-ratelimit-limit``/``-remaining``/``-reset``/``-used`` on every answer and, once the quota is
spent, 403 "API rate limit exceeded" until it is reset; GitHub's error body. Records have the
keys of the documented examples (``tests/data/payloads/github-*.json``).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from pmdraft.model import iso_z, require_aware

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
DOCS = "https://docs.github.com/rest"


def _user(login: str) -> dict[str, Any]:
    base = f"https://api.github.com/users/{login}"
    return {
        "login": login,
        "id": abs(hash(login)) % 10**6,
        "node_id": "MDQ6VXNlcjE=",
        "avatar_url": "https://github.com/images/error/octocat_happy.gif",
        "gravatar_id": "",
        "url": base,
        "html_url": f"https://github.com/{login}",
        "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}",
        "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs",
        "repos_url": f"{base}/repos",
        "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events",
        "type": "User",
        "site_admin": False,
    }


@dataclass
class _Repo:
    deployments: list[dict[str, Any]] = field(default_factory=list)
    statuses: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


class GitHubStandIn:
    """The stand-in server; use as a context manager. ``base_url`` is the API root."""

    def __init__(self, token: str, *, rate_limit: int = 5000) -> None:
        self.token = token
        self.rate_limit = rate_limit
        """Requests allowed until :meth:`reset_quota` (GitHub: 5,000 an hour for a token)."""
        self.remaining = rate_limit
        self.reset_at = int(time.time()) + 3600
        self.requests: list[str] = []
        """Path and query of every request, in order."""
        self._repos: dict[str, _Repo] = {}
        self._faults: list[list[Any]] = []  # [path prefix, status, times left]
        self._lock = threading.Lock()
        self._next_id = 1
        self.base_url = ""

    # -- data --------------------------------------------------------------------------------

    def add_deployment(
        self,
        repo: str,
        *,
        created_at: datetime,
        environment: str = "production",
        sha: str = "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d",
        ref: str = "main",
        description: str = "",
        creator: str = "octocat",
        statuses: list[tuple[datetime, str]] = (),  # type: ignore[assignment]
    ) -> int:
        """Add a deployment and its statuses (``(time, state)``); return its id."""
        with self._lock:
            number = self._next_id
            self._next_id += 1
        api = f"https://api.github.com/repos/{repo}"
        stamp = iso_z(require_aware(created_at, "created_at"))
        record = {
            "url": f"{api}/deployments/{number}",
            "id": number,
            "node_id": "MDEwOkRlcGxveW1lbnQx",
            "sha": sha,
            "ref": ref,
            "task": "deploy",
            "payload": {},
            "original_environment": environment,
            "environment": environment,
            "description": description,
            "creator": _user(creator),
            "created_at": stamp,
            "updated_at": stamp,
            "statuses_url": f"{api}/deployments/{number}/statuses",
            "repository_url": api,
            "transient_environment": False,
            "production_environment": environment == "production",
        }
        entries = []
        for i, (at, state) in enumerate(statuses, start=1):
            when = iso_z(require_aware(at, "status time"))
            entries.append(
                {
                    "url": f"{api}/deployments/{number}/statuses/{i}",
                    "id": number * 1000 + i,
                    "node_id": "MDE2OkRlcGxveW1lbnRTdGF0dXMx",
                    "state": state,
                    "creator": _user(creator),
                    "description": f"Deployment {state}.",
                    "environment": environment,
                    "target_url": f"https://ci.example.com/deployment/{number}/output",
                    "created_at": when,
                    "updated_at": when,
                    "deployment_url": f"{api}/deployments/{number}",
                    "repository_url": api,
                    "environment_url": "",
                    "log_url": f"https://ci.example.com/deployment/{number}/output",
                }
            )
        with self._lock:
            r = self._repos.setdefault(repo, _Repo())
            r.deployments.append(record)
            r.deployments.sort(key=lambda d: (d["created_at"], d["id"]), reverse=True)
            r.statuses[number] = sorted(
                entries, key=lambda s: (s["created_at"], s["id"]), reverse=True
            )
        return number

    def alter(self, repo: str, number: int, **fields: Any) -> None:
        """Replace fields of deployment ``number`` as stored (an odd record: any JSON value)."""
        with self._lock:
            [record] = [d for d in self._repos[repo].deployments if d.get("id") == number]
            record.update(fields)

    def alter_status(self, repo: str, number: int, index: int, record: Any) -> None:
        """Replace the ``index``-th newest status of deployment ``number`` with ``record``."""
        with self._lock:
            self._repos[repo].statuses[number][index] = record

    def insert_raw(self, repo: str, index: int, record: Any) -> None:
        """Put ``record`` (any JSON value) at ``index`` of the newest-first listing."""
        with self._lock:
            self._repos.setdefault(repo, _Repo()).deployments.insert(index, record)

    def inject(
        self, path_prefix: str, status: int, times: int = 1, message: str = "Server Error"
    ) -> None:
        """Answer the next ``times`` requests whose path starts with ``path_prefix`` with ``status``
        and ``message`` as the error body's message."""
        with self._lock:
            self._faults.append([path_prefix, status, times, message])

    def spend_quota(self, remaining: int = 0, reset_in: float = 3600) -> None:
        """Leave ``remaining`` requests in the quota, which resets ``reset_in`` seconds from now."""
        with self._lock:
            self.remaining = remaining
            self.reset_at = int(time.time() + reset_in)

    def reset_quota(self) -> None:
        with self._lock:
            self.remaining = self.rate_limit

    # -- serving -----------------------------------------------------------------------------

    def _answer(
        self, path: str, query: dict[str, list[str]], auth: str
    ) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            self.requests.append(
                path + ("?" + urlencode({k: v[0] for k, v in query.items()}) if query else "")
            )
            limits = {
                "x-ratelimit-limit": str(self.rate_limit),
                "x-ratelimit-reset": str(self.reset_at),
                "x-ratelimit-resource": "core",
            }
            if auth not in (f"Bearer {self.token}", f"token {self.token}"):
                return (
                    401,
                    {},
                    {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"},
                )
            if self.remaining <= 0:
                limits |= {"x-ratelimit-remaining": "0", "x-ratelimit-used": str(self.rate_limit)}
                return (
                    403,
                    limits,
                    {
                        "message": "API rate limit exceeded for user ID 1.",
                        "documentation_url": DOCS,
                        "status": "403",
                    },
                )
            self.remaining -= 1
            limits |= {
                "x-ratelimit-remaining": str(self.remaining),
                "x-ratelimit-used": str(self.rate_limit - self.remaining),
            }
            for fault in self._faults:
                if path.startswith(fault[0]) and fault[2] > 0:
                    fault[2] -= 1
                    return (
                        fault[1],
                        limits,
                        {
                            "message": fault[3],
                            "documentation_url": DOCS,
                            "status": str(fault[1]),
                        },
                    )
            parts = path.strip("/").split("/")
            if (
                len(parts) < 4
                or parts[0] != "repos"
                or parts[3] != "deployments"
                or len(parts) not in (4, 6)
            ):
                return (
                    404,
                    limits,
                    {"message": "Not Found", "documentation_url": DOCS, "status": "404"},
                )
            repo = self._repos.get(f"{parts[1]}/{parts[2]}")
            if repo is None:
                return (
                    404,
                    limits,
                    {"message": "Not Found", "documentation_url": DOCS, "status": "404"},
                )
            if len(parts) == 4:
                items = repo.deployments
                if "environment" in query:
                    items = [d for d in items if d["environment"] == query["environment"][0]]
            elif parts[5] == "statuses" and parts[4].isdigit() and int(parts[4]) in repo.statuses:
                items = repo.statuses[int(parts[4])]
            else:
                return (
                    404,
                    limits,
                    {"message": "Not Found", "documentation_url": DOCS, "status": "404"},
                )
        per_page = min(int(query.get("per_page", [DEFAULT_PER_PAGE])[0]), MAX_PER_PAGE)
        page = max(int(query.get("page", ["1"])[0]), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        headers = dict(limits)
        links = []
        for rel, number in (("prev", page - 1), ("next", page + 1), ("last", last), ("first", 1)):
            if (
                (rel == "prev" and page > 1)
                or (rel == "next" and page < last)
                or (rel in ("last", "first") and last > 1)
            ):
                args = {k: v[0] for k, v in query.items()} | {
                    "per_page": str(per_page),
                    "page": str(number),
                }
                links.append(f'<{self.base_url}{path}?{urlencode(args)}>; rel="{rel}"')
        if links:
            headers["link"] = ", ".join(links)
        return 200, headers, items[(page - 1) * per_page : page * per_page]

    def start(self) -> GitHubStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                status, headers, body = standin._answer(
                    url.path, parse_qs(url.query), self.headers.get("Authorization", "")
                )
                data = json.dumps(body).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="github-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> GitHubStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
