"""The one HTTP boundary: token scrubbing, bounded retries and their wording, error translation."""

from __future__ import annotations

from collections.abc import Callable

import httpx2
import pytest

from pmdraft.errors import CollectorError
from pmdraft.sources._http import (
    NetworkFailure,
    RetriesExhausted,
    RetryingTransport,
    RetryPolicy,
    quote,
    scrub,
    status_error,
    translate,
)
from pmdraft.sources.base import RequestCounter

from ..conftest import TOKEN

URL = "https://api.pagerduty.com/log_entries"


def answers(
    *responses: httpx2.Response,
) -> tuple[list[httpx2.Response], Callable[[], httpx2.Response]]:
    """A list of canned answers and a function giving them one per call."""
    todo = list(responses)
    return todo, lambda: todo.pop(0)


def test_a_full_token_in_a_message_becomes_token_mark() -> None:
    """An error page echoing the Authorization header shows ``[token]`` where the token was."""
    text = f"Bad gateway. Request headers: Authorization: Token token={TOKEN} (proxy)"
    assert scrub(text, TOKEN) == (
        "Bad gateway. Request headers: Authorization: Token token=[token] (proxy)"
    )


def test_a_token_cut_short_by_the_quote_limit_is_hidden_too() -> None:
    """A quote that ends inside an echoed token hides the token's first characters as well."""
    body = "x" * 190 + TOKEN
    quoted = quote(body, TOKEN)
    assert quoted == "x" * 190 + "[token]"
    assert TOKEN[:10] not in quoted


def test_a_one_line_quote_folds_whitespace_and_scrubs() -> None:
    """GitHub's quotes are one line: newlines fold to spaces and the token is still hidden."""
    assert quote(f"Bad\n  credentials {TOKEN}", TOKEN, one_line=True) == "Bad credentials [token]"


def test_without_a_token_the_text_is_unchanged() -> None:
    """Nothing is scrubbed when no token is known (an unset secret is not a match for everything)."""
    assert scrub("plain text", None) == scrub("plain text", "") == "plain text"


def test_a_too_long_backoff_is_called_pmdrafts_own_not_the_servers() -> None:
    """A 500 without Retry-After whose backoff passes max_retry_wait_seconds says pmdraft's backoff."""
    _, send = answers(httpx2.Response(500, text="Internal Server Error"))
    policy = RetryPolicy(RequestCounter(), max_retries=3, max_wait=0.1, sleep=pytest.fail)
    with pytest.raises(RetriesExhausted) as err:
        policy.send(send, URL)
    message = translate(err.value, "pagerduty", "GET /log_entries", secret=TOKEN).message
    assert message.startswith("GET /log_entries failed: 500 and pmdraft's retry backoff of 0.")
    assert "s is more than max_retry_wait_seconds=0.1: Internal Server Error" in message
    assert "asked to wait" not in message


def test_a_server_asking_too_long_a_wait_is_quoted_as_asked() -> None:
    """A Retry-After of 120 s against a 5 s limit says the server asked for it."""
    _, send = answers(httpx2.Response(429, headers={"Retry-After": "120"}, text="slow down"))
    policy = RetryPolicy(RequestCounter(), max_wait=5, sleep=pytest.fail)
    with pytest.raises(RetriesExhausted) as err:
        policy.send(send, URL)
    assert translate(err.value, "pagerduty", "GET /log_entries", secret=None).message == (
        "GET /log_entries failed: 429 and asked to wait 120 s, more than "
        "max_retry_wait_seconds=5: slow down"
    )


def test_retries_are_bounded_counted_and_wait_as_asked() -> None:
    """Three retries after the first attempt: four requests, three waits of Retry-After, then an error."""
    waits: list[float] = []
    counter = RequestCounter()
    _, send = answers(*[httpx2.Response(503, headers={"Retry-After": "2"}) for _ in range(4)])
    policy = RetryPolicy(counter, max_retries=3, sleep=waits.append)
    with pytest.raises(RetriesExhausted, match="HTTP 503 after 4 attempts"):
        policy.send(send, URL)
    assert (counter.value, waits) == (4, [2.0, 2.0, 2.0])


def test_the_transport_returns_the_first_good_answer() -> None:
    """Under a client, one 502 is retried and the client sees the 200 that followed."""
    todo, _ = answers(httpx2.Response(502, headers={"Retry-After": "0"}), httpx2.Response(200))
    inner = httpx2.MockTransport(lambda request: todo.pop(0))
    counter = RequestCounter()
    transport = RetryingTransport(inner, RetryPolicy(counter, sleep=lambda s: None))
    with httpx2.Client(transport=transport) as client:
        assert client.get(URL).status_code == 200
    assert counter.value == 2


def test_an_error_answer_names_the_endpoint_status_body_and_next_step() -> None:
    """A failing answer reads: endpoint, status, a short scrubbed body, and what to do."""
    error = status_error(
        "github:acme/api",
        "GET /repos/acme/api/deployments",
        401,
        f"Bad credentials for {TOKEN}",
        secret=TOKEN,
        next_step="the token was refused: check the variable named by token_env",
        status_word="",
    )
    assert isinstance(error, CollectorError)
    assert str(error) == (
        "github:acme/api: GET /repos/acme/api/deployments answered 401: Bad credentials for "
        "[token]; the token was refused: check the variable named by token_env"
    )


def test_a_network_failure_names_the_endpoint_attempts_and_timeout() -> None:
    """A request that timed out on every attempt says so, with the setting to raise."""
    failure = NetworkFailure(URL, 2, httpx2.ReadTimeout("timed out"))
    error = translate(failure, "pagerduty", "GET /log_entries", secret=TOKEN, timeout=0.5)
    assert error.message == (
        "GET /log_entries failed after 2 attempts: no answer within timeout_seconds=0.5; "
        "check the network and base_url, or raise timeout_seconds"
    )
