"""GitHub Deployments as deploy events, through ``httpx2`` (already installed with ``pagerduty``).

Per repository: ``GET /repos/{owner}/{repo}/deployments`` (newest first, 100 a page, one listing
per configured environment), followed through its ``Link: rel="next"`` pages until the
deployments are older than the range; then each deployment's ``statuses``, paginated the same
way. A deployment gives ``deploy.started`` when it was created and one ``deploy.succeeded`` or
``deploy.failed`` per ``success``, ``failure`` or ``error`` status.

Rate limits are respected: when ``x-ratelimit-remaining`` reaches 0, or GitHub answers 403 or
429 for the rate limit, the next request waits for ``x-ratelimit-reset`` (or ``retry-after``)
up to ``max_wait`` seconds; a longer wait makes the source a named data gap. Server errors and
network failures are retried by :mod:`pmdraft.sources._http`, which also words the errors.
``base_url`` points at GitHub Enterprise Server (``https://HOST/api/v3``).

A deployment or status that cannot be read (not an object, no usable ``id`` or ``created_at``)
is skipped and named in ``detail``; statuses after the window's end, and deployments created
after it, are left out and counted there too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2

from ...errors import CollectorError
from ...model import (
    DEPLOY_FAILED,
    DEPLOY_STARTED,
    DEPLOY_SUCCEEDED,
    Event,
    SourceExtras,
    Window,
    iso_z,
    parse_time,
)
from .._http import (
    NetworkFailure,
    RetriesExhausted,
    RetryPolicy,
    retry_on_5xx,
    server_wait,
    status_error,
    translate,
)
from ..base import RequestCounter
from .file import describe
from .notes import skipped_detail

log = logging.getLogger(__name__)

PER_PAGE = 100
"""Records per page: the API's maximum."""

MAX_RETRIES = 3
"""Retries of a request that met a 5xx or a network error, with 1, 2, 4 s between them."""

_KIND_BY_STATE = {
    "success": ("succeeded", DEPLOY_SUCCEEDED),
    "failure": ("failed", DEPLOY_FAILED),
    "error": ("failed", DEPLOY_FAILED),
}


class GitHubDeploymentsCollector:
    """Deploy events from GitHub Deployments of one or more repositories."""

    def __init__(
        self,
        base_url: str,
        token: str,
        repos: Sequence[str],
        *,
        environments: Sequence[str] = (),
        lookback: timedelta = timedelta(hours=6),
        timeout: float = 30.0,
        max_wait: float = 60.0,
        transport: httpx2.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.repos = list(repos)
        self.environments = list(environments)
        self.lookback = lookback
        """Deployments created this long before the window are read too."""
        self.max_wait = max_wait
        """Longest wait for a rate limit to reset, in seconds; a longer one is a data gap."""
        self.name = "github:" + ",".join(self.repos)
        self.detail: str | None = None
        self._token = token
        self._timeout = timeout
        self._counter = RequestCounter()
        self._bad: list[str] = []
        self._outside = 0
        # 5xx and network errors: the shared bounded retries (1, 2, 4 s). GitHub's own rate
        # limit (403/429 with x-ratelimit-*) is handled in _get, which knows its epoch reset.
        self._retry = RetryPolicy(
            self._counter,
            max_retries=MAX_RETRIES,
            max_wait=max_wait,
            sleep=sleep,
            retry_status=retry_on_5xx,
            backoff_base=1.0,
            jitter=0.0,
            wait_setting="max_rate_limit_wait_seconds",
        )
        self._sleep, self._clock = sleep, clock
        self._resume_at = 0.0
        self._waited = 0.0
        self._client = httpx2.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "pmdraft",
            },
            timeout=timeout,
            transport=transport,
            follow_redirects=True,
        )

    @property
    def requests(self) -> int:
        """HTTP requests made so far, retries included."""
        return self._counter.value

    def extras(self) -> SourceExtras:
        """Nothing besides events."""
        return SourceExtras()

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    def _wait(self, until: float, why: str, what: str) -> None:
        delay = until - self._clock()
        if delay <= 0:
            return
        if delay > self.max_wait:
            resume = datetime.fromtimestamp(until, UTC)
            raise CollectorError(
                self.name,
                f"{what}: {why} until {iso_z(resume)}, longer than max_rate_limit_wait_seconds "
                f"({self.max_wait:g} s); run again after that time or raise the setting",
            )
        log.info("%s: %s, waiting %.1f s", self.name, why, delay)
        self._waited += delay
        self._sleep(delay)

    def _send(self, url: str, params: dict[str, Any] | None, what: str) -> httpx2.Response:
        """One GET through the shared retries, its failures translated."""
        try:
            return self._retry.send(lambda: self._client.get(url, params=params), what)
        except (RetriesExhausted, NetworkFailure) as exc:
            raise translate(
                exc,
                self.name,
                what,
                secret=self._token,
                timeout=self._timeout,
                network_step=f"check base_url ({self.base_url}) and the network",
            ) from exc

    def _get(self, url: str, params: dict[str, Any] | None = None) -> httpx2.Response:
        what = f"GET {httpx2.URL(url).path if url.startswith('http') else url}"
        limited = 0
        while True:
            self._wait(self._resume_at, "the GitHub rate limit is used up", what)
            response = self._send(url, params, what)
            headers = response.headers
            remaining, reset = (
                headers.get("x-ratelimit-remaining"),
                headers.get("x-ratelimit-reset"),
            )
            # x-ratelimit-reset is GitHub's epoch second when the quota refills.
            if remaining == "0" and reset and reset.isdigit():
                self._resume_at = float(reset)
            elif remaining and remaining.isdigit():
                self._resume_at = 0.0
            if (
                response.status_code in (403, 429)
                and (remaining == "0" or "retry-after" in headers)
                and limited < MAX_RETRIES
            ):
                limited += 1
                asked = server_wait(response, now=self._clock())
                if asked is not None and "retry-after" in headers:
                    self._resume_at = self._clock() + asked
                if self._resume_at <= self._clock():
                    # GitHub's advice without a reset time: wait a minute.
                    self._resume_at = self._clock() + 60
                continue
            if response.is_success:
                return response
            raise self._error(what, response)

    def _error(self, what: str, response: httpx2.Response) -> CollectorError:
        try:
            message = str(response.json().get("message", ""))
        except ValueError:
            message = response.text
        step = ""
        if response.status_code == 401:
            step = "the token was refused: check the variable named by token_env"
        elif response.status_code in (403, 404):
            step = "check the repository name and that the token may read its deployments"
        return status_error(
            self.name,
            what,
            response.status_code,
            message,
            secret=self._token,
            next_step=step,
            status_word="",
            one_line=True,
        )

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        url: str | None = path
        first = True
        while url:
            response = self._get(url, params if first else None)
            first = False
            try:
                body = response.json()
            except ValueError as exc:
                raise CollectorError(self.name, f"GET {path} answered with invalid JSON") from exc
            if not isinstance(body, list):
                raise CollectorError(self.name, f"GET {path} answered without a list")
            yield body
            url = response.links.get("next", {}).get("url")

    def collect(self, window: Window) -> Iterator[Event]:
        """Each repository's deployments (per environment) from the lookback to the window's end."""
        since = window.since - self.lookback
        self._waited, self._bad, self._outside = 0.0, [], 0
        try:
            for repo in self.repos:
                for environment in self.environments or [""]:
                    params: dict[str, Any] = {"per_page": PER_PAGE}
                    if environment:
                        params["environment"] = environment
                    yield from self._repo(repo, params, since, window.until)
        finally:
            waited = (
                [f"waited {self._waited:.0f} s for GitHub's rate limit"] if self._waited else []
            )
            self.detail = skipped_detail(
                waited, self._bad, "GitHub record", self._outside, self.lookback
            )

    def _repo(
        self, repo: str, params: dict[str, Any], since: datetime, until: datetime
    ) -> Iterator[Event]:
        path = f"/repos/{repo}/deployments"
        for page in self._pages(path, params):
            older = False
            for d in page:
                read = self._read(d, f"{repo}: deployment")
                if read is None:
                    continue
                created, number = read
                if created < since:
                    older = True
                    continue
                if created >= until:
                    self._outside += 1
                    continue
                yield from self._deployment(repo, d, number, created, since, until)
            if older:
                return

    def _read(self, record: Any, what: str) -> tuple[datetime, int] | None:
        """A record's ``created_at`` and ``id``, or ``None`` with the record named in ``detail``."""
        if not isinstance(record, dict):
            self._bad.append(f"{what} that is not an object ({type(record).__name__})")
            return None
        number = record.get("id")
        if not isinstance(number, int) or isinstance(number, bool):
            self._bad.append(f"{what} without a numeric id ({number!r})")
            return None
        try:
            return parse_time(str(record["created_at"])), number
        except (KeyError, ValueError):
            stamp = record.get("created_at")
            self._bad.append(f"{what} {number}: created_at {stamp!r} is not a time")
            return None

    def _deployment(
        self,
        repo: str,
        d: dict[str, Any],
        number: int,
        created: datetime,
        since: datetime,
        until: datetime,
    ) -> Iterator[Event]:
        git_ref = _text(d.get("ref"))
        record = {
            "service": repo.rsplit("/", 1)[-1],
            "environment": _text(d.get("environment")),
            "version": _text(d.get("sha"))[:12] or git_ref,
            "description": _text(d.get("description")),
        }
        ref = f"{repo}#{number}"
        actor = _login(d.get("creator"))
        attrs = {
            "version": record["version"] or None,
            "environment": record["environment"] or None,
            "git_ref": git_ref or None,
            "repo": repo,
            "description": record["description"] or None,
        }

        def event(at: datetime, status: str, kind: str, who: Any, url: Any) -> Event:
            return Event(
                at=at,
                source="github",
                kind=kind,
                ref=ref,
                summary=describe({**record, "status": status}),
                service=record["service"],
                actor=who if isinstance(who, str) else None,
                url=url if isinstance(url, str) and url else None,
                attrs=attrs | {"status": status},
            )

        yield event(created, "started", DEPLOY_STARTED, actor, None)
        statuses_path = f"/repos/{repo}/deployments/{number}/statuses"
        for page in self._pages(statuses_path, {"per_page": PER_PAGE}):
            for s in page:
                read = self._read(s, f"{repo}: deployment {number}: status")
                if read is None:
                    continue
                state = _KIND_BY_STATE.get(str(s.get("state")))
                if state is None:
                    continue
                at = read[0]
                if not since <= at < until:
                    self._outside += 1
                    continue
                url = s.get("log_url") or s.get("target_url")
                yield event(at, state[0], state[1], _login(s.get("creator")), url)


def _text(value: Any) -> str:
    """A text field as given, or ``""`` when it is missing or not text."""
    return value if isinstance(value, str) else ""


def _login(user: Any) -> str | None:
    """A GitHub user object's ``login``, or ``None`` for anything else."""
    login = user.get("login") if isinstance(user, dict) else None
    return login if isinstance(login, str) else None
