"""The renderers' fast paths say exactly what the plain rules say: times as ``iso_z`` and
``strftime`` write them, table cells as the escaping rules write them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from pmdraft.model import KINDS, Event, iso_z
from pmdraft.render.structured import event_heads, event_lines, event_records
from pmdraft.render.text import cell, hhmmss


def strftime_iso_z(at: datetime) -> str:
    """iso_z's text as the plain rule writes it: UTC, strftime, microseconds only if set."""
    at = at.astimezone(UTC)
    fraction = f".{at.microsecond:06d}".rstrip("0") if at.microsecond else ""
    return at.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


AWARE = st.datetimes(
    min_value=datetime(1, 1, 1), timezones=st.sampled_from([UTC, timezone(timedelta(hours=5))])
)


@given(AWARE)
def test_iso_z_fast_path_is_the_strftime_text(at: datetime) -> None:
    """Any aware time (microseconds or none, a three-digit year, another zone): the plain text."""
    assert iso_z(at) == strftime_iso_z(at)


def test_iso_z_examples() -> None:
    """Whole seconds end in Z; microseconds are kept without trailing zeros."""
    assert iso_z(datetime(2024, 1, 15, 14, 32, 5, tzinfo=UTC)) == "2024-01-15T14:32:05Z"
    assert iso_z(datetime(2024, 1, 15, 14, 32, 5, 120000, tzinfo=UTC)) == (
        "2024-01-15T14:32:05.12Z"
    )


@given(AWARE)
def test_hhmmss_is_strftime(at: datetime) -> None:
    """HH:MM:SS of the time as given, microseconds dropped."""
    assert hhmmss(at) == at.strftime("%H:%M:%S")


@given(st.text(alphabet="ab |`<&\\;#\n\t"))
def test_a_cell_with_nothing_to_escape_is_the_folded_text(text: str) -> None:
    """Text without a backtick, <, & or | comes back folded onto one line, untouched otherwise;
    with one, a pipe never survives unescaped."""
    said = cell(text)
    folded = " ".join(text.split())
    if not any(c in folded for c in "`<&|"):
        assert said == folded
    else:
        assert re.search(r"(?<!\\)(\\\\)*\|", said) is None


def test_events_of_a_draft_without_a_scope_mask_are_all_in_scope() -> None:
    """A Draft made without ``in_scope`` (every event in scope): each JSON event says so."""
    import json

    from pmdraft.draft import Draft
    from pmdraft.model import Event, Window
    from pmdraft.render import render_json
    from pmdraft.timeline import analyse, build_frame

    at = datetime(2024, 1, 15, 14, 32, 5, 120000, tzinfo=UTC)
    event = Event(at, "deploys", "deploy.succeeded", "d1", "v2 deployed", attrs={"version": "v2"})
    draft = Draft(
        window=Window(at - timedelta(hours=1), at + timedelta(hours=1)),
        events=(event,),
        analysis=analyse(build_frame([event])),
        rows=(),
        reports=(),
    )
    record = json.loads(render_json(draft))["events"]
    assert record == [{**event.to_record(), "in_scope": True}]
    assert record[0]["at"] == "2024-01-15T14:32:05.12Z"


TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), TEXT)


@settings(deadline=None)  # no wall-clock limit per example: a busy CI machine is slow at times
@given(
    at=AWARE,
    kind=st.sampled_from(sorted(KINDS)),
    texts=st.tuples(TEXT, TEXT, TEXT),
    optional=st.tuples(*(st.one_of(st.none(), TEXT, st.integers()) for _ in range(3))),
    attrs=st.dictionaries(TEXT, SCALARS, max_size=4),
    keep=st.booleans(),
)
def test_json_event_lines_are_the_dumped_records(
    at: datetime,
    kind: str,
    texts: tuple[str, str, str],
    optional: tuple[object, object, object],
    attrs: dict[str, object],
    keep: bool,
) -> None:
    """Each line of the JSON draft's events is exactly ``json.dumps`` of the event's record:
    quotes, backslashes, control and non-ASCII characters, NaN, and a service, actor or url
    that is not text (written from the record, as before)."""
    source, ref, summary = texts
    event = Event(at, source, kind, ref, summary, *optional, attrs=attrs)  # type: ignore[arg-type]
    [line] = event_lines([event], [keep])
    assert line == json.dumps(event_records([event], [keep])[0], ensure_ascii=False)
    # Its head made beforehand (the scope not known yet), ended with its in_scope: the same.
    assert event_lines([event], [keep], {id(event): event_heads([event])[0]}) == [line]


@settings(deadline=None)
@given(
    base=st.dictionaries(TEXT, SCALARS, max_size=4),
    owns=st.lists(st.dictionaries(TEXT, SCALARS, max_size=3), min_size=1, max_size=3),
    keep=st.booleans(),
)
def test_json_event_lines_of_events_sharing_attrs_are_the_dumped_records(
    base: dict[str, object], owns: list[dict[str, object]], keep: bool
) -> None:
    """Events whose attrs share one base (an incident's facts, encoded once for all of them):
    each line is still exactly ``json.dumps`` of its record, whether the base or an event's
    own items are empty, and when an own key repeats one of the base's (one flat mapping)."""
    from pmdraft.model import Attrs

    shared = Attrs(base)  # type: ignore[arg-type]
    at = datetime(2024, 1, 15, 14, tzinfo=UTC)
    events = [
        Event(at, "pagerduty", "incident.notified", "Q1", "page", attrs=Attrs(own, shared))  # type: ignore[arg-type]
        for own in owns
    ]
    lines = event_lines(events, [keep] * len(events))
    assert lines == [
        json.dumps(r, ensure_ascii=False) for r in event_records(events, [keep] * len(events))
    ]


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), TEXT),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(TEXT, inner, max_size=3),
    ),
    max_leaves=12,
)


@settings(deadline=None)
@given(record=st.dictionaries(TEXT, JSON_VALUES, max_size=4))
def test_the_json_rest_sent_on_one_line_is_indented_as_the_draft_writes_it(
    record: dict[str, object],
) -> None:
    """The JSON draft's rest goes to its child on one line (the C encoder) and is indented
    there: the text is exactly the one ``json.dumps(..., indent=2)`` writes of the record
    (tuples, NaN and infinities, non-ASCII text; a draft's keys are all text)."""
    from pmdraft.render.structured import _compact, json_around_indented

    assert json_around_indented(_compact()(record)) == json.dumps(
        record, indent=2, ensure_ascii=False
    )


@settings(deadline=None)
@given(count=st.integers(min_value=0, max_value=9), size=st.integers(min_value=1, max_value=4))
def test_the_json_events_written_piece_by_piece_are_the_whole_array(count: int, size: int) -> None:
    """The JSON draft's child writes the events array in pieces of ``size`` events: joined,
    they are exactly the array's text, with none, one, a piece's worth or more events, and the
    draft reads back every event once, in order, with its in-scope flag."""
    from pmdraft.render.structured import event_heads, json_event_pieces, json_events

    at = datetime(2024, 1, 15, 14, tzinfo=UTC)
    events = [
        Event(at + timedelta(seconds=i), "deploys", "deploy.succeeded", f"d{i}", f'v{i} "ü"')
        for i in range(count)
    ]
    flags = [i % 2 == 0 for i in range(count)]
    text = "".join(json_event_pieces(events, flags, size))
    assert text == json_events(events, flags)
    # Heads made earlier (while other sources were read) for some events: the same text.
    some = events[::3]
    known = dict(zip(map(id, some), event_heads(some), strict=True))
    assert "".join(json_event_pieces(events, flags, size, known)) == text
    assert [(e["ref"], e["in_scope"]) for e in json.loads(text)] == [
        (f"d{i}", i % 2 == 0) for i in range(count)
    ]
