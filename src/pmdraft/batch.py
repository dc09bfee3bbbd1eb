"""`pmdraft batch`: draft every qualifying PagerDuty incident resolved since the last run, once.

One run:

1. The lower bound is ``--since``, else the state's high-water mark minus ``overlap_minutes``,
   else (first run) now minus ``lookback_hours``.
2. PagerDuty lists the resolved incidents created up to ``created_within_days`` before that
   bound, filtered by service, team and urgency (server side) and priority (here); those
   resolved since the bound are the candidates, with the incidents the state still owes a
   draft (a source was missing, or a run crashed while drafting) retried up to ``max_attempts``.
3. The run's reads are made once for every candidate to draft (:mod:`pmdraft.batch_reads`:
   one listing or stream per merged span, never one per incident).
4. Each candidate is claimed in the state (so two runners never draft one incident), drafted
   with the incident-driven window (as ``pmdraft draft --incident``, cut from those reads),
   merged into its existing draft if there is one (see :mod:`pmdraft.living`), written whole,
   and recorded.
5. When every candidate was handled, the run is logged and the high-water mark moves to the
   run's start, in one transaction. A run killed earlier leaves the mark where it was, so the
   next run lists the same incidents again and drafts only those not yet recorded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .batch_find import Candidate, find_resolved, resolved_at
from .batch_reads import RunReads, open_reads
from .batch_result import (
    ALREADY_DRAFTED,
    DRAFTED,
    SKIPPED,
    WOULD_DRAFT,
    BatchResult,
    Outcome,
)
from .config import Config
from .draft import make_draft
from .errors import InputError, PmdraftError
from .graphs_beside import with_graphs
from .living import merge
from .model import IncidentRef
from .output import DirectorySink, S3Sink, Sink, draft_name, parse_s3_url, proposal_name
from .scope import scope_to_incidents
from .sources.base import RequestCeilingReached, request_ceiling
from .sources.cloudwatch import CloudWatchConfig
from .sources.pagerduty import PagerDutyConfig
from .sources.pagerduty import open_api as pagerduty_api
from .state import COMPLETE, FAILED, PARTIAL, IncidentRecord, SqliteState, State
from .state_dynamo import DynamoState


def open_sink(
    config: Config, output: str | None = None, environ: Mapping[str, str] | None = None
) -> Sink:
    """The directory, S3 prefix or Confluence space drafts go to: ``output`` (a directory
    relative to the working directory), else ``[batch] output`` (relative to the config file).
    ``confluence://SPACE/Parent Title`` publishes each draft as a page, with the credentials in
    ``environ`` (``CONFLUENCE_USER``, ``CONFLUENCE_API_TOKEN``)."""
    target = output or config.batch.output
    if target.startswith("confluence://"):
        from .publish import confluence_sink

        return confluence_sink(target, config.confluence.base_url, environ or {})
    if target.startswith("s3://"):
        bucket, prefix = parse_s3_url(target)
        return S3Sink(_aws_client(config, "s3"), bucket, prefix)
    return DirectorySink(Path(output) if output else config.resolve(target))


def open_state(config: Config, *, read_only: bool = False) -> State:
    """The state store ``[batch] state`` names; ``read_only`` (``--dry-run``) creates no file."""
    if config.batch.state == "dynamodb":
        return DynamoState(_aws_client(config, "dynamodb"), config.batch.table)
    return SqliteState(config.resolve(config.batch.state_path), read_only=read_only)


def _aws_client(config: Config, service: str) -> Any:
    import boto3

    b = config.batch
    return boto3.session.Session().client(
        service, region_name=b.aws_region or None, endpoint_url=b.aws_endpoint_url or None
    )


class Batch:
    """One batch run's collaborators; :meth:`run` does the work. Dependencies come in, nothing is
    global.

    ``after_incident`` is called with each outcome once it is recorded (tests use it to kill a
    run after the Nth incident); ``render`` turns a draft into Markdown.
    """

    def __init__(
        self,
        config: Config,
        environ: Mapping[str, str],
        *,
        state: State,
        sink: Sink,
        render: Callable[[Any], str],
        runner: str = "",
        on_outcome: Callable[[Outcome], None] | None = None,
        after_incident: Callable[[Outcome], None] | None = None,
        share_reads: bool = True,
    ) -> None:
        if config.get(PagerDutyConfig) is None:
            raise InputError(
                "pmdraft batch needs PagerDuty: add a [pagerduty] section to the config "
                "(see config.example.toml)"
            )
        self.config = config
        self.environ = environ
        self.state = state
        self.sink = sink
        self.render = render
        self.runner = runner or uuid.uuid4().hex
        """This run's name in the state's claims."""
        self.on_outcome = on_outcome
        self.after_incident = after_incident
        self.share_reads = share_reads
        """Read once for the whole run (:mod:`pmdraft.batch_reads`); False: each draft alone."""
        self._listed: dict[str, dict[str, Any]] = {}
        self._reads: RunReads | None = None

    def candidates(self, now: datetime, since: datetime | None) -> tuple[datetime, list[Candidate]]:
        """The lower bound of this run's resolutions, and the incidents to consider, in order."""
        b = self.config.batch
        mark = self.state.high_water_mark()
        if since is not None:
            lower = since
        elif mark is not None:
            lower = mark - timedelta(minutes=b.overlap_minutes)
        else:
            lower = now - timedelta(hours=b.lookback_hours)
        collector = self._pagerduty()
        try:
            listed = find_resolved(collector, self.config, lower, now)
        except RequestCeilingReached as exc:
            raise InputError(
                f"listing the PagerDuty incidents resolved since {lower.isoformat()} "
                f"{exc.message}; use a later --since"
            ) from exc
        finally:
            collector.close()
        self._listed = {i["id"]: i for i in listed}
        found = [
            Candidate(
                i["id"], i.get("incident_number"), str(i.get("title") or ""), resolved_at(i), "new"
            )
            for i in listed
        ]
        seen = {c.incident_id for c in found}
        retries = [
            Candidate(r.incident_id, r.number, r.title, None, "retry")
            for r in self.state.retryable(b.max_attempts)
            if r.incident_id not in seen
        ]
        return lower, retries + found

    def run(
        self,
        now: datetime,
        *,
        since: datetime | None = None,
        dry_run: bool = False,
        annotate: bool = False,
    ) -> BatchResult:
        """Draft every candidate not yet drafted; move the high-water mark if the run gets to the
        end."""
        now = now.replace(microsecond=0)
        if annotate and not self.config.batch.annotate_from:
            raise InputError(
                "--annotate needs the PagerDuty user the notes are added as: set "
                '[batch] annotate_from = "pmdraft-bot@example.com"'
            )
        lower, candidates = self.candidates(now, since)
        result = BatchResult(lower, now, dry_run=dry_run)
        self._reads = None if dry_run else self._open_reads(candidates, now)
        try:
            for candidate in candidates:
                outcome = self._one(
                    candidate, now, dry_run=dry_run, annotate=annotate, result=result
                )
                result.outcomes.append(outcome)
                if self.on_outcome is not None:
                    self.on_outcome(outcome)
                if self.after_incident is not None:
                    self.after_incident(outcome)
        finally:
            if self._reads is not None:
                self._reads.close()
                self._reads = None
        if not dry_run:
            previous = self.state.high_water_mark()
            moves = previous is None or lower <= previous
            self.state.finish_run(self.runner, now, now if moves else None, result.counts)
        return result

    def _open_reads(self, candidates: list[Candidate], now: datetime) -> RunReads | None:
        """The run's shared reads, planned for the candidates that will be drafted."""
        if not self.share_reads:
            return None
        b = self.config.batch
        wanted = []
        for c in candidates:
            rec = self.state.get(c.incident_id)
            if rec is None or (rec.status != COMPLETE and rec.attempts < b.max_attempts):
                wanted.append(c.incident_id)
        if not wanted:
            return None
        records = {i: self._listed[i] for i in wanted if i in self._listed}
        missing = [i for i in wanted if i not in self._listed]
        return open_reads(self.config, self.environ, records, missing, now)

    def _one(
        self, c: Candidate, now: datetime, *, dry_run: bool, annotate: bool, result: BatchResult
    ) -> Outcome:
        """Skip, claim and draft one candidate; a failure is recorded and becomes its outcome."""
        b = self.config.batch
        rec = self.state.get(c.incident_id)
        base: dict[str, Any] = {
            "incident_id": c.incident_id,
            "number": c.number if c.number is not None else (rec.number if rec else None),
            "title": c.title or (rec.title if rec else ""),
        }
        if rec is not None and rec.status == COMPLETE:
            annotated = False
            if annotate and not rec.annotated_at and not dry_run:
                annotated = self._annotate(rec, now, result)
            return Outcome(
                **base,
                status=SKIPPED,
                reason=ALREADY_DRAFTED,
                location=rec.location,
                attempts=rec.attempts,
                annotated=annotated,
            )
        attempts = rec.attempts if rec else 0
        if attempts >= b.max_attempts:
            return Outcome(
                **base,
                status=SKIPPED,
                reason=f"gave up after {attempts} attempts",
                location=rec.location if rec else "",
                attempts=attempts,
            )
        if dry_run:
            return Outcome(**base, status=WOULD_DRAFT, reason=c.reason, attempts=attempts)
        until = now + timedelta(minutes=b.claim_minutes)
        if not self.state.claim(c.incident_id, self.runner, now, until, b.max_attempts):
            return Outcome(
                **base, status=SKIPPED, reason="claimed by another runner", attempts=attempts
            )
        try:
            if rec is not None and rec.attempts:
                c = dataclasses.replace(c, reason="retry")
            return self._draft(c, rec, now, annotate=annotate, result=result)
        except BaseException as exc:
            if not isinstance(exc, PmdraftError):
                # Interrupted (SIGINT, SIGTERM) or crashed: nothing was recorded, so give the
                # incident back at once rather than leaving it claimed for claim_minutes.
                self.state.release(c.incident_id, self.runner)
                raise

            failed = dataclasses.replace(
                rec or IncidentRecord(c.incident_id),
                number=base["number"],
                title=base["title"] or "",
                status=FAILED,
                attempts=attempts + 1,
                error=str(exc),
            )
            self.state.record(failed, self.runner)
            return Outcome(**base, status=FAILED, attempts=attempts + 1, error=str(exc))

    def _draft(
        self,
        c: Candidate,
        rec: IncidentRecord | None,
        now: datetime,
        *,
        annotate: bool,
        result: BatchResult,
    ) -> Outcome:
        """Draft one claimed incident, write it and record it in the state."""
        reads = self._reads if self._reads and c.incident_id in self._reads.windows else None
        scoped, window = scope_to_incidents(
            self.config,
            self.environ,
            [c.incident_id],
            now=now,
            calls=reads.calls() if reads else None,
        )
        draft = make_draft(scoped, window, self.environ, shared=reads.shared if reads else None)
        first = draft.incidents[0].to_record() if draft.incidents else {}
        number = (
            c.number
            if c.number is not None
            else (rec.number if rec else None) or first.get("number")
        )
        title = c.title or (rec.title if rec else "") or str(first.get("title") or "")
        name = rec.name if rec and rec.name else draft_name(number, title, c.incident_id)
        if not draft.incidents:  # its log entries are missing: the title still comes from it
            draft = dataclasses.replace(
                draft, incidents=(IncidentRef(id=c.incident_id, number=number, title=title),)
            )
        draft, text, proposal, kept = self._write(draft, name)
        status = PARTIAL if draft.gaps else COMPLETE
        attempts = (rec.attempts if rec else 0) + 1
        new = IncidentRecord(
            incident_id=c.incident_id,
            number=number if isinstance(number, int) else None,
            title=title,
            status=status,
            location=self.sink.location(name),
            name=name,
            checksum=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            sources=json.dumps({r.name: r.status for r in draft.reports}, sort_keys=True),
            attempts=attempts,
            error="; ".join(f"{r.name}: {r.error}" for r in draft.gaps),
            drafted_at=now.isoformat(),
            annotated_at=rec.annotated_at if rec else "",
        )
        self.state.record(new, self.runner)
        annotated = annotate and not new.annotated_at and self._annotate(new, now, result)
        return Outcome(
            new.incident_id,
            new.number,
            title,
            DRAFTED if status == COMPLETE else PARTIAL,
            reason=c.reason,
            location=new.location,
            attempts=attempts,
            error=new.error,
            proposal=proposal,
            kept=kept,
            annotated=annotated,
        )

    def _write(self, draft: Any, name: str) -> tuple[Any, str, str, tuple[str, ...]]:
        """Write ``draft`` as ``name`` with its graphs, merged into the draft already there.

        Returns the draft with its graphs, the text written, where the new version was proposed
        (empty unless a block edited by hand was kept) and the kept blocks.
        """
        cw = self.config.get(CloudWatchConfig)
        drawn = with_graphs(draft, name, max_graphs=cw.max_graphs if cw is not None else None)
        for relative, png in drawn.images.items():
            self.sink.write_asset(relative, png)
        fresh = self.render(drawn.draft)
        existing = self.sink.read(name)
        text, proposal, kept = fresh, "", tuple[str, ...]()
        if existing is not None:
            merged = merge(existing, fresh)
            text, kept = merged.text, tuple(merged.kept)
            if merged.conflicts:
                self.sink.write(proposal_name(name), merged.proposal())
                proposal = self.sink.location(proposal_name(name))
        if text != existing:
            self.sink.write(name, text)
        return drawn.draft, text, proposal, kept

    def _pagerduty(self) -> Any:
        """A PagerDuty collector (its client) for listing incidents and adding notes; close it after
        use."""
        cfg = self.config.get(PagerDutyConfig)
        assert cfg is not None  # checked in __init__
        context = self.config.context(self.environ)
        with request_ceiling(context.max_requests):
            return pagerduty_api(cfg, context)

    def link(self, rec: IncidentRecord) -> str:
        """What the PagerDuty note points at: ``link_base`` + file name, else the draft's
        location."""
        base = self.config.batch.link_base
        return base + rec.name if base else rec.location

    def _annotate(self, rec: IncidentRecord, now: datetime, result: BatchResult) -> bool:
        """Add the note once: skipped if an earlier run added it but crashed before recording so."""
        link = self.link(rec)
        collector = self._pagerduty()
        try:
            if not any(
                link in str(n.get("content") or "") for n in collector.notes(rec.incident_id)
            ):
                collector.add_note(
                    rec.incident_id,
                    f"Postmortem draft by pmdraft: {link}",
                    self.config.batch.annotate_from,
                )
        except PmdraftError as exc:
            result.annotate_errors.append(f"incident {rec.number or rec.incident_id}: {exc}")
            return False
        finally:
            collector.close()
        self.state.mark_annotated(rec.incident_id, now)
        return True
