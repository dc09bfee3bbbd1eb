"""CodeDeploy in moto's server, with what moto leaves out: pages, set times and statuses, rollbacks.

moto creates every deployment "now", in status ``Created``, answers ``ListDeployments`` in one
page and leaves ``rollbackInfo`` empty. :func:`install` makes ``ListDeployments`` page by
``nextToken`` (:data:`PAGE_SIZE` ids a page, oldest first) and fills ``rollbackInfo``;
:func:`seed` creates deployments through boto3 and then sets their times, status and creator in
moto's backend (the server runs in this process), so boto3 reads them exactly as it reads AWS.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pmdraft.model import UTC, require_aware
from pmdraft.sandbox.aws import DEFAULT_ACCOUNT

PAGE_SIZE = 100
"""Deployment ids per ListDeployments page (AWS does not document its page size)."""

_installed = False


def _list_deployments(self: Any) -> Any:
    """moto response method: ``ListDeployments`` in pages of :data:`PAGE_SIZE`, by creation time."""
    from moto.core.responses import ActionResult

    ids = self.codedeploy_backend.list_deployments(
        application_name=self._get_param("applicationName"),
        deployment_group_name=self._get_param("deploymentGroupName"),
        external_id=self._get_param("externalId"),
        include_only_statuses=self._get_param("includeOnlyStatuses"),
        create_time_range=self._get_param("createTimeRange", {}),
    )
    deployments = self.codedeploy_backend.deployments
    ids.sort(key=lambda i: deployments[i].create_time)
    offset = int(self._get_param("nextToken") or 0)
    result: dict[str, Any] = {"deployments": ids[offset : offset + PAGE_SIZE]}
    if offset + PAGE_SIZE < len(ids):
        result["nextToken"] = str(offset + PAGE_SIZE)
    return ActionResult(result)


def install() -> None:
    """Teach moto's CodeDeploy paging and rollback info (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.codedeploy import responses

    original = responses._deployment_info

    def deployment_info(deployment: Any) -> dict[str, Any]:
        info = original(deployment)
        info["rollbackInfo"] = dict(getattr(deployment, "rollback_info", {}) or {})
        return info

    responses._deployment_info = deployment_info
    responses.CodeDeployResponse.list_deployments = _list_deployments  # type: ignore[method-assign]
    _installed = True


def _naive(at: datetime) -> datetime:
    """moto keeps naive UTC times."""
    return require_aware(at, "deployment time").astimezone(UTC).replace(tzinfo=None)


def seed(
    client: Any, deployments: Iterable[Mapping[str, Any]], *, account: str = DEFAULT_ACCOUNT
) -> list[str]:
    """Create each deployment and set it as given; return their ids in order.

    Keys: ``application``, ``group``, ``created`` (aware datetime), optional ``completed``,
    ``status`` (``Succeeded``, ``Failed``, ``Stopped``, ``InProgress``...), ``version`` (an S3
    object version), ``description``, ``creator``, ``rolled_back_by`` (the id of the deployment
    that rolled this one back), ``rollback_of``.
    """
    from moto.codedeploy.models import codedeploy_backends

    install()
    region = client.meta.region_name
    backend = codedeploy_backends[account][region]
    ids = []
    for d in deployments:
        app, group = d["application"], d["group"]
        if app not in backend.applications:
            client.create_application(applicationName=app, computePlatform="Server")
        if group not in backend.deployment_groups.get(app, {}):
            client.create_deployment_group(
                applicationName=app,
                deploymentGroupName=group,
                serviceRoleArn=f"arn:aws:iam::{account}:role/CodeDeploy",
            )
        revision = {
            "revisionType": "S3",
            "s3Location": {
                "bucket": "releases",
                "key": f"{app}.zip",
                "bundleType": "zip",
                "version": d.get("version", "v1"),
            },
        }
        kwargs = {"description": d["description"]} if d.get("description") else {}
        deployment_id = client.create_deployment(
            applicationName=app, deploymentGroupName=group, revision=revision, **kwargs
        )["deploymentId"]
        info = backend.deployments[deployment_id]
        info.create_time = _naive(d["created"])
        info.start_time = info.create_time
        info.complete_time = _naive(d["completed"]) if d.get("completed") else None
        info.status = d.get("status", "Succeeded" if d.get("completed") else "InProgress")
        info.creator = d.get("creator", "user")
        rollback = {}
        if d.get("rolled_back_by"):
            rollback["rollbackDeploymentId"] = d["rolled_back_by"]
        if d.get("rollback_of"):
            rollback["rollbackTriggeringDeploymentId"] = d["rollback_of"]
        info.rollback_info = rollback  # type: ignore[attr-defined]
        ids.append(deployment_id)
    return ids
