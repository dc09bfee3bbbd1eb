"""The PagerDuty REST API calls pmdraft makes, each with its errors translated.

:class:`PagerDutyApi` is what the collector, ``pmdraft batch`` and ``pmdraft doctor`` call:
incidents by number or id, listings read completely (:mod:`.listing`), notes, one write
(``add_note``), past incidents and change events. Every answer is a plain JSON object; turning
them into events is :mod:`.events`' job.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx2

from ...errors import CollectorError, InputError
from ...model import Window
from .._http import NetworkFailure, RetriesExhausted, status_error, translate
from .listing import OffsetPager

UNAUTHORIZED_STEP = (
    "the API token is invalid or deactivated, or base_url points at the wrong service region "
    "(EU accounts use https://api.eu.pagerduty.com)"
)
"""What a 401 means and what to check (PagerDuty's own client suggests the region too)."""


class PagerDutyApi:
    """PagerDuty's REST API v2 through a client from :func:`.client.build_client`."""

    name = "pagerduty"

    def __init__(self, client: Any, *, max_connections: int = 8) -> None:
        self.client = client
        """The ``pagerduty.RestApiV2Client``; its transport retries, budgets and counts."""
        self.pager = OffsetPager(self.get, source=self.name, max_connections=max_connections)
        """Reads listings completely; its ``remarks`` say what that took."""

    @property
    def secret(self) -> str | None:
        """The API token, only so messages can be scrubbed of it."""
        token = getattr(getattr(self.client, "auth_method", None), "secret", None)
        return token if isinstance(token, str) and token else None

    @property
    def remarks(self) -> list[str]:
        """What reading listings had to do beyond plain paging (splits, re-reads)."""
        return self.pager.remarks

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()

    def _timeout(self) -> float | None:
        timeout = getattr(self.client, "timeout", None)
        return float(timeout) if isinstance(timeout, int | float) else None

    def get(
        self, path: str, params: Mapping[str, Any], *, not_found: str | None = None
    ) -> dict[str, Any]:
        """``GET path`` as a JSON object; a failure raises ``CollectorError``.

        With ``not_found``, a 404 is the user's mistake: an ``InputError`` with that text.
        """
        import pagerduty

        what = f"GET {path}"
        try:
            response = self.client.get(path, params=dict(params))
        except (RetriesExhausted, NetworkFailure, httpx2.HTTPError) as exc:
            raise translate(
                exc, self.name, what, secret=self.secret, timeout=self._timeout()
            ) from exc
        except pagerduty.Error as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if status == 401:
                raise CollectorError(
                    self.name, f"{what} was refused (401 Unauthorized): {UNAUTHORIZED_STEP}"
                ) from exc
            raise translate(exc, self.name, what, secret=self.secret) from exc
        if response.status_code == 404 and not_found:
            raise InputError(not_found)
        if not response.is_success:
            raise status_error(
                self.name, what, response.status_code, response.text, secret=self.secret
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise CollectorError(self.name, f"{what} answered with invalid JSON") from exc
        if not isinstance(body, dict):
            raise CollectorError(
                self.name, f"{what} answered with {type(body).__name__}, not an object"
            )
        return body

    def listing(
        self, path: str, key: str, params: Mapping[str, Any], window: Window
    ) -> Iterator[dict[str, Any]]:
        """Every record of the listing ``GET path`` created in ``window``, each once."""
        return self.pager.records(path, key, params, window)

    def incident(self, ref: str) -> dict[str, Any]:
        """One incident by number or id (``GET /incidents/{ref}``); unknown: ``InputError``."""
        ref = str(ref).strip().lstrip("#")
        if not ref.isascii() or not ref.isalnum():
            raise InputError(
                f"--incident {ref!r} is not a PagerDuty incident number or id; "
                "write it like 1234 or PABC123"
            )
        body = self.get(
            f"/incidents/{ref}",
            {"time_zone": "UTC"},
            not_found=f"PagerDuty has no incident {ref} (GET /incidents/{ref} answered 404); "
            "check the incident number or id, and that the API token's account is the incident's",
        )
        inc = body.get("incident")
        if not isinstance(inc, dict) or not isinstance(inc.get("id"), str):
            raise CollectorError(self.name, f"GET /incidents/{ref} answered without an incident")
        return inc

    def incident_by_id(self, incident_id: str) -> dict[str, Any]:
        """One incident by PagerDuty's own id (as a listing or an earlier lookup gave it)."""
        path = f"/incidents/{urllib.parse.quote(incident_id, safe='')}"
        inc = self.get(path, {"time_zone": "UTC"}).get("incident")
        if not isinstance(inc, dict) or not isinstance(inc.get("id"), str):
            raise CollectorError(self.name, f"GET {path} answered without an incident")
        return inc

    def resolve_ids(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """The incidents of PagerDuty's ``ids`` (not user input), each once, in the order given."""
        found: dict[str, dict[str, Any]] = {}
        for ident in ids:
            inc = self.incident_by_id(ident)
            found.setdefault(inc["id"], inc)
        return list(found.values())

    def resolve(self, refs: Sequence[str]) -> list[dict[str, Any]]:
        """The incidents named by number or id, each once, in the order given."""
        found: dict[str, dict[str, Any]] = {}
        for ref in refs:
            inc = self.incident(ref)
            found.setdefault(inc["id"], inc)
        return list(found.values())

    def list_incidents(
        self, window: Window, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Every incident created in ``window`` matching ``params`` (``statuses[]``...)."""
        query = {"time_zone": "UTC", **(params or {})}
        return list(self.listing("/incidents", "incidents", query, window))

    def log_entries(
        self, window: Window, incident_id: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """The log entries created in ``window``: every incident's, or only ``incident_id``'s."""
        path = f"/incidents/{incident_id}/log_entries" if incident_id else "/log_entries"
        params = {"time_zone": "UTC", "is_overview": "false"}
        return self.listing(path, "log_entries", params, window)

    def change_events(self, window: Window) -> Iterator[dict[str, Any]]:
        """The change events (``GET /change_events``) in ``window``."""
        return self.listing("/change_events", "change_events", {}, window)

    def notes(self, incident_id: str) -> list[dict[str, Any]]:
        """The notes on one incident (``GET /incidents/{id}/notes``)."""
        notes = self.get(f"/incidents/{incident_id}/notes", {}).get("notes")
        return [n for n in notes if isinstance(n, dict)] if isinstance(notes, list) else []

    def add_note(self, incident_id: str, content: str, from_email: str) -> None:
        """Add a note to one incident as the user ``from_email`` (``POST .../notes``)."""
        import pagerduty

        what = f"POST /incidents/{incident_id}/notes"
        try:
            response = self.client.post(
                f"/incidents/{incident_id}/notes",
                json={"note": {"content": content}},
                headers={"From": from_email},
            )
        except (RetriesExhausted, NetworkFailure, httpx2.HTTPError, pagerduty.Error) as exc:
            raise translate(
                exc, self.name, what, secret=self.secret, timeout=self._timeout()
            ) from exc
        if not response.is_success:
            hint = (
                " (the token needs write access, and annotate_from a PagerDuty user's email)"
                if response.status_code in (400, 401, 403)
                else ""
            )
            raise status_error(
                self.name, what, response.status_code, response.text, secret=self.secret, hint=hint
            )
