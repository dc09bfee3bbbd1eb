"""Deploy sources, one ``[[deploys]]`` type each: deploy log files, CodeDeploy, CloudTrail and
GitHub Deployments."""

from __future__ import annotations

from ..base import Collector
from ..registry import BuildContext, Source
from .check import check_cloudtrail, check_codedeploy, check_file, check_github
from .config import (
    CloudTrailConfig,
    CodeDeployConfig,
    DeploySourceConfig,
    GitHubDeploysConfig,
    read_cloudtrail,
    read_codedeploy,
    read_file,
    read_github,
)


def build_file(d: DeploySourceConfig, context: BuildContext) -> list[Collector]:
    """One collector for one deploy log file."""
    from .file import DeployFileCollector

    return [
        DeployFileCollector(
            context.resolve(d.path),
            fmt=d.format,
            lookback=context.deploy_lookback,
            time_format=d.time_format,
            fields=d.fields,
            values=d.values,
        )
    ]


def build_codedeploy(d: CodeDeployConfig, context: BuildContext) -> list[Collector]:
    """One collector over the table's regions."""
    from .._aws import regional_clients as clients
    from .codedeploy import CodeDeployCollector

    return [
        CodeDeployCollector(
            clients("codedeploy", d.regions, d.endpoint_url, d.profile),
            applications=d.applications,
            lookback=context.deploy_lookback,
        )
    ]


def build_cloudtrail(d: CloudTrailConfig, context: BuildContext) -> list[Collector]:
    """One collector over the table's regions, paced to LookupEvents' limit."""
    from .._aws import regional_clients as clients
    from .cloudtrail import DEPLOY_EVENT_NAMES, CloudTrailCollector

    return [
        CloudTrailCollector(
            clients("cloudtrail", d.regions, d.endpoint_url, d.profile),
            event_names=d.event_names or DEPLOY_EVENT_NAMES,
            lookback=context.deploy_lookback,
            requests_per_second=d.requests_per_second,
        )
    ]


def github_token(d: GitHubDeploysConfig, environ: object) -> str:
    """The token from ``token_env``; a clear error naming the variable if it is unset."""
    from ...errors import InputError

    get = getattr(environ, "get", None)
    token = str(get(d.token_env, "") if get else "").strip()
    if not token:
        raise InputError(
            f'[[deploys]] type = "github" is configured but the environment variable '
            f"{d.token_env} is not set; export {d.token_env}=<a token that can read "
            "deployments>, or remove that [[deploys]] table"
        )
    return token


def build_github(d: GitHubDeploysConfig, context: BuildContext) -> list[Collector]:
    """One collector over the table's repositories."""
    from .github import GitHubDeploymentsCollector

    return [
        GitHubDeploymentsCollector(
            d.base_url,
            github_token(d, context.environ),
            d.repos,
            environments=d.environments,
            lookback=context.deploy_lookback,
            timeout=d.timeout_seconds,
            max_wait=d.max_rate_limit_wait_seconds,
        )
    ]


def _regions_and_apps(d: CodeDeployConfig) -> str:
    apps = f" ({', '.join(d.applications)})" if d.applications else ""
    return f"CodeDeploy in {', '.join(d.regions)}{apps}"


SOURCES = (
    Source(
        name="deploys",
        title="a deploy log (JSON Lines or CSV)",
        settings=DeploySourceConfig,
        read=read_file,
        build=build_file,
        describe=lambda d: d.path,
        check=check_file,
        deploy_type="file",
    ),
    Source(
        name="codedeploy",
        title="CodeDeploy deployments",
        settings=CodeDeployConfig,
        read=read_codedeploy,
        build=build_codedeploy,
        describe=_regions_and_apps,
        check=check_codedeploy,
        deploy_type="codedeploy",
    ),
    Source(
        name="github",
        title="GitHub Deployments",
        settings=GitHubDeploysConfig,
        read=read_github,
        build=build_github,
        describe=lambda d: f"GitHub Deployments of {', '.join(d.repos)}; token from ${d.token_env}",
        check=check_github,
        deploy_type="github",
        env=("GITHUB_TOKEN",),
    ),
    Source(
        name="cloudtrail",
        title="deploy calls from CloudTrail",
        settings=CloudTrailConfig,
        read=read_cloudtrail,
        build=build_cloudtrail,
        describe=lambda d: f"CloudTrail deploy calls in {', '.join(d.regions)}",
        check=check_cloudtrail,
        deploy_type="cloudtrail",
    ),
)

__all__ = [
    "SOURCES",
    "CloudTrailConfig",
    "CodeDeployConfig",
    "DeploySourceConfig",
    "GitHubDeploysConfig",
]
