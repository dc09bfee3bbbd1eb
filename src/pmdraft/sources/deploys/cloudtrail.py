"""Deploy-like AWS API calls from CloudTrail's event history, as deploy events.

Per region and event name (``LookupEvents`` takes one lookup attribute a request): ECS
``UpdateService``, Lambda ``UpdateFunctionCode20150331v2``, ``PublishVersion20150331`` and
``UpdateAlias20150331`` (CloudTrail's names carry the API version), and CodeDeploy
``CreateDeployment``; 50 events a page (the API's maximum), following ``NextToken``, and at
most ``requests_per_second`` requests (LookupEvents allows 2 per second per account and
region). A call that CloudTrail recorded with an ``errorCode`` is ``deploy.failed``; an ECS
service update or a CodeDeploy deployment is ``deploy.started`` (the rollout begins); a Lambda
code, version or alias change takes effect at once and is ``deploy.succeeded``. CloudTrail keeps
90 days of history. Needs ``cloudtrail:LookupEvents``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ...model import DEPLOY_FAILED, DEPLOY_STARTED, DEPLOY_SUCCEEDED, Event, SourceExtras, Window
from .._aws import Advice, RateLimiter, guard_answers, paged, translated
from ..base import RequestCounter
from .file import describe
from .notes import skipped_detail

PAGE_SIZE = 50
"""Events per LookupEvents page: the API's maximum."""

DEPLOY_EVENT_NAMES = [
    "UpdateService",
    "UpdateFunctionCode20150331v2",
    "PublishVersion20150331",
    "UpdateAlias20150331",
    "CreateDeployment",
]
"""The deploy-like calls looked up when ``event_names`` is empty."""

ADVICE = Advice(
    refused="Check the credentials' cloudtrail:LookupEvents permission and the region.",
)
"""Next steps for a failed LookupEvents call."""


def _last(text: Any, sep: str) -> str:
    return str(text).rsplit(sep, 1)[-1] if text else ""


def _details(name: str, detail: Mapping[str, Any]) -> dict[str, str]:
    """service, environment, version and description of one call, from its CloudTrail record."""
    req = detail.get("requestParameters") or {}
    resp = detail.get("responseElements") or {}
    if name == "UpdateService":
        return {
            "service": _last(req.get("service"), "/"),
            "environment": _last(req.get("cluster"), "/"),
            "version": _last(req.get("taskDefinition"), "/"),
            "description": "ECS UpdateService",
        }
    if name.startswith("CreateDeployment"):
        return {
            "service": str(req.get("applicationName") or ""),
            "environment": str(req.get("deploymentGroupName") or ""),
            "version": str((resp or {}).get("deploymentId") or ""),
            "description": "CodeDeploy CreateDeployment",
        }
    function = _last(req.get("functionName") or resp.get("functionName"), ":")
    if name.startswith("UpdateAlias"):
        return {
            "service": function,
            "environment": str(req.get("name") or ""),
            "version": str(req.get("functionVersion") or ""),
            "description": "Lambda UpdateAlias",
        }
    if name.startswith("PublishVersion"):
        return {
            "service": function,
            "environment": "lambda",
            "version": str(resp.get("version") or ""),
            "description": "Lambda PublishVersion",
        }
    sha = str(resp.get("codeSha256") or "")
    return {
        "service": function,
        "environment": "lambda",
        "version": sha[:12],
        "description": f"Lambda {name.removesuffix('20150331v2').removesuffix('20150331')}",
    }


class CloudTrailCollector:
    """Deploy-like API calls from CloudTrail, one boto3 client per region."""

    def __init__(
        self,
        clients: Mapping[str, Any],
        *,
        event_names: Sequence[str] = DEPLOY_EVENT_NAMES,
        lookback: timedelta = timedelta(hours=6),
        requests_per_second: float = 2.0,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.clients = dict(clients)
        self.event_names = list(event_names)
        self.lookback = lookback
        """Calls this long before the window are read too."""
        self.limiter = limiter or RateLimiter(requests_per_second)
        self.name = "cloudtrail:" + ",".join(self.clients)
        self._counter = RequestCounter()
        self.detail: str | None = None
        self._notes: list[str] = []
        self._bad: list[str] = []
        self._outside = 0
        for client in self.clients.values():
            guard_answers(client)

    @property
    def requests(self) -> int:
        """LookupEvents calls made so far (botocore's retries not counted)."""
        return self._counter.value

    def extras(self) -> SourceExtras:
        """Nothing besides events."""
        return SourceExtras()

    def close(self) -> None:
        """Close every client."""
        for client in self.clients.values():
            client.close()

    def _lookup(self, **params: Any) -> dict[str, Any]:
        # Counted (and held to [run] max_requests) before the limiter's wait.
        self._counter.add()
        self.limiter.wait()
        return self._client.lookup_events(**params)  # type: ignore[no-any-return]  # boto3 is untyped

    def collect(self, window: Window) -> Iterator[Event]:
        """Yield the deploy-like calls from ``lookback`` before the window to its end.

        A record that cannot be read is skipped and named in ``detail``, as are the count of
        events outside the window and lookback and a paging loop.
        """
        self._notes, self._bad, self._outside = [], [], 0
        since = window.since - self.lookback
        for region, client in self.clients.items():
            self._client = client
            for name in self.event_names:
                params: dict[str, Any] = {
                    "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": name}],
                    "StartTime": since,
                    "EndTime": window.until,
                    "MaxResults": PAGE_SIZE,
                }
                # Paged by hand, not with a paginator: each request must pass the rate limiter.
                what = f"LookupEvents for {name} in {region}"
                with translated(self.name, "LookupEvents", region, ADVICE):
                    for page in paged(self._lookup, params, what=what, notes=self._notes):
                        yield from self._page(region, page, since, window)
        self.detail = self._detail()

    def _page(
        self, region: str, page: Mapping[str, Any], since: datetime, window: Window
    ) -> Iterator[Event]:
        for record in page.get("Events", []):
            try:
                event = self._event(region, record)
            except (TypeError, ValueError, AttributeError) as exc:
                who = record.get("EventId") if isinstance(record, dict) else None
                self._bad.append(f"{region}: event {who or '?'}: {exc}")
                continue
            if event is None:
                who = record.get("EventId") or "?"
                self._bad.append(f"{region}: event {who}: EventTime is missing")
            elif since <= event.at < window.until:
                yield event
            else:
                self._outside += 1

    def _detail(self) -> str | None:
        return skipped_detail(
            self._notes, self._bad, "CloudTrail record", self._outside, self.lookback
        )

    def _event(self, region: str, record: Mapping[str, Any]) -> Event | None:
        at = record.get("EventTime")
        if not isinstance(at, datetime):
            return None
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        try:
            detail = json.loads(record.get("CloudTrailEvent") or "{}")
        except ValueError:
            detail = {}
        name = str(record.get("EventName") or detail.get("eventName") or "")
        info = _details(name, detail if isinstance(detail, dict) else {})
        error = detail.get("errorCode") if isinstance(detail, dict) else None
        if error:
            status, kind = "failed", DEPLOY_FAILED
            info["description"] += f" ({error})"
        elif name in ("UpdateService",) or name.startswith("CreateDeployment"):
            status, kind = "started", DEPLOY_STARTED
        else:
            status, kind = "succeeded", DEPLOY_SUCCEEDED
        ref = str(record.get("EventId") or f"{name}@{at.isoformat()}")
        return Event(
            at=at,
            source="cloudtrail",
            kind=kind,
            ref=ref,
            summary=describe({**info, "status": status}),
            service=info["service"] or None,
            actor=record.get("Username") or None,
            url=f"https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}#/events/{ref}",
            attrs={
                "version": info["version"] or None,
                "environment": info["environment"] or None,
                "status": status,
                "event_name": name,
                "region": region,
                "description": info["description"],
            },
        )
