"""CloudTrail LookupEvents for deploy-like calls, through boto3 with botocore's Stubber.

moto does not implement CloudTrail's LookupEvents, so these tests stub the real boto3 client with
``botocore.stub.Stubber``: each request is checked against the expected parameters and against
botocore's model of the API, and each answer uses the documented response shape (``Events`` with
``EventId``, ``EventName``, ``EventTime``, ``Username``, ``CloudTrailEvent`` as a JSON string,
and ``NextToken``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from itertools import pairwise

import boto3
import pytest
from botocore.stub import Stubber

from pmdraft.draft import build_draft
from pmdraft.model import Window
from pmdraft.pipeline import collect
from pmdraft.render import render_markdown
from pmdraft.sources._aws import RateLimiter
from pmdraft.sources.base import request_ceiling
from pmdraft.sources.deploys.cloudtrail import CloudTrailCollector

from ..conftest import utc

WINDOW = Window(utc(2024, 1, 15, 14), utc(2024, 1, 15, 15, 30))
SINCE = WINDOW.since - timedelta(hours=6)
ECS_REQUEST = {"cluster": "prod", "service": "api", "taskDefinition": "api:42"}


def record(
    event_id: str,
    name: str,
    at: datetime,
    user: str,
    request: dict,
    response: dict | None = None,
    error: str | None = None,
) -> dict:
    detail = {
        "eventVersion": "1.08",
        "eventTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventName": name,
        "awsRegion": "us-east-1",
        "requestParameters": request,
        "responseElements": response,
    }
    if error:
        detail |= {"errorCode": error, "errorMessage": "denied"}
    return {
        "EventId": event_id,
        "EventName": name,
        "ReadOnly": "false",
        "EventTime": at,
        "EventSource": "x.amazonaws.com",
        "Username": user,
        "Resources": [],
        "CloudTrailEvent": json.dumps(detail),
    }


def expected(name: str, token: str | None = None) -> dict:
    params = {
        "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": name}],
        "StartTime": SINCE,
        "EndTime": WINDOW.until,
        "MaxResults": 50,
    }
    return params | ({"NextToken": token} if token else {})


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.starts: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def stubbed():
    client = boto3.client("cloudtrail", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_deploy_calls_become_deploy_events_over_pages_at_two_requests_a_second(stubbed) -> None:
    """ECS and Lambda deploy calls across two pages become deploy events, and no two requests start within 0.5 s."""
    client, stubber = stubbed
    stubber.add_response(
        "lookup_events",
        {
            "Events": [
                record(
                    "e1",
                    "UpdateService",
                    utc(2024, 1, 15, 14, 28),
                    "ci-bot",
                    {
                        "cluster": "arn:aws:ecs:us-east-1:1:cluster/prod",
                        "service": "api",
                        "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/api:42",
                    },
                )
            ],
            "NextToken": "page-2",
        },
        expected("UpdateService"),
    )
    stubber.add_response(
        "lookup_events",
        {
            "Events": [
                record(
                    "e0",
                    "UpdateService",
                    utc(2024, 1, 15, 13, 5),
                    "ci-bot",
                    {"cluster": "prod", "service": "api", "taskDefinition": "api:41"},
                    error="AccessDenied",
                )
            ]
        },
        expected("UpdateService", "page-2"),
    )
    stubber.add_response(
        "lookup_events",
        {
            "Events": [
                record(
                    "e2",
                    "PublishVersion20150331",
                    utc(2024, 1, 15, 14, 20),
                    "jane",
                    {"functionName": "checkout"},
                    {"functionName": "checkout", "version": "7"},
                )
            ]
        },
        expected("PublishVersion20150331"),
    )
    fake = FakeClock()
    limiter = RateLimiter(2, clock=fake.clock, sleep=fake.sleep)
    original = limiter.wait

    def wait() -> None:
        original()
        fake.starts.append(fake.now)

    limiter.wait = wait  # type: ignore[method-assign]
    collector = CloudTrailCollector(
        {"us-east-1": client},
        event_names=["UpdateService", "PublishVersion20150331"],
        limiter=limiter,
    )
    events = list(collector.collect(WINDOW))
    assert [(e.at, e.kind, e.summary, e.actor) for e in events] == [
        (
            utc(2024, 1, 15, 14, 28),
            "deploy.started",
            "api:42 deploy to prod started (api): ECS UpdateService",
            "ci-bot",
        ),
        (
            utc(2024, 1, 15, 13, 5),
            "deploy.failed",
            "api:41 deploy to prod failed (api): ECS UpdateService (AccessDenied)",
            "ci-bot",
        ),
        (
            utc(2024, 1, 15, 14, 20),
            "deploy.succeeded",
            "7 deployed to lambda (checkout): Lambda PublishVersion",
            "jane",
        ),
    ]
    assert collector.requests == 3
    assert all(b - a >= 0.5 for a, b in pairwise(fake.starts)), fake.starts


def test_an_access_denied_answer_is_a_named_data_gap(stubbed) -> None:
    """When LookupEvents is denied, the draft's Data gaps note names CloudTrail, the region and the permission."""
    client, stubber = stubbed
    stubber.add_client_error(
        "lookup_events",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: cloudtrail:LookupEvents",
        http_status_code=400,
        expected_params=expected("UpdateService"),
    )
    collector = CloudTrailCollector(
        {"us-east-1": client},
        event_names=["UpdateService"],
        limiter=RateLimiter(2, sleep=lambda s: None),
    )
    md = render_markdown(build_draft(collect([collector], WINDOW), WINDOW))
    assert (
        "> - **CloudTrail deploy calls (us-east-1)**: LookupEvents in us-east-1 failed: AccessDeniedException: "
        "User is not authorized to perform: cloudtrail:LookupEvents. Check the credentials' cloudtrail:LookupEvents "
        "permission and the region."
    ) in md


def test_odd_and_outside_records_are_named_and_counted_while_good_ones_stay(stubbed) -> None:
    """A record without EventTime is skipped and named, one from 2015 (outside the window and its
    lookback) is left out and counted; the good record beside them is drafted, the source ok."""
    client, stubber = stubbed
    good = record("e-good", "UpdateService", utc(2024, 1, 15, 14, 28), "ci-bot", ECS_REQUEST)
    timeless = record("e-timeless", "UpdateService", utc(2024, 1, 15, 14, 29), "ci-bot", {})
    del timeless["EventTime"]
    ancient = record("e-2015", "UpdateService", utc(2015, 11, 3, 9), "ci-bot", ECS_REQUEST)
    stubber.add_response(
        "lookup_events", {"Events": [good, timeless, ancient]}, expected("UpdateService")
    )
    collector = CloudTrailCollector(
        {"us-east-1": client},
        event_names=["UpdateService"],
        limiter=RateLimiter(2, sleep=lambda s: None),
    )
    collected = collect([collector], WINDOW)
    md = render_markdown(build_draft(collected, WINDOW))
    assert "| 14:28:00 | Deploy: api:42 deploy to prod started (api): ECS UpdateService |" in md
    assert "2015" not in md.split("## Sources")[0]
    assert collector.detail == (
        "1 CloudTrail record skipped: us-east-1: event e-timeless: EventTime is missing; "
        "1 event outside the window and the 6 h deploy lookback before it left out"
    )
    [report] = collected.reports
    assert (report.status, report.events) == ("ok", 1)


def test_the_per_run_request_ceiling_stops_cloudtrail_as_a_named_gap(stubbed) -> None:
    """Inside [run] max_requests = 1, the second LookupEvents is never sent: the source is a
    gap naming the ceiling, and the first call's deploy is kept."""
    client, stubber = stubbed
    good = record("e-good", "UpdateService", utc(2024, 1, 15, 14, 28), "ci-bot", ECS_REQUEST)
    stubber.add_response("lookup_events", {"Events": [good]}, expected("UpdateService"))
    with request_ceiling(1):
        collector = CloudTrailCollector(
            {"us-east-1": client},
            event_names=["UpdateService", "PublishVersion20150331"],
            limiter=RateLimiter(2, sleep=lambda s: None),
        )
    collected = collect([collector], WINDOW)
    [report] = collected.reports
    assert report.status == "failed"
    assert report.error == (
        "stopped after 1 requests, the per-run ceiling [run] max_requests; narrow the window or "
        "raise it"
    )
    assert [e.ref for e in collected.events] == ["e-good"]
    assert collector.requests == 1
