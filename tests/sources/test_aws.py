"""The AWS boundary: botocore's errors become CollectorErrors that name the call and the fix."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from pmdraft.errors import CollectorError
from pmdraft.sources._aws import DEPLOY_ATTEMPTS, boto_config, regional_clients, translated
from pmdraft.sources.cloudwatch.collector import ADVICE as CLOUDWATCH
from pmdraft.sources.deploys.codedeploy import ADVICE as CODEDEPLOY


def client_error(
    code: str, message: str, operation: str, *, status: int, retries: int
) -> ClientError:
    """The ClientError botocore raises for an AWS error answer of this code and status."""
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "RetryAttempts": retries},
        },
        operation,
    )


def test_throttling_that_outlasts_the_retries_says_so_and_what_to_raise() -> None:
    """Throttling names the call, the account/region, the AWS code, the attempts and max_attempts."""
    cause = client_error(
        "Throttling", "Rate exceeded", "DescribeAlarmHistory", status=400, retries=2
    )
    with (
        pytest.raises(CollectorError) as caught,
        translated("cloudwatch", "DescribeAlarmHistory", "prod/eu-west-1", CLOUDWATCH),
    ):
        raise cause
    assert str(caught.value) == (
        "cloudwatch: DescribeAlarmHistory in prod/eu-west-1 failed: Throttling: Rate exceeded. "
        "CloudWatch still refused after 3 attempts; try again later, or raise max_attempts in "
        "[cloudwatch]."
    )
    assert caught.value.__cause__ is cause, "chained, so --debug shows botocore's error"


def test_access_denied_names_the_permissions_to_check() -> None:
    """AccessDenied names the call and region and lists the permissions and names to check."""
    cause = client_error(
        "AccessDeniedException",
        "User is not authorized to perform: codedeploy:ListDeployments",
        "ListDeployments",
        status=400,
        retries=0,
    )
    with (
        pytest.raises(CollectorError) as caught,
        translated("codedeploy:us-east-1", "ListDeployments", "us-east-1", CODEDEPLOY),
    ):
        raise cause
    assert caught.value.source == "codedeploy:us-east-1"
    assert caught.value.message == (
        "ListDeployments in us-east-1 failed: AccessDeniedException: User is not authorized to "
        "perform: codedeploy:ListDeployments. Check the credentials' codedeploy:ListDeployments, "
        "ListDeploymentGroups and BatchGetDeployments permissions, the region and the application "
        "names."
    )
    assert caught.value.__cause__ is cause


def test_an_unreachable_endpoint_counts_the_attempts_and_points_at_the_network() -> None:
    """A real client that cannot connect fails with its attempts and the network next step."""
    client = boto3.client(
        "cloudwatch",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=boto_config(attempts=2, timeout=0.5),
    )
    with (
        pytest.raises(CollectorError) as caught,
        translated("cloudwatch", "DescribeAlarms", "us-east-1", CLOUDWATCH, client),
    ):
        client.describe_alarms()
    client.close()
    assert caught.value.message == (
        'DescribeAlarms in us-east-1 failed: Could not connect to the endpoint URL: "http://127.0.0.1:9/" '
        "(2 attempts). Check the network and endpoint_url, or raise timeout_seconds or max_attempts "
        "in [cloudwatch]."
    )


def test_deploy_clients_keep_standard_retries_with_six_attempts() -> None:
    """CodeDeploy and CloudTrail clients retry in standard mode, six attempts in all, per region."""
    clients = regional_clients("cloudtrail", ["us-east-1", "eu-west-1"], "http://127.0.0.1:9", "")
    try:
        assert {r: c.meta.region_name for r, c in clients.items()} == {
            "us-east-1": "us-east-1",
            "eu-west-1": "eu-west-1",
        }
        assert clients["us-east-1"].meta.config.retries == {
            "mode": "standard",
            "total_max_attempts": DEPLOY_ATTEMPTS,
        }
        assert DEPLOY_ATTEMPTS == 6
    finally:
        for client in clients.values():
            client.close()


def test_an_answer_botocore_cannot_parse_names_the_call_and_other_errors_pass_through() -> None:
    """botocore's ResponseParserError (imported only when an error is translated, so that the
    draft's parent process need not import botocore's parsers) is the call's error, naming the
    endpoint and proxy to check; an error that is not botocore's is not translated."""
    from botocore.parsers import ResponseParserError

    cause = ResponseParserError("Unable to parse response (not well-formed)\nbody: <html>")
    with (
        pytest.raises(CollectorError) as caught,
        translated("cloudwatch", "DescribeAlarms", "us-east-1", CLOUDWATCH),
    ):
        raise cause
    assert str(caught.value) == (
        "cloudwatch: DescribeAlarms in us-east-1 failed: the answer could not be read (Unable "
        "to parse response (not well-formed)); check endpoint_url and any proxy."
    )
    assert caught.value.__cause__ is cause
    with (
        pytest.raises(KeyError, match="AlarmName"),
        translated("cloudwatch", "DescribeAlarms", "us-east-1", CLOUDWATCH),
    ):
        raise KeyError("AlarmName")
