"""The ``pagerduty`` client pmdraft uses: verified HTTPS, each request bounded and budgeted."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from typing import Any

import httpx2

from .._http import RetryingTransport, RetryPolicy
from .._rate import RequestBudget
from ..base import RequestCounter


def build_client(
    token: str,
    base_url: str,
    counter: RequestCounter,
    *,
    ca_bundle: str | None = None,
    max_retries: int = 5,
    max_wait: float = 60.0,
    timeout: float = 30.0,
    max_connections: int = 8,
    budget: RequestBudget | None = None,
    sleep: Callable[[float], None] = time.sleep,
    inner: httpx2.BaseTransport | None = None,
) -> Any:
    """A ``pagerduty.RestApiV2Client`` whose requests are bounded, budgeted, counted and verified.

    The ``pagerduty`` client alone retries 429 without limit and ignores ``Retry-After``, so
    :class:`~pmdraft.sources._http.RetryingTransport` sits under it and its own network retries
    are turned off. ``inner`` replaces the HTTPS transport under the retries (tests wrap it to
    watch requests); ``sleep`` is what retries wait with.
    """
    import pagerduty

    if inner is None:
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
        )
        limits = httpx2.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        inner = httpx2.HTTPTransport(verify=verify, limits=limits)
    policy = RetryPolicy(
        counter, max_retries=max_retries, max_wait=max_wait, sleep=sleep, budget=budget
    )
    transport = RetryingTransport(inner, policy)
    client = pagerduty.RestApiV2Client(token, base_url=base_url, transport=transport)
    client.max_network_attempts = 0
    client.timeout = timeout  # type: ignore[assignment]  # stubs say int; httpx takes seconds
    return client
