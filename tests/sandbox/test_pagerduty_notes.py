"""The stand-in's one write, `POST /incidents/{id}/notes`, as PagerDuty documents it."""

from __future__ import annotations

import json

from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from pmdraft.sandbox.pagerduty import incident

from .test_pagerduty_standin import OPENAPI_PATH, T0, TOKEN, raw, relax, standin  # noqa: F401


def test_a_posted_note_is_listed_and_matches_the_official_openapi(standin, raw) -> None:  # noqa: F811
    """POST with a From header answers the new note, and GET /notes lists it first; without From it is 400."""
    standin.add_incidents(
        [
            incident(
                id="PRES001",
                number=1,
                title="Checkout errors",
                created_at=T0,
                service_id="PSVC001",
                service_name="Checkout",
                resolved_at=T0,
            )
        ]
    )
    body = {
        "note": {"content": "Postmortem draft: https://wiki.example.com/pm/1-checkout-errors.md"}
    }
    refused = raw.post("/incidents/PRES001/notes", json=body)
    assert refused.status_code == 400 and "From" in refused.json()["error"]["errors"][0]
    answer = raw.post("/incidents/1/notes", json=body, headers={"From": "bot@example.com"})
    assert answer.status_code == 200
    note = answer.json()["note"]
    assert (
        note["content"] == body["note"]["content"] and note["user"]["summary"] == "bot@example.com"
    )
    listed = raw.get("/incidents/PRES001/notes").json()["notes"]
    assert [n["id"] for n in listed] == [note["id"]]
    assert (
        raw.post(
            "/incidents/PNOPE/notes", json=body, headers={"From": "bot@example.com"}
        ).status_code
        == 404
    )
    assert [r.method for r in standin.requests] == ["POST", "POST", "GET", "POST"]
    api = OpenAPI.from_dict(
        relax(json.loads(OPENAPI_PATH.read_text())), config=Config(spec_validator_cls=None)
    )
    api.validate_response(
        MockRequest(
            "https://api.pagerduty.com",
            "post",
            "/incidents/1/notes",
            path_pattern="/incidents/{id}/notes",
        ),
        MockResponse(answer.content, status_code=200, content_type=answer.headers["Content-Type"]),
    )
