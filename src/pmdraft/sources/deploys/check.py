"""``pmdraft doctor`` for the deploy sources: one cheap read per file, region or repository, with
what to fix when it fails (a token is never part of a message)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..registry import FAIL, OK, BuildContext, Check, short

if TYPE_CHECKING:
    from .config import CloudTrailConfig, CodeDeployConfig, DeploySourceConfig, GitHubDeploysConfig


def check_file(d: DeploySourceConfig, context: BuildContext) -> list[Check]:
    """The deploy log exists and its first line can be read."""
    path = context.resolve(d.path)
    name = f"deploys {d.path}"
    try:
        with path.open(encoding="utf-8-sig") as handle:
            handle.readline()
    except FileNotFoundError:
        return [
            Check(
                name,
                FAIL,
                f"{path} does not exist; fix `path` in [[deploys]] "
                "(relative paths are taken from the config file's folder)",
            )
        ]
    except IsADirectoryError:
        return [Check(name, FAIL, f"{path} is a folder; `path` in [[deploys]] must name a file")]
    except (OSError, UnicodeDecodeError) as exc:
        return [
            Check(
                name,
                FAIL,
                f"{path} could not be read: {short(exc)}; check its permissions "
                "and that it is UTF-8 text",
            )
        ]
    return [Check(name, OK, f"{path} is readable")]


def _aws_checks(
    label: str,
    service: str,
    d: CodeDeployConfig | CloudTrailConfig,
    call: Callable[[Any], object],
    operation: str,
    permission: str,
) -> list[Check]:
    """``call(client)`` in each region; a failure names the AWS error code and the permission."""
    from .._aws import regional_clients as clients

    checks = []
    try:
        per_region = clients(service, d.regions, d.endpoint_url, d.profile)
    except Exception as exc:
        return [Check(label, FAIL, f"could not set up the {service} client: {short(exc)}")]
    for region, client in per_region.items():
        try:
            call(client)
        except Exception as exc:
            response = getattr(exc, "response", None)
            code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
            fix = f"; grant this identity {permission}" if code and "Denied" in code else ""
            why = f"{code or type(exc).__name__}: {short(exc)}"
            checks.append(Check(f"{label} {region}", FAIL, f"{operation} failed: {why}{fix}"))
        else:
            checks.append(Check(f"{label} {region}", OK, f"{operation} answered"))
    return checks


def check_codedeploy(d: CodeDeployConfig, context: BuildContext) -> list[Check]:
    """``ListApplications`` in each region of the table."""
    return _aws_checks(
        "codedeploy",
        "codedeploy",
        d,
        lambda c: c.list_applications(),
        "ListApplications",
        "codedeploy:ListApplications, ListDeployments and BatchGetDeployments",
    )


def check_cloudtrail(d: CloudTrailConfig, context: BuildContext) -> list[Check]:
    """``LookupEvents`` for one record in each region of the table."""
    return _aws_checks(
        "cloudtrail",
        "cloudtrail",
        d,
        lambda c: c.lookup_events(MaxResults=1),
        "LookupEvents",
        "cloudtrail:LookupEvents",
    )


def check_github(d: GitHubDeploysConfig, context: BuildContext) -> list[Check]:
    """The token is set and ``GET /repos/{owner}/{name}/deployments?per_page=1`` answers 200."""
    import httpx2

    token = context.environ.get(d.token_env, "").strip()
    if not token:
        return [
            Check(
                "github",
                FAIL,
                f"${d.token_env} is not set; export {d.token_env}=<a token that can read "
                "deployments>",
            )
        ]
    checks = []
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
    for repo in d.repos:
        url = f"{d.base_url.rstrip('/')}/repos/{repo}/deployments"
        try:
            response = httpx2.get(
                url, params={"per_page": 1}, headers=headers, timeout=d.timeout_seconds
            )
        except httpx2.HTTPError as exc:
            checks.append(
                Check(f"github {repo}", FAIL, f"could not reach {d.base_url}: {type(exc).__name__}")
            )
            continue
        status = response.status_code
        if status == 200:
            checks.append(
                Check(f"github {repo}", OK, f"GET /repos/{repo}/deployments answered 200")
            )
        elif status in (401, 403, 404):
            checks.append(
                Check(
                    f"github {repo}",
                    FAIL,
                    f"GET /repos/{repo}/deployments answered HTTP {status}: the token in "
                    f"${d.token_env} cannot read this repository's deployments (or it does not "
                    "exist); give the token read access to deployments",
                )
            )
        else:
            checks.append(
                Check(
                    f"github {repo}", FAIL, f"GET /repos/{repo}/deployments answered HTTP {status}"
                )
            )
    return checks
