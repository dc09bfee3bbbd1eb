"""AWS CodeDeploy deployments as deploy events.

Per region: ``ListDeployments`` with ``createTimeRange`` (paginated by ``nextToken``), per
application and deployment group, every group of an application (``ListDeploymentGroups``), or
every deployment; then ``BatchGetDeployments`` in batches of 25 (the API's maximum). Each
deployment gives ``deploy.started`` at its creation and, once complete, ``deploy.succeeded`` or
``deploy.failed``; a deployment CodeDeploy rolled back also gives ``deploy.rolled_back``.
Needs ``codedeploy:ListDeployments``, ``codedeploy:ListDeploymentGroups`` and
``codedeploy:BatchGetDeployments``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ...model import (
    DEPLOY_FAILED,
    DEPLOY_ROLLED_BACK,
    DEPLOY_STARTED,
    DEPLOY_SUCCEEDED,
    Event,
    SourceExtras,
    Window,
)
from .._aws import Advice, guard_answers, paged, translated
from ..base import RequestCounter
from .file import describe
from .notes import skipped_detail

BATCH_SIZE = 25
"""Deployments per BatchGetDeployments call: the API's maximum."""

ADVICE = Advice(
    refused="Check the credentials' codedeploy:ListDeployments, ListDeploymentGroups and "
    "BatchGetDeployments permissions, the region and the application names.",
)
"""Next steps for a failed CodeDeploy call."""

_DONE = {
    "Succeeded": ("succeeded", DEPLOY_SUCCEEDED),
    "Failed": ("failed", DEPLOY_FAILED),
    "Stopped": ("failed", DEPLOY_FAILED),
}


def _version(revision: Mapping[str, Any]) -> str | None:
    """A short name for a deployment's revision: S3 version or key, Git commit, AppSpec digest."""
    s3 = revision.get("s3Location") or {}
    if s3:
        return s3.get("version") or s3.get("eTag", "").strip('"') or s3.get("key") or None
    github = revision.get("gitHubLocation") or {}
    if github.get("commitId"):
        return str(github["commitId"])[:12]
    appspec = revision.get("appSpecContent") or revision.get("string") or {}
    if appspec.get("sha256"):
        return "appspec " + str(appspec["sha256"])[:12]
    return None


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    at: datetime = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return at


class CodeDeployCollector:
    """Deploy events from CodeDeploy, one boto3 client per region."""

    def __init__(
        self,
        clients: Mapping[str, Any],
        *,
        applications: Sequence[str] = (),
        lookback: timedelta = timedelta(hours=6),
    ) -> None:
        self.clients = dict(clients)
        self.applications = list(applications)
        """``"app/group"`` or ``"app"`` (every group of it); empty: every deployment."""
        self.lookback = lookback
        """Deployments created this long before the window are read too (suspects come first)."""
        self.name = "codedeploy:" + ",".join(self.clients)
        self._counter = RequestCounter()
        for client in self.clients.values():
            client.meta.events.register("before-send.codedeploy", self._counter.add)
            guard_answers(client)
        self.detail: str | None = None
        self._notes: list[str] = []
        self._bad: list[str] = []
        self._outside = 0

    @property
    def requests(self) -> int:
        """HTTP requests made so far, retries included."""
        return self._counter.value

    def extras(self) -> SourceExtras:
        """Nothing besides events."""
        return SourceExtras()

    def close(self) -> None:
        """Close every client."""
        for client in self.clients.values():
            client.close()

    def _call(self, region: str, what: str, func: Any, **params: Any) -> dict[str, Any]:
        with translated(self.name, what, region, ADVICE):
            return func(**params)  # type: ignore[no-any-return]

    def _pages(self, region: str, what: str, func: Any, key: str, **params: Any) -> Iterator[str]:
        pages = paged(
            func, params, what=f"{what} in {region}", notes=self._notes, token="nextToken"
        )
        with translated(self.name, what, region, ADVICE):
            for page in pages:
                yield from page.get(key, [])

    def _targets(self, region: str, client: Any) -> list[dict[str, str]]:
        if not self.applications:
            return [{}]
        targets = []
        for entry in self.applications:
            app, _, group = entry.partition("/")
            if group:
                targets.append({"applicationName": app, "deploymentGroupName": group})
                continue
            for name in self._pages(
                region,
                f"ListDeploymentGroups for {app}",
                client.list_deployment_groups,
                "deploymentGroups",
                applicationName=app,
            ):
                targets.append({"applicationName": app, "deploymentGroupName": name})
        return targets

    def collect(self, window: Window) -> Iterator[Event]:
        """Yield the deployments' events from ``lookback`` before the window to its end.

        A deployment that cannot be read is skipped and named in ``detail``; so is the count of
        events outside the window and lookback, and a paging loop.
        """
        self._notes, self._bad, self._outside = [], [], 0
        yield from self._collect(window)
        self.detail = self._detail()

    def _detail(self) -> str | None:
        return skipped_detail(self._notes, self._bad, "deployment", self._outside, self.lookback)

    def _collect(self, window: Window) -> Iterator[Event]:
        since = window.since - self.lookback
        for region, client in self.clients.items():
            ids: list[str] = []
            for target in self._targets(region, client):
                ids.extend(
                    self._pages(
                        region,
                        "ListDeployments",
                        client.list_deployments,
                        "deployments",
                        createTimeRange={"start": since, "end": window.until},
                        **target,
                    )
                )
            ids = list(dict.fromkeys(ids))
            for start in range(0, len(ids), BATCH_SIZE):
                batch = self._call(
                    region,
                    "BatchGetDeployments",
                    client.batch_get_deployments,
                    deploymentIds=ids[start : start + BATCH_SIZE],
                )
                for info in batch.get("deploymentsInfo", []):
                    try:
                        events = list(self._events(region, info))
                    except (TypeError, ValueError, AttributeError) as exc:
                        who = info.get("deploymentId") if isinstance(info, dict) else None
                        self._bad.append(f"{region}: deployment {who or '?'}: {exc}")
                        continue
                    for event in events:
                        if since <= event.at < window.until:
                            yield event
                        else:
                            self._outside += 1

    def _events(self, region: str, info: Mapping[str, Any]) -> Iterator[Event]:
        ref = str(info.get("deploymentId"))
        rollback = info.get("rollbackInfo") or {}
        description = info.get("description") or ""
        if rollback.get("rollbackTriggeringDeploymentId"):
            description = (
                description + "; " if description else ""
            ) + f"rollback of {rollback['rollbackTriggeringDeploymentId']}"
        record = {
            "service": info.get("applicationName") or "",
            "environment": info.get("deploymentGroupName") or "",
            "version": _version(info.get("revision") or {}) or "",
            "description": description,
        }
        url = f"https://{region}.console.aws.amazon.com/codesuite/codedeploy/deployments/{ref}?region={region}"
        attrs = {
            "version": record["version"] or None,
            "environment": record["environment"] or None,
            "codedeploy_status": info.get("status"),
            "region": region,
            "description": description or None,
        }

        def event(at: datetime, status: str, kind: str) -> Event:
            return Event(
                at=at,
                source="codedeploy",
                kind=kind,
                ref=ref,
                summary=describe({**record, "status": status}),
                service=record["service"] or None,
                actor=info.get("creator"),
                url=url,
                attrs=attrs | {"status": status},
            )

        created = _aware(info.get("createTime"))
        if created is not None:
            yield event(created, "started", DEPLOY_STARTED)
        done = _aware(info.get("completeTime"))
        if done is not None and info.get("status") in _DONE:
            status, kind = _DONE[info["status"]]
            yield event(done, status, kind)
            if rollback.get("rollbackDeploymentId"):
                yield event(done, "rolled_back", DEPLOY_ROLLED_BACK)
