"""A scenario file: the user's own incident story, read and checked before anything starts.

The file is JSON (or YAML when PyYAML is importable) with four optional top-level lists and
one table: ``alarms``, ``incidents``, ``deploys`` and ``slack``. Every record is checked against
the fields below; a mistake is an :class:`~pmdraft.errors.InputError` naming the file, the JSON
path of the bad entry (``incidents[1].log[3].at``) and what a correct one looks like. Every time
must carry an offset or ``Z``. docs/sandbox.md describes the format with an example.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import InputError

EXAMPLE_AT = "2024-03-12T09:14:00Z"
STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
COMPARISONS = (
    "GreaterThanThreshold",
    "GreaterThanOrEqualToThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
)
STATISTICS = ("Sum", "Average", "Maximum", "Minimum", "SampleCount")
LOG_TYPES = ("trigger", "notify", "acknowledge", "note", "resolve")
DEPLOY_STATUSES = ("started", "succeeded", "failed", "rolled_back")


@dataclass(frozen=True)
class Field:
    """One field of a record: its kind, whether it is required, its default and an example."""

    kind: Any
    """``"text"``, ``"int"``, ``"number"``, ``"bool"``, ``"time"``, a tuple of allowed strings,
    or a list ``[spec]`` of records (``spec`` a dict of fields) or ``["text"]``."""
    example: str
    required: bool = False
    default: Any = None


POINT = {
    "at": Field("time", f'"at": "{EXAMPLE_AT}"', True),
    "value": Field("number", '"value": 41.0', True),
}
TRANSITION = {
    "at": Field("time", f'"at": "{EXAMPLE_AT}"', True),
    "state": Field(STATES, '"state": "ALARM"', True),
    "reason": Field(
        "text", '"reason": "Threshold Crossed: 2 datapoints were above 5.0"', False, ""
    ),
    "datapoints": Field(
        [POINT], f'"datapoints": [{{"at": "{EXAMPLE_AT}", "value": 41.0}}]', False, []
    ),
}
ALARM = {
    "name": Field("text", '"name": "CheckoutErrors"', True),
    "region": Field("text", '"region": "eu-west-1"', False, "us-east-1"),
    "metric": Field("text", '"metric": "HTTPCode_Target_5XX_Count"', True),
    "namespace": Field("text", '"namespace": "AWS/ApplicationELB"', True),
    "statistic": Field(
        "text", '"statistic": "Sum" (or "Average", "Maximum", "p99"...)', False, "Sum"
    ),
    "period": Field("int", '"period": 60', False, 60),
    "threshold": Field("number", '"threshold": 5.0', True),
    "comparison": Field(COMPARISONS, '"comparison": "GreaterThanThreshold"', False, COMPARISONS[0]),
    "description": Field("text", '"description": "Checkout 5xx above 5 a minute"', False, ""),
    "history": Field(
        [TRANSITION], f'"history": [{{"at": "{EXAMPLE_AT}", "state": "ALARM"}}]', True
    ),
    "series": Field([POINT], f'"series": [{{"at": "{EXAMPLE_AT}", "value": 41.0}}]', False, []),
}
LOG = {
    "type": Field(LOG_TYPES, '"type": "acknowledge"', True),
    "at": Field("time", f'"at": "{EXAMPLE_AT}"', True),
    "who": Field("text", '"who": "Priya Patel"', False, ""),
    "text": Field("text", '"text": "Rolling back the payment client"', False, ""),
}
INCIDENT = {
    "number": Field("int", '"number": 4711', True),
    "title": Field("text", '"title": "Checkout errors after the payment client upgrade"', True),
    "service": Field("text", '"service": "checkout"', True),
    "urgency": Field(("high", "low"), '"urgency": "high"', False, "high"),
    "priority": Field("text", '"priority": "P1"', False, None),
    "created": Field("time", f'"created": "{EXAMPLE_AT}"', True),
    "resolved": Field("time", f'"resolved": "{EXAMPLE_AT}"', False, None),
    "log": Field(
        [LOG],
        f'"log": [{{"type": "acknowledge", "at": "{EXAMPLE_AT}", "who": "Priya"}}]',
        False,
        [],
    ),
}
DEPLOY = {
    "at": Field("time", f'"at": "{EXAMPLE_AT}"', True),
    "service": Field("text", '"service": "checkout"', True),
    "version": Field("text", '"version": "v4.2.0"', True),
    "status": Field(DEPLOY_STATUSES, '"status": "succeeded"', False, "succeeded"),
    "environment": Field("text", '"environment": "production"', False, "production"),
    "actor": Field("text", '"actor": "deploy-bot"', False, ""),
    "id": Field("text", '"id": "dep-311"', False, ""),
    "description": Field("text", '"description": "Payment client 3.0"', False, ""),
    "url": Field("text", '"url": "https://ci.example.com/deploys/311"', False, ""),
}
MESSAGE = {
    "at": Field("time", f'"at": "{EXAMPLE_AT}"', True),
    "who": Field("text", '"who": "Priya Patel"', True),
    "text": Field("text", '"text": "Rolling back the payment client"', True),
    "pinned": Field("bool", '"pinned": true', False, False),
    "reactions": Field(["text"], '"reactions": ["pushpin"]', False, []),
}
SLACK = {
    "channel": Field("text", '"channel": "inc-4711-checkout"', True),
    "messages": Field(
        [MESSAGE], f'"messages": [{{"at": "{EXAMPLE_AT}", "who": "Priya", "text": "..."}}]', True
    ),
}
TOP = {
    "alarms": Field([ALARM], '"alarms": [{"name": "CheckoutErrors", ...}]', False, []),
    "incidents": Field([INCIDENT], '"incidents": [{"number": 4711, ...}]', False, []),
    "deploys": Field([DEPLOY], '"deploys": [{"at": "...", "service": "checkout", ...}]', False, []),
    "slack": Field(
        SLACK, '"slack": {"channel": "inc-4711-checkout", "messages": [...]}', False, None
    ),
}


@dataclass(frozen=True)
class Scenario:
    """A checked scenario: plain records (dicts of checked values; times aware UTC)."""

    path: Path
    alarms: list[dict[str, Any]]
    incidents: list[dict[str, Any]]
    deploys: list[dict[str, Any]]
    slack: dict[str, Any] | None

    def times(self, *, deploys: bool = True) -> list[datetime]:
        """Every time in the scenario (the deploys' too, unless ``deploys`` is false)."""
        found: list[datetime] = []

        def walk(value: Any) -> None:
            if isinstance(value, datetime):
                found.append(value)
            elif isinstance(value, dict):
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        walk([self.alarms, self.incidents, self.slack, self.deploys if deploys else []])
        return found

    def window(self, margin: timedelta = timedelta(minutes=15)) -> tuple[datetime, datetime]:
        """A window around the story: its first and last times, ``margin`` wider, whole minutes.

        Deploys count only when nothing else has a time: one made days before is a suspect
        found by the draft's lookback, not a reason to widen the window.
        """
        times = self.times(deploys=False) or self.times()
        if not times:
            raise InputError(f"{self.path}: the scenario holds no times, so it has no window")
        since = (min(times) - margin).replace(second=0, microsecond=0)
        until = (max(times) + margin).replace(second=0, microsecond=0) + timedelta(minutes=1)
        return since, until


class _Bad(Exception):
    """A mistake at ``path``; the reader adds the file name."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {json.dumps(value)}"
    if isinstance(value, str):
        return f"the string {json.dumps(value)}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if value is None:
        return "null"
    return "a list" if isinstance(value, list) else "an object"


def _time(value: Any, path: str, field: Field) -> datetime:
    if not isinstance(value, str):
        raise _Bad(
            path, f"expected an ISO 8601 time, got {_shown(value)}; for example {field.example}"
        )
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _Bad(
            path, f"{json.dumps(value)} is not an ISO 8601 time; for example {field.example}"
        ) from None
    if parsed.utcoffset() is None:
        raise _Bad(
            path,
            f"{json.dumps(value)} has no UTC offset, so its instant is unknown; add Z or an "
            f'offset, like "{value.strip()}Z" or "{value.strip()}+01:00"',
        )
    return parsed.astimezone(UTC)


def _value(value: Any, path: str, field: Field) -> Any:
    kind = field.kind
    expected = {
        "text": "a string",
        "int": "a whole number",
        "number": "a number",
        "bool": "true or false",
    }
    if kind == "time":
        return _time(value, path, field)
    if isinstance(kind, tuple):
        if value not in kind:
            raise _Bad(
                path,
                f"{_shown(value)} is not one of {', '.join(kind)}; for example {field.example}",
            )
        return value
    if isinstance(kind, dict):
        return _record(value, path, kind)
    if isinstance(kind, list):
        if not isinstance(value, list):
            raise _Bad(path, f"expected a list, got {_shown(value)}; for example {field.example}")
        item = Field(kind[0], field.example)
        return [_value(v, f"{path}[{n}]", item) for n, v in enumerate(value)]
    ok = {
        "text": isinstance(value, str) and bool(value.strip()),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
    }[kind]
    if not ok:
        what = "a non-empty string" if kind == "text" and isinstance(value, str) else expected[kind]
        raise _Bad(path, f"expected {what}, got {_shown(value)}; for example {field.example}")
    return float(value) if kind == "number" else value


def _record(value: Any, path: str, spec: dict[str, Field]) -> dict[str, Any]:
    """``value`` checked against ``spec``: an object with known fields of the right kinds."""
    if not isinstance(value, dict):
        raise _Bad(path or "(top level)", f"expected an object {{...}}, got {_shown(value)}")
    prefix = f"{path}." if path else ""
    for name in value:
        if name not in spec:
            close = difflib.get_close_matches(str(name), list(spec), n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            raise _Bad(
                f"{prefix}{name}",
                f"unknown field{hint}; the fields here are {', '.join(spec)}",
            )
    out: dict[str, Any] = {}
    for name, field in spec.items():
        if name not in value or value[name] is None:
            if field.required:
                raise _Bad(f"{prefix}{name}", f"is required; for example {field.example}")
            out[name] = list(field.default) if isinstance(field.default, list) else field.default
            continue
        out[name] = _value(value[name], f"{prefix}{name}", field)
    return out


def _meaning(data: dict[str, Any]) -> None:
    """Checks across fields: statistics, order of times, unique names and numbers."""
    for n, alarm in enumerate(data["alarms"]):
        stat = alarm["statistic"]
        if stat not in STATISTICS and not (
            stat[:1] == "p" and stat[1:].replace(".", "", 1).isdigit()
        ):
            raise _Bad(
                f"alarms[{n}].statistic",
                f"{json.dumps(stat)} is not one of {', '.join(STATISTICS)} "
                "or a percentile such as p99",
            )
        if alarm["period"] <= 0:
            raise _Bad(
                f"alarms[{n}].period", "must be a positive number of seconds; for example 60"
            )
        if not alarm["history"]:
            raise _Bad(f"alarms[{n}].history", "needs at least one state change")
        _in_order(alarm["history"], f"alarms[{n}].history")
    names = [(a["region"], a["name"]) for a in data["alarms"]]
    for n, key in enumerate(names):
        if key in names[:n]:
            raise _Bad(f"alarms[{n}].name", f"{json.dumps(key[1])} appears twice in {key[0]}")
    numbers = [i["number"] for i in data["incidents"]]
    for n, incident in enumerate(data["incidents"]):
        if incident["number"] in numbers[:n] or incident["number"] <= 0:
            raise _Bad(
                f"incidents[{n}].number", f"{incident['number']} must be positive and unique"
            )
        if incident["resolved"] and incident["resolved"] < incident["created"]:
            raise _Bad(
                f"incidents[{n}].resolved", "is before created; resolved comes after created"
            )
        for k, entry in enumerate(incident["log"]):
            if entry["type"] in ("notify", "acknowledge", "note") and not entry["who"]:
                raise _Bad(
                    f"incidents[{n}].log[{k}].who",
                    f'a {entry["type"]} entry needs who; for example "who": "Priya Patel"',
                )
            if entry["type"] == "note" and not entry["text"]:
                raise _Bad(
                    f"incidents[{n}].log[{k}].text",
                    'a note needs its text; for example "text": "Rolling back"',
                )


def _in_order(items: list[dict[str, Any]], path: str) -> None:
    for k in range(1, len(items)):
        if items[k]["at"] < items[k - 1]["at"]:
            raise _Bad(f"{path}[{k}].at", f"is before {path}[{k - 1}].at; list them oldest first")


def _load(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-untyped]  # PyYAML ships no types
        except ImportError:
            raise InputError(
                f"{path}: reading YAML needs PyYAML (pip install pyyaml); "
                "or write the scenario as JSON"
            ) from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc


def read_scenario(path: Path) -> Scenario:
    """Read and check the scenario at ``path``; any mistake is an InputError naming where."""
    try:
        raw = _load(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc
    raw = _yaml_times(raw)
    try:
        data = _record(raw, "", TOP)
        _meaning(data)
    except _Bad as exc:
        raise InputError(f"{path}: {exc}") from None
    return Scenario(path, data["alarms"], data["incidents"], data["deploys"], data["slack"])


def _yaml_times(value: Any) -> Any:
    """YAML reads unquoted times as datetimes: back to text, so they are checked as JSON's are."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _yaml_times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_yaml_times(v) for v in value]
    return value
