"""CloudWatch across accounts and regions, composite alarms, tags and throttling, against moto's server."""

from __future__ import annotations

from datetime import timedelta

import boto3

from pmdraft.config import parse_config
from pmdraft.model import Window
from pmdraft.sandbox import aws
from tests.standins.faults import FaultProxy

from ..conftest import utc

T0 = utc(2024, 1, 15, 14)
WINDOW = Window(T0, T0 + timedelta(hours=1))
ROLE = "arn:aws:iam::111111111111:role/pmdraft-read"


def put_alarm(client, name: str, **extra) -> None:
    client.put_metric_alarm(
        AlarmName=name,
        MetricName="Errors",
        Namespace="App",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5.0,
        ComparisonOperator="GreaterThanThreshold",
        **extra,
    )


def role_client(moto, region: str):
    creds = moto.client("sts").assume_role(RoleArn=ROLE, RoleSessionName="seed")["Credentials"]
    return boto3.client(
        "cloudwatch",
        region_name=region,
        endpoint_url=moto.endpoint_url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def collector(endpoint: str, extra: str = ""):
    config = parse_config(
        f'[cloudwatch]\nregions = ["us-east-1", "eu-west-1"]\nendpoint_url = "{endpoint}"\n'
        "graphs = false\n" + extra
    )
    [built] = config.collectors("cloudwatch", {})
    return built


def test_two_accounts_and_two_regions_are_read_in_one_run(moto) -> None:
    """Each (account, region) pair's transitions arrive, labelled with its account and region; one account is a role."""
    for region in ("us-east-1", "eu-west-1"):
        put_alarm(moto.client("cloudwatch", region), f"Own-{region}")
        put_alarm(role_client(moto, region), f"Prod-{region}")
        aws.add_history(region, f"Own-{region}", T0 + timedelta(minutes=1), "OK", "ALARM")
        aws.add_history(
            region,
            f"Prod-{region}",
            T0 + timedelta(minutes=2),
            "OK",
            "ALARM",
            account="111111111111",
        )
    source = collector(
        moto.endpoint_url,
        f'[[cloudwatch.accounts]]\nname = "shared"\n\n'
        f'[[cloudwatch.accounts]]\nname = "prod"\nrole_arn = "{ROLE}"\n',
    )
    events = list(source.collect(WINDOW))
    source.close()
    seen = sorted((e.attrs["account"], e.attrs["region"], e.attrs["alarm_name"]) for e in events)
    assert seen == [
        ("prod", "eu-west-1", "Prod-eu-west-1"),
        ("prod", "us-east-1", "Prod-us-east-1"),
        ("shared", "eu-west-1", "Own-eu-west-1"),
        ("shared", "us-east-1", "Own-us-east-1"),
    ]
    prod = next(e for e in events if e.attrs["alarm_name"] == "Prod-eu-west-1")
    assert prod.ref == "arn:aws:cloudwatch:eu-west-1:111111111111:alarm:Prod-eu-west-1"


def test_throttling_is_ridden_out(moto) -> None:
    """Two Throttling answers to DescribeAlarmHistory are retried (adaptive mode) and no transition is lost."""
    put_alarm(moto.client(), "HighErrorRate")
    aws.add_history("us-east-1", "HighErrorRate", T0 + timedelta(minutes=5), "OK", "ALARM")
    with FaultProxy(moto.endpoint_url) as proxy:
        proxy.inject("DescribeAlarmHistory", "throttle", times=2)
        source = collector(proxy.endpoint_url, 'retry_mode = "adaptive"\n')
        source.targets = {k: v for k, v in source.targets.items() if k[1] == "us-east-1"}
        events = list(source.collect(WINDOW))
        source.close()
        history = [
            (r.fault, r.status) for r in proxy.requests if r.operation == "DescribeAlarmHistory"
        ]
    assert [e.summary for e in events] == ["HighErrorRate OK -> ALARM"]
    assert history == [("throttle", 400), ("throttle", 400), (None, 200)]


def test_composite_alarm_transitions_appear_with_their_rule(moto) -> None:
    """A composite alarm's transition is read (AlarmTypes asks for it) and carries its rule."""
    client = moto.client()
    put_alarm(client, "HighErrorRate")
    client.put_composite_alarm(
        AlarmName="ApiDown", AlarmRule='ALARM("HighErrorRate") OR ALARM("HighLatency")'
    )
    aws.add_history(
        "us-east-1",
        "ApiDown",
        T0 + timedelta(minutes=3),
        "OK",
        "ALARM",
        alarm_type="CompositeAlarm",
    )
    aws.add_history("us-east-1", "HighErrorRate", T0 + timedelta(minutes=2), "OK", "ALARM")
    assert [
        i["AlarmName"]
        for i in client.describe_alarm_history(HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    ] == ["HighErrorRate"], "like AWS, the sandbox lists metric alarms only unless asked"
    source = collector(moto.endpoint_url)
    events = list(source.collect(WINDOW))
    source.close()
    composite = next(e for e in events if e.attrs["alarm_name"] == "ApiDown")
    assert composite.summary == "ApiDown OK -> ALARM"
    assert composite.attrs["alarm_type"] == "CompositeAlarm"
    assert composite.attrs["alarm_rule"] == 'ALARM("HighErrorRate") OR ALARM("HighLatency")'


def test_alarm_tags_keep_only_tagged_alarms(moto) -> None:
    """With alarm_tags set, only alarms carrying those tags stay, at one ListTagsForResource per alarm."""
    client = moto.client()
    put_alarm(client, "PaymentsErrors", Tags=[{"Key": "team", "Value": "payments"}])
    put_alarm(client, "SearchErrors", Tags=[{"Key": "team", "Value": "search"}])
    for name in ("PaymentsErrors", "SearchErrors"):
        aws.add_history("us-east-1", name, T0 + timedelta(minutes=4), "OK", "ALARM")
    source = collector(moto.endpoint_url, '[cloudwatch.alarm_tags]\nteam = "payments"\n')
    source.targets = {k: v for k, v in source.targets.items() if k[1] == "us-east-1"}
    events = list(source.collect(WINDOW))
    source.close()
    assert [e.attrs["alarm_name"] for e in events] == ["PaymentsErrors"]
    assert source.requests == 5, (
        "DescribeAlarms, DescribeAlarmHistory, one ListTagsForResource per alarm, and one "
        "GetMetricData for the metric lookback (graphs are off)"
    )


def test_alarm_services_keep_only_alarms_mentioning_a_service_in_scope(moto) -> None:
    """With alarm_services, the draft keeps alarms whose name, dimensions or tags name an incident's or deploy's service."""
    from pmdraft.draft import build_draft
    from pmdraft.model import Event
    from pmdraft.pipeline import Collected
    from pmdraft.render.markdown import render_markdown

    client = moto.client()
    put_alarm(client, "Payments-API-5xx")
    put_alarm(client, "HighLatency", Dimensions=[{"Name": "Service", "Value": "checkout"}])
    put_alarm(client, "QueueDepth", Tags=[{"Key": "service", "Value": "payments_api"}])
    put_alarm(client, "DiskFull", Tags=[{"Key": "service", "Value": "reporting"}])
    for i, name in enumerate(("Payments-API-5xx", "HighLatency", "QueueDepth", "DiskFull")):
        aws.add_history("us-east-1", name, T0 + timedelta(minutes=4 + i), "OK", "ALARM")
    source = collector(moto.endpoint_url, "alarm_services = true\n")
    source.targets = {k: v for k, v in source.targets.items() if k[1] == "us-east-1"}
    alarms = list(source.collect(WINDOW))
    source.close()
    scope = [
        Event(
            at=T0 + timedelta(minutes=9),
            source="pagerduty",
            kind="incident.triggered",
            ref="Q1",
            summary="paged",
            service="Payments API",
        ),
        Event(
            at=T0,
            source="deploys",
            kind="deploy.succeeded",
            ref="d1",
            summary="checkout v2",
            service="checkout",
        ),
    ]
    markdown = render_markdown(
        build_draft(Collected(events=alarms + scope), WINDOW, alarm_services=True)
    )
    assert "DiskFull" not in markdown
    assert all(name in markdown for name in ("Payments-API-5xx", "HighLatency", "QueueDepth"))
    assert "DiskFull" in render_markdown(build_draft(Collected(events=alarms + scope), WINDOW))


def test_alarm_services_leave_out_the_graphs_of_alarms_out_of_scope(moto, tmp_path) -> None:
    """With alarm_services, only the alarms of a deployed service keep their metric graph in the draft."""
    import json

    from pmdraft.draft import make_draft
    from pmdraft.sources.deploys.file import DeployFileCollector

    client = moto.client()
    for name in ("checkout-errors", "reporting-errors"):
        put_alarm(client, name)
        aws.add_history("us-east-1", name, T0 + timedelta(minutes=10), "OK", "ALARM")
    client.put_metric_data(
        Namespace="App",
        MetricData=[
            {"MetricName": "Errors", "Timestamp": T0 + timedelta(minutes=m), "Value": 1.0}
            for m in range(20)
        ],
    )
    deploys = tmp_path / "deploys.jsonl"
    deploys.write_text(
        json.dumps(
            {
                "timestamp": "2024-01-15T14:05:00Z",
                "service": "checkout",
                "id": "d1",
                "status": "succeeded",
                "version": "v2",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    config = parse_config(
        f'[cloudwatch]\nregions = ["us-east-1"]\nendpoint_url = "{moto.endpoint_url}"\n'
        "alarm_services = true\n"
    )
    [source] = config.collectors("cloudwatch", {})
    draft = make_draft(config, WINDOW, {}, collectors=[source, DeployFileCollector(deploys)])
    source.close()
    assert [s["alarm_name"] for s in draft.metric_series] == ["checkout-errors"]
    assert {e.attrs["alarm_name"] for e in draft.events if e.source == "cloudwatch"} == {
        "checkout-errors"
    }
