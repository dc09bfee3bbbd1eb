"""The AWS fault proxy: it finds the operation in every AWS protocol and speaks each one's error shape."""

from __future__ import annotations

import boto3
import pytest
from botocore.parsers import create_parser

from tests.standins.faults import FaultProxy, error_answer, operation_of


@pytest.mark.parametrize(
    ("path", "headers", "body"),
    [
        ("/", {"X-Amz-Target": "GraniteServiceVersion20100801.DescribeAlarmHistory"}, b"{}"),
        (
            "/service/GraniteServiceVersion20100801/operation/DescribeAlarmHistory",
            {"Content-Type": "application/cbor"},
            b"\xa0",
        ),
        (
            "/",
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
            b"Action=DescribeAlarmHistory&Version=2010-08-01",
        ),
    ],
    ids=["json", "rpc-v2-cbor", "query"],
)
def test_the_operation_is_found_in_each_protocol(
    path: str, headers: dict[str, str], body: bytes
) -> None:
    """The X-Amz-Target header, the Smithy RPC v2 path and the query Action all name DescribeAlarmHistory."""
    assert operation_of(path, headers, body) == "DescribeAlarmHistory"


@pytest.mark.parametrize(
    ("protocol", "content_type"),
    [
        ("json", "application/x-amz-json-1.0"),
        ("smithy-rpc-v2-cbor", "application/cbor"),
        ("query", "application/x-www-form-urlencoded"),
    ],
)
def test_a_throttle_parses_as_throttling_in_botocore(protocol: str, content_type: str) -> None:
    """botocore's own parser for each protocol reads the injected answer as error code Throttling."""
    headers, body = error_answer(
        {"Content-Type": content_type}, 400, "Throttling", "Rate exceeded", sender=True
    )
    shape = (
        boto3.client("cloudwatch", region_name="us-east-1")
        .meta.service_model.operation_model("DescribeAlarmHistory")
        .output_shape
    )
    parsed = create_parser(protocol).parse(
        {"status_code": 400, "headers": headers, "body": body}, shape
    )
    assert (parsed["Error"]["Code"], parsed["Error"]["Message"]) == ("Throttling", "Rate exceeded")


def test_an_unknown_fault_is_refused() -> None:
    """A misspelt fault kind is an error listing the kinds, not a fault silently never injected."""
    with pytest.raises(
        ValueError, match="kind must be one of throttle, error, slow, reset, truncate"
    ):
        FaultProxy("http://127.0.0.1:5000").inject("DescribeAlarmHistory", "throttled")
