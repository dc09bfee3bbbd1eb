"""``pmdraft doctor`` for CloudWatch: DescribeAlarms (one record) per account and region, with the
draft's own clients; every failure says what to fix."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..registry import FAIL, OK, BuildContext, Check, short

if TYPE_CHECKING:
    from .config import CloudWatchConfig

AWS_CREDENTIAL_CODES = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidSignatureException",
}
_NETWORK = (
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ConnectionClosedError",
)


def cloudwatch_error(region: str, exc: Exception, endpoint: str) -> str:
    """What a failed DescribeAlarms means and how to fix it."""
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    kind = type(exc).__name__
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        return (
            f"DescribeAlarms in {region} was denied ({code}); grant this identity "
            "cloudwatch:DescribeAlarms and cloudwatch:DescribeAlarmHistory"
        )
    if code in AWS_CREDENTIAL_CODES:
        return (
            f"DescribeAlarms in {region} refused the AWS credentials ({code}); check AWS_PROFILE, "
            "`profile` in [cloudwatch], or the role, and that the keys are current"
        )
    if kind in ("NoCredentialsError", "PartialCredentialsError"):
        return (
            "no AWS credentials found; set AWS_PROFILE or `profile` in [cloudwatch], export "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with a role"
        )
    if kind in _NETWORK:
        return (
            f"could not reach CloudWatch in {region}{endpoint}: {short(exc)}; "
            "check the region, endpoint_url and network"
        )
    return f"DescribeAlarms in {region} failed: {code or kind}: {short(exc)}"


def check_cloudwatch(cfg: CloudWatchConfig, context: BuildContext) -> list[Check]:
    """``DescribeAlarms`` with ``MaxRecords=1`` in each configured account and region."""
    from .._aws import where
    from . import build

    endpoint = f" at {cfg.endpoint_url}" if cfg.endpoint_url else ""
    try:
        [collector] = build(cfg, context)
    except Exception as exc:
        hint = (
            "; check `profile` in [cloudwatch] and ~/.aws/config"
            if "profile" in str(exc).lower()
            else ""
        )
        return [
            Check("cloudwatch", FAIL, f"could not set up the CloudWatch client: {short(exc)}{hint}")
        ]
    cw: Any = collector
    checks = []
    try:
        for target in list(cw.targets):
            region = where(target)
            try:
                alarms = cw.client(target).describe_alarms(MaxRecords=1)
            except Exception as exc:
                checks.append(
                    Check(f"cloudwatch {region}", FAIL, cloudwatch_error(region, exc, endpoint))
                )
                continue
            seen = (
                "at least one alarm"
                if alarms.get("MetricAlarms") or alarms.get("CompositeAlarms")
                else "no alarms yet"
            )
            checks.append(
                Check(f"cloudwatch {region}", OK, f"DescribeAlarms answered ({seen}){endpoint}")
            )
    finally:
        collector.close()
    return checks
