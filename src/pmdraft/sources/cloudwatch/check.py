"""``pmdraft doctor`` for CloudWatch: what a draft calls, with one record, per account and region.

``DescribeAlarms`` (one alarm) and then ``DescribeAlarmHistory`` (one state update), with the
draft's own clients; every failure says what to fix. A CloudWatch that lists alarms but has no
alarm history (a plain moto server) fails here rather than in every draft."""

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


def history_error(region: str, exc: Exception, endpoint: str) -> str:
    """What a failed DescribeAlarmHistory (after DescribeAlarms answered) means, and the fix."""
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        return (
            f"DescribeAlarms answered but DescribeAlarmHistory in {region} was denied ({code}); "
            "grant this identity cloudwatch:DescribeAlarmHistory, which every draft calls"
        )
    return (
        f"DescribeAlarms answered but DescribeAlarmHistory in {region}{endpoint} failed: "
        f"{code or type(exc).__name__}: {short(exc)}; every draft reads alarm history with it, "
        "so point endpoint_url at a CloudWatch that serves it (a plain moto server does not; "
        "pmdraft's sandbox does) or remove endpoint_url to use AWS"
    )


def _check_target(cw: Any, target: Any, endpoint: str) -> Check:
    """DescribeAlarms and DescribeAlarmHistory, one record each, for one (account, region)."""
    from .._aws import where
    from .alarms import ALARM_TYPES

    region = where(target)
    try:
        client = cw.client(target)
        alarms = client.describe_alarms(MaxRecords=1)
    except Exception as exc:
        return Check(f"cloudwatch {region}", FAIL, cloudwatch_error(region, exc, endpoint))
    try:
        client.describe_alarm_history(
            AlarmTypes=ALARM_TYPES, HistoryItemType="StateUpdate", MaxRecords=1
        )
    except Exception as exc:
        return Check(f"cloudwatch {region}", FAIL, history_error(region, exc, endpoint))
    seen = (
        "at least one alarm"
        if alarms.get("MetricAlarms") or alarms.get("CompositeAlarms")
        else "no alarms yet"
    )
    return Check(
        f"cloudwatch {region}",
        OK,
        f"DescribeAlarms and DescribeAlarmHistory answered ({seen}){endpoint}",
    )


def check_cloudwatch(cfg: CloudWatchConfig, context: BuildContext) -> list[Check]:
    """``DescribeAlarms`` and ``DescribeAlarmHistory``, one record each, per account and region."""
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
    try:
        return [_check_target(cw, target, endpoint) for target in list(cw.targets)]
    finally:
        collector.close()
