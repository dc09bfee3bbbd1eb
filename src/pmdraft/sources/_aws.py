"""The one boundary between pmdraft and AWS: sessions, clients, rate limits and error translation.

Every AWS source (CloudWatch, CloudWatch Logs, CodeDeploy, CloudTrail, and STS for assumed
roles) makes its boto3 sessions and clients here, and turns botocore's ``ClientError`` and
``BotoCoreError`` into a :class:`CollectorError` here, with one message shape::

    <operation> in <region or account/region> failed: <AWS code>: <AWS message>. <next step>

Each source says its own next steps with an :class:`Advice`. Credentials that expire during a
run, and an answer whose body is not the JSON, XML or CBOR its protocol promises
(:class:`UnreadableAnswer`), get one message whatever the service. :func:`paged` follows a
``NextToken`` by hand and ends a listing whose token comes back a second time, with a note.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from ..errors import CollectorError

Page = dict[str, Any]
"""One answer of an AWS API call, as boto3 returns it."""

Target = tuple[str, str]
"""(account name, region); the account name is empty for boto3's own credentials."""

DEPLOY_ATTEMPTS = 6
"""Attempts per CodeDeploy or CloudTrail call in all: botocore's ``max_attempts=5`` retries + 1."""

ROLE_SESSION_NAME = "pmdraft"
"""The session name an assumed role's calls carry in the account's CloudTrail."""

THROTTLING = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)
"""Error codes that mean "slow down", not "not allowed"."""

EXPIRED = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
)
"""Error codes that mean the credentials were good but have run out (a session, SSO or role)."""

REFRESH = (
    "The AWS credentials expired during the run; refresh them (aws sso login, new temporary "
    "keys in the environment, or a new role session for the profile) and draft again."
)
"""The next step for expired credentials, whichever service said so."""

PAGE_LIMIT = 10_000
"""Pages :func:`paged` reads of one listing at most; past it the listing ends with a note."""


class UnreadableAnswer(BotoCoreError):  # type: ignore[misc]  # botocore is untyped
    """A successful answer whose body is not valid in its protocol (cut, or not AWS at all)."""

    fmt = "HTTP {status} answer is not valid {kind} ({why}); body starts {start}"


def _unreadable(body: bytes, protocol: str) -> tuple[str, str] | None:
    """(kind, why) when ``body`` is not what ``protocol`` promises; None when it reads."""
    if protocol in ("json", "rest-json"):
        try:
            json.loads(body)
        except ValueError as exc:
            return "JSON", str(exc)
        return None
    if protocol in ("query", "ec2", "rest-xml"):
        from xml.etree import ElementTree

        try:
            ElementTree.fromstring(body)
        except ElementTree.ParseError as exc:
            return "XML", str(exc)
        return None
    if protocol == "smithy-rpc-v2-cbor" and not 0xA0 <= body[0] <= 0xBF:
        return "CBOR", f"first byte 0x{body[0]:02x} does not start a map"
    return None


def _check_body(operation_model: Any, response_dict: Mapping[str, Any], **_: Any) -> None:
    """botocore ``before-parse`` hook: refuse a 2xx body its protocol cannot read."""
    body = response_dict.get("body")
    status = response_dict.get("status_code", 0)
    if not isinstance(body, bytes) or not body or not 200 <= status < 300:
        return
    if operation_model.has_streaming_output:
        return
    protocol = getattr(operation_model.service_model, "resolved_protocol", None)
    bad = _unreadable(body, protocol or operation_model.metadata.get("protocol", ""))
    if bad is not None:
        raise UnreadableAnswer(status=status, kind=bad[0], why=bad[1], start=repr(body[:40]))


def guard_answers(client: Any) -> Any:
    """``client``, set to refuse a successful answer whose body its protocol cannot read.

    botocore reads an unparseable JSON body as an empty answer (a listing with nothing in it);
    with this it becomes an :class:`UnreadableAnswer`, which :func:`translate` names.
    """
    client.meta.events.register("before-parse", _check_body)
    return client


def where(target: Target) -> str:
    """``region``, or ``account/region`` for a named account."""
    account, region = target
    return f"{account}/{region}" if account else region


def boto_config(
    *, retry_mode: str = "standard", attempts: int, timeout: float | None = None
) -> Any:
    """A botocore ``Config``: ``attempts`` in all (the first included), and timeouts in seconds.

    ``timeout`` None keeps botocore's own connect and read timeouts (60 s).
    """
    from botocore.config import Config as BotoConfig

    timeouts = {} if timeout is None else {"connect_timeout": timeout, "read_timeout": timeout}
    return BotoConfig(retries={"mode": retry_mode, "total_max_attempts": attempts}, **timeouts)


def utc_timestamp(value: Any) -> datetime:
    """A timestamp of an AWS answer as an aware UTC datetime (botocore's parser, made fast).

    CloudWatch answers in CBOR, its timestamps epoch seconds; botocore's default parser gives
    each a ``dateutil`` local zone, about 50 us apiece (a month of metric datapoints: seconds).
    Epoch seconds become UTC directly; anything else goes to botocore's own parser.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    from botocore.utils import parse_timestamp

    parsed: datetime = parse_timestamp(value)
    return parsed


def _core_session() -> Any:
    """A botocore session whose answers' timestamps :func:`utc_timestamp` parses."""
    import botocore.session

    core = botocore.session.Session()
    core.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=utc_timestamp
    )
    return core


def session(profile: str = "") -> Any:
    """A boto3 session from the named ``profile``, or from boto3's own credential chain."""
    import boto3

    return boto3.session.Session(botocore_session=_core_session(), profile_name=profile or None)


def assume_role(
    base: Any, role_arn: str, *, region: str, endpoint_url: str | None, config: Any
) -> Any:
    """A boto3 session with the credentials of ``role_arn``, assumed (STS) from ``base``'s."""
    import boto3

    sts = base.client("sts", region_name=region, endpoint_url=endpoint_url, config=config)
    try:
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=ROLE_SESSION_NAME)["Credentials"]
    finally:
        sts.close()
    return boto3.session.Session(
        botocore_session=_core_session(),
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def regional_clients(
    service: str, regions: list[str] | tuple[str, ...], endpoint_url: str, profile: str
) -> dict[str, Any]:
    """One boto3 client of ``service`` per region, from ``profile`` (CodeDeploy, CloudTrail)."""
    base = session(profile)
    config = boto_config(attempts=DEPLOY_ATTEMPTS)
    return {
        region: base.client(
            service, region_name=region, endpoint_url=endpoint_url or None, config=config
        )
        for region in regions
    }


@dataclass(frozen=True)
class Advice:
    """What a failed call to one service tells the user to do next, by kind of failure."""

    refused: str
    """A refusal (AccessDenied, an unknown name): usually the permissions and names to check."""
    throttled: str | None = None
    """Throttling or a 5xx that outlasted the retries (``{attempts}`` filled in); None: refused."""
    network: str | None = None
    """A timeout, reset or cut-off answer that outlasted the retries; None: ``other``."""
    other: str = "Check the region, endpoint_url and credentials."
    """Any other botocore failure (no credentials, a bad endpoint, no connection at all)."""


def translate(
    exc: Exception,
    *,
    source: str,
    operation: str,
    place: str = "",
    advice: Advice,
    client: Any = None,
) -> CollectorError:
    """The :class:`CollectorError` a failed AWS call becomes: operation, place, AWS code, next step.

    ``exc`` is a ``ClientError`` or a ``BotoCoreError``; ``client`` (optional) tells how many
    attempts a network failure had. The caller raises the result ``from exc``.
    """
    failed = f"{operation} in {place} failed" if place else f"{operation} failed"
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        transient = err.get("Code") in THROTTLING or meta.get("HTTPStatusCode", 0) >= 500
        if err.get("Code") in EXPIRED:
            step = REFRESH
        elif transient and advice.throttled is not None:
            # botocore counts retries; the user counts attempts.
            step = advice.throttled.format(attempts=meta.get("RetryAttempts", 0) + 1)
        else:
            step = advice.refused
        return CollectorError(
            source, f"{failed}: {err.get('Code', '?')}: {err.get('Message', '')}. {step}"
        )
    if isinstance(exc, (HTTPClientError, BotoConnectionError)) and advice.network is not None:
        retries = getattr(getattr(client, "meta", None), "config", None)
        attempts = (getattr(retries, "retries", None) or {}).get("total_max_attempts")
        tried = f" ({attempts} attempt{'s' if attempts != 1 else ''})" if attempts else ""
        return CollectorError(source, f"{failed}: {str(exc).rstrip('.')}{tried}. {advice.network}")
    if isinstance(exc, UnreadableAnswer):
        return CollectorError(
            source,
            f"{failed}: the {exc}; it is not an AWS answer (a proxy or captive portal in the way, "
            "or a cut connection). Check endpoint_url and any proxy, then try again.",
        )
    if isinstance(exc, _parser_error()):
        why = str(exc).splitlines()[0][:200]
        return CollectorError(
            source,
            f"{failed}: the answer could not be read ({why}); check endpoint_url and any proxy.",
        )
    return CollectorError(source, f"{failed}: {exc}. {advice.other}")


def _parser_error() -> type[Exception]:
    """botocore's ``ResponseParserError``, imported when first needed: ``botocore.parsers``
    brings urllib3 and http.client (about 65 ms), which a draft's CloudWatch child imports
    itself, after it is forked, rather than the parent before."""
    from botocore.parsers import ResponseParserError

    return ResponseParserError  # type: ignore[no-any-return]  # botocore is untyped


@contextmanager
def translated(
    source: str, operation: str, place: str, advice: Advice, client: Any = None
) -> Iterator[None]:
    """Run the block, re-raising botocore's errors as :func:`translate` says, chained."""
    try:
        yield
    except Exception as exc:
        if not isinstance(exc, (ClientError, BotoCoreError, _parser_error())):
            raise
        raise translate(
            exc, source=source, operation=operation, place=place, advice=advice, client=client
        ) from exc


def paged(
    fetch: Callable[..., Page],
    params: Mapping[str, Any],
    *,
    what: str,
    notes: list[str],
    token: str = "NextToken",
) -> Iterator[Page]:
    """Each page of ``fetch(**params)``, following ``token`` by hand until it is absent.

    A token the service already gave (a loop, or a page that goes back) ends the listing: the
    pages read are kept and ``notes`` gets a sentence naming ``what`` and the page. So does
    :data:`PAGE_LIMIT`. ``fetch`` is a client method; its errors are the caller's to translate.
    """
    seen: set[str] = set()
    current: str | None = None
    for number in range(1, PAGE_LIMIT + 1):
        page = fetch(**params, **({token: current} if current else {}))
        yield page
        following = page.get(token)
        if not following:
            return
        if following in seen or following == current:
            notes.append(
                f"{what} answered page {number} with a {token} it had already given "
                f"({str(following)[:40]!r}), a paging loop: the listing was ended there and the "
                f"{number} page{'s' if number > 1 else ''} read are kept"
            )
            return
        seen.add(following)
        current = following
    notes.append(
        f"{what} still had more after {PAGE_LIMIT} pages: the listing was ended there and the "
        "pages read are kept"
    )


class RateLimiter:
    """At most ``per_second`` calls a second: each starts ``1 / per_second`` after the last.

    To be replaced by ``sources._rate.RequestBudget(limit=1, period=1 / per_second)``.
    """

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / per_second
        """Seconds between the starts of two calls."""
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next call may start, and book that start."""
        with self._lock:
            now = self._clock()
            if now < self._next:
                self._sleep(self._next - now)
                now = self._next
            self._next = now + self.interval
