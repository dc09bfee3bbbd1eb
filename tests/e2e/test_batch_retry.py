"""A batch draft written while a source was down is completed by a later run without a stale word.

The first run drafts while PagerDuty's log entries fail: the draft is partial, says the data holds
no alarm or incident, and gives no duration. The next run, with PagerDuty back, refreshes it in
place; every sentence pmdraft computed must then agree with the complete data.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pmdraft.living import blocks

from ..test_batch import NOW, config_for, make_batch, seed

STALE = (
    "holds no alarm or incident",
    "Duration: unknown",
    "Data gaps",
    "unknown from the data",
    "| failed |",
)


def test_a_retried_partial_draft_keeps_no_stale_sentence(pd, tmp_path: Path) -> None:
    """After PagerDuty comes back, the retried draft states the durations and none of the partial draft's sentences."""
    seed(pd, 1)
    config = config_for(pd, tmp_path)
    pd.inject("/log_entries", 503, times=3, headers={"Retry-After": "0"})
    first = make_batch(config).run(NOW)
    assert [(o.number, o.status) for o in first.outcomes] == [(101, "partial")]
    path = tmp_path / "drafts" / "101-checkout-errors-1.md"
    partial = path.read_text(encoding="utf-8")
    for sentence in STALE[:3]:
        assert sentence in partial
    edited = partial.replace(
        "_To be written: the technical explanation of what failed and why._",
        "The checkout pool leaked (Ana).",
    )
    path.write_text(edited, encoding="utf-8")

    second = make_batch(config).run(NOW + timedelta(hours=1))
    assert [(o.number, o.status, o.kept) for o in second.outcomes] == [(101, "drafted", ())]
    complete = path.read_text(encoding="utf-8")
    for sentence in STALE:
        assert sentence not in complete, f"stale {sentence!r} left in the retried draft"
    for fact in (
        "**Severity:** P1, high urgency (from PagerDuty)",
        "the incident lasted 55 minutes (",
        "- Duration: 55 minutes (",
        "| time_to_resolve | 55 minutes (3300 s) |",
        "PagerDuty #101 acknowledged by Ana _[acknowledged]_",
        "2. Quick response: acknowledged 3 minutes after the page",
        # One request: the run's log-entry stream (the incidents listing is the scoping's).
        "| PagerDuty incidents and log entries | ok | 3 | 1 |  |",
    ):
        assert fact in complete
    assert outside_blocks(complete) == outside_blocks(edited), "the person's words stay as written"
    assert "The checkout pool leaked (Ana)." in complete


def outside_blocks(text: str) -> str:
    """``text`` without pmdraft's blocks (markers and content): what a person owns."""
    out, pos = [], 0
    for b in blocks(text):
        out.append(text[pos : b.start])
        pos = text.index("-->", b.content_end) + len("-->")
    return "".join(out) + text[pos:]
