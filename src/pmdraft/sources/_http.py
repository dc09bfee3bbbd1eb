"""The one boundary every HTTP source crosses: bounded retries, token scrubbing, error translation.

Every request of PagerDuty, GitHub (and any later HTTP API) goes through a :class:`RetryPolicy`,
either under the client as a :class:`RetryingTransport` or around each call with
:meth:`RetryPolicy.send`: each attempt is budgeted (:class:`~pmdraft.sources._rate.RequestBudget`),
counted and bounded, and ``Retry-After`` / ``ratelimit-reset`` are honoured. What a request
finally raises or answers becomes a :class:`~pmdraft.errors.CollectorError` through
:func:`translate` or :func:`status_error`, whose messages name the endpoint, the status, a short
quote of the answer with the token scrubbed (:func:`scrub`), and the next step.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable

import httpx2

from ..errors import CollectorError
from ._rate import RequestBudget
from .base import RequestCounter

TOKEN_MARK = "[token]"
"""What a token (or the start of one) is replaced with in any message."""

QUOTE_LIMIT = 200
"""Characters of a server's answer quoted in an error message."""

MIN_PARTIAL = 4
"""Shortest start of a token, at the very end of a text, that is taken for a cut-off token."""


def scrub(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` (and a tail that is its start) replaced by ``[token]``.

    A quoted answer cut short (a proxy echoing the Authorization header, then a 200-character
    limit) can end in the token's first characters; those are hidden as well.
    """
    if not secret:
        return text
    text = text.replace(secret, TOKEN_MARK)
    cut = next(
        (n for n in range(len(secret) - 1, MIN_PARTIAL - 1, -1) if text.endswith(secret[:n])), 0
    )
    return text[: len(text) - cut] + TOKEN_MARK if cut else text


def quote(
    text: str, secret: str | None, *, limit: int = QUOTE_LIMIT, one_line: bool = False
) -> str:
    """A short quote of a server's answer for a message: cut to ``limit``, then scrubbed.

    Cutting first, then scrubbing, hides a token the cut left half-shown; ``one_line`` folds
    every run of whitespace into one space first.
    """
    if one_line:
        text = " ".join(text.split())
    return scrub(text[:limit].strip(), secret)


def backoff(attempt: int, *, base: float = 0.5, cap: float = 30.0, jitter: float = 0.25) -> float:
    """Own wait before retry ``attempt`` (from 0): ``base * 2**attempt``, capped, jittered."""
    wait: float = min(cap, base * 2**attempt) * (1 + jitter * random.random())
    return wait


def server_wait(response: httpx2.Response, now: float | None = None) -> float | None:
    """Seconds the server asked to wait (``Retry-After``, else ``ratelimit-reset``), or ``None``.

    ``Retry-After`` is seconds or an HTTP date; ``ratelimit-reset`` is seconds from now (the IETF
    draft PagerDuty follows, not GitHub's epoch ``x-ratelimit-reset``).
    """
    header = response.headers.get("retry-after")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                parsed = email.utils.parsedate_to_datetime(header)
            except (TypeError, ValueError):
                parsed = None
            if parsed is not None and parsed.tzinfo is not None:
                return max(0.0, parsed.timestamp() - (now if now is not None else time.time()))
    reset = response.headers.get("ratelimit-reset")
    if reset:
        try:
            return max(0.0, float(reset))
        except ValueError:
            pass
    return None


class RetriesExhausted(Exception):
    """A request still failed (429 or 5xx) after the bounded retries, or would wait too long."""

    def __init__(self, url: str, status: int, detail: str) -> None:
        super().__init__(f"{url}: HTTP {status} {detail}")
        self.url = url
        self.status = status
        self.detail = detail
        """Why it stopped (attempts, or the wait), then a short quote of the last answer."""


class NetworkFailure(Exception):
    """A request still failed in the network (timeout, reset, refused) after the bounded retries.

    Not an ``httpx2.TransportError``, so a client above (``pagerduty``'s) lets it through
    unwrapped, with its cause: its own wrapper names neither the cause nor the attempts.
    """

    def __init__(self, url: str, attempts: int, error: httpx2.TransportError) -> None:
        self.url = url
        self.attempts = attempts
        self.error = error
        self.timed_out = isinstance(error, httpx2.TimeoutException)
        self.reason = (
            f"{error.__class__.__name__}: {error}" if str(error) else error.__class__.__name__
        )
        super().__init__(f"{url}: {self.reason} ({attempts} attempts)")


def retry_on_429_and_5xx(status: int) -> bool:
    """The statuses PagerDuty's API is retried on: 429 (rate limit) and any 5xx."""
    return status == 429 or status >= 500


def retry_on_5xx(status: int) -> bool:
    """Only server errors (an API with its own rate-limit protocol handles 429 itself)."""
    return status >= 500


class RetryPolicy:
    """Bounded retries of one request: retryable statuses and network errors, honouring headers.

    Each attempt (retries too) first waits for ``budget`` and is counted in ``counter``. A wait
    longer than ``max_wait``, whether the server asked for it or it is pmdraft's own backoff,
    fails at once rather than hanging, and the message says which it was.
    """

    def __init__(
        self,
        counter: RequestCounter,
        *,
        max_retries: int = 5,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        budget: RequestBudget | None = None,
        retry_status: Callable[[int], bool] = retry_on_429_and_5xx,
        backoff_base: float = 0.5,
        jitter: float = 0.25,
        wait_setting: str = "max_retry_wait_seconds",
    ) -> None:
        self.counter = counter
        """Counts every attempt, for the source's ``requests``."""
        self.max_retries = max_retries
        """Retries after the first attempt, per request (default 5)."""
        self.max_wait = max_wait
        """Longest single wait in seconds (default 60); a longer one is a failure."""
        self.sleep = sleep
        """What retries wait with; ``time.sleep`` unless a test passes a fake."""
        self.budget = budget
        """Shared request budget every attempt (retries too) waits for; ``None``: unlimited."""
        self.retry_status = retry_status
        """Which answered statuses are retried; the others are returned as they are."""
        self.backoff_base = backoff_base
        """Seconds before the first retry without a server hint; doubled each retry, up to 30."""
        self.jitter = jitter
        """Up to this fraction is added at random to a status backoff, so clients spread out."""
        self.wait_setting = wait_setting
        """The config key that sets ``max_wait``, named in the message when a wait is too long."""

    def send(self, attempt: Callable[[], httpx2.Response], url: str) -> httpx2.Response:
        """Call ``attempt`` until it answers a non-retryable status; raise when the bound is hit.

        Raises :class:`NetworkFailure` or :class:`RetriesExhausted`; ``url`` names the request in
        them (without its query).
        """
        n = 0
        while True:
            if self.budget is not None:
                self.budget.acquire()
            self.counter.add()
            try:
                response = attempt()
            except httpx2.TransportError as exc:
                if n >= self.max_retries:
                    raise NetworkFailure(url, n + 1, exc) from exc
                self.sleep(min(self.max_wait, self.backoff_base * 2**n))
                n += 1
                continue
            if not self.retry_status(response.status_code):
                return response
            response.read()
            self.sleep(self._wait_or_raise(url, response, n))
            n += 1

    def _wait_or_raise(self, url: str, response: httpx2.Response, attempt: int) -> float:
        """Seconds to wait before retrying ``response``; raise if out of attempts or too long."""
        asked = server_wait(response)
        wait = (
            asked
            if asked is not None
            else backoff(attempt, base=self.backoff_base, jitter=self.jitter)
        )
        if attempt < self.max_retries and wait <= self.max_wait:
            response.close()
            return wait
        detail = response.text[:QUOTE_LIMIT].strip()
        response.close()
        if attempt >= self.max_retries:
            why = f"after {attempt + 1} attempts"
        elif asked is not None:
            why = f"and asked to wait {wait:.0f} s, more than {self.wait_setting}={self.max_wait:g}"
        else:
            why = (
                f"and pmdraft's retry backoff of {wait:.1f} s is more than "
                f"{self.wait_setting}={self.max_wait:g}"
            )
        raise RetriesExhausted(url, response.status_code, f"{why}: {detail}")


class RetryingTransport(httpx2.BaseTransport):
    """An ``httpx2`` transport that sends every request through a :class:`RetryPolicy`.

    For clients that take a transport (``pagerduty``'s); a client with its own transport setup
    (proxies from the environment) calls :meth:`RetryPolicy.send` around its requests instead.
    """

    def __init__(self, inner: httpx2.BaseTransport, policy: RetryPolicy) -> None:
        self.inner = inner
        self.policy = policy

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request`` under the policy."""
        url = str(request.url.copy_with(query=None))
        return self.policy.send(lambda: self.inner.handle_request(request), url)

    def close(self) -> None:
        """Close the transport underneath."""
        self.inner.close()


def translate(
    exc: Exception,
    source: str,
    what: str,
    *,
    secret: str | None,
    timeout: float | None = None,
    network_step: str = "check the network and base_url",
) -> CollectorError:
    """The :class:`CollectorError` for a request ``what`` (``GET /path``) that raised ``exc``.

    The caller chains it: ``raise translate(...) from exc``.
    """
    if isinstance(exc, RetriesExhausted):
        return CollectorError(source, f"{what} failed: {exc.status} {scrub(exc.detail, secret)}")
    if isinstance(exc, NetworkFailure):
        why = (
            f"no answer within timeout_seconds={timeout:g}"
            if exc.timed_out and timeout is not None
            else scrub(exc.reason, secret)
        )
        return CollectorError(
            source,
            f"{what} failed after {exc.attempts} attempts: {why}; {network_step}"
            + (", or raise timeout_seconds" if exc.timed_out else ""),
        )
    return CollectorError(
        source, f"{what} failed: {exc.__class__.__name__}: {quote(str(exc), secret, one_line=True)}"
    )


def status_error(
    source: str,
    what: str,
    status: int,
    body: str,
    *,
    secret: str | None,
    hint: str = "",
    next_step: str = "",
    status_word: str = "HTTP ",
    one_line: bool = False,
) -> CollectorError:
    """The :class:`CollectorError` for a request ``what`` answered with a failing ``status``.

    Reads ``{what} answered HTTP {status}{hint}: {quoted body}; {next_step}``; ``status_word``
    and ``one_line`` keep each source's established wording (GitHub says ``answered 401``).
    """
    text = f"{what} answered {status_word}{status}{hint}: {quote(body, secret, one_line=one_line)}"
    return CollectorError(source, f"{text}; {next_step}" if next_step else text)
