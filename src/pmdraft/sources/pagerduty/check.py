"""``pmdraft doctor`` for PagerDuty: the token is set and ``GET /incidents?limit=1`` answers (and,
with change events on, ``GET /change_events?limit=1`` on a line of its own), with
the draft's own client; a token is never part of a message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import PmdraftError
from .._http import quote
from ..registry import FAIL, OK, BuildContext, Check

if TYPE_CHECKING:
    from .config import PagerDutyConfig


MESSAGE_LIMIT = 1000
"""Characters of pmdraft's own error text kept in a doctor line (scrubbed all the same)."""

UNAUTHORIZED = (
    "GET /incidents was refused (401 Unauthorized): the token is invalid or deactivated, or "
    "base_url is the wrong service region (EU accounts use https://api.eu.pagerduty.com)"
)


def _pagerduty_failure(
    exc: Exception, base_url: str, ca_bundle: str, token: str, path: str = "/incidents"
) -> str:
    status = getattr(getattr(exc, "response", None), "status_code", None) or getattr(
        exc, "status", None
    )
    if status == 401:
        return UNAUTHORIZED
    text = quote(str(exc) or type(exc).__name__, token, one_line=True)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text.lower():
        where = f" (ca_bundle = {ca_bundle})" if ca_bundle else ""
        return (
            f"the TLS certificate of {base_url} was not trusted{where}; behind a TLS-inspecting "
            "proxy, "
            "set ca_bundle in [pagerduty] to its CA (PEM)"
        )
    if status:
        return f"GET {path} failed: HTTP {status}: {text}"
    return (
        f"could not reach {base_url}: {type(exc).__name__}: {text}; check base_url and the network"
    )


def check_pagerduty(cfg: PagerDutyConfig, context: BuildContext) -> list[Check]:
    """The token is set and ``GET /incidents?limit=1`` answers 200, with the draft's own client."""
    from . import open_api

    token = context.environ.get(cfg.token_env, "").strip()
    if not token:
        return [
            Check(
                "pagerduty",
                FAIL,
                f"${cfg.token_env} is not set; export {cfg.token_env}=<your REST API "
                "token> (a read-only key is enough)",
            )
        ]
    try:
        calls = open_api(cfg, context)
    except PmdraftError as exc:
        return [Check("pagerduty", FAIL, quote(str(exc), token, limit=MESSAGE_LIMIT))]
    client: Any = calls.client
    try:
        response = client.get("/incidents", params={"limit": 1})
    except Exception as exc:
        return [
            Check("pagerduty", FAIL, _pagerduty_failure(exc, cfg.base_url, cfg.ca_bundle, token))
        ]
    finally:
        calls.close()
    if response.status_code == 401:
        return [Check("pagerduty", FAIL, UNAUTHORIZED)]
    if response.status_code == 403:
        return [
            Check(
                "pagerduty",
                FAIL,
                "GET /incidents was refused (403 Forbidden): the token cannot read "
                "incidents; use a REST API key of a user who can",
            )
        ]
    if not response.is_success:
        body = quote(response.text, token, one_line=True)
        return [
            Check("pagerduty", FAIL, f"GET /incidents answered HTTP {response.status_code}: {body}")
        ]
    shape = _listing_problem(response)
    if shape:
        return [Check("pagerduty", FAIL, f"GET /incidents answered 200, but {shape}")]
    checks = [
        Check(
            "pagerduty",
            OK,
            f"GET /incidents answered 200 at {cfg.base_url}; token from ${cfg.token_env}",
        )
    ]
    if cfg.change_events:
        checks.append(_check_changes(cfg, context, token))
    return checks


def _check_changes(cfg: PagerDutyConfig, context: BuildContext, token: str) -> Check:
    """The change events' own line: ``GET /change_events?limit=1`` answers a listing."""
    from . import open_api

    name = "pagerduty:change_events"
    calls = open_api(cfg, context)
    try:
        response = calls.client.get("/change_events", params={"limit": 1})
    except Exception as exc:
        failure = _pagerduty_failure(exc, cfg.base_url, cfg.ca_bundle, token, "/change_events")
        return Check(name, FAIL, failure)
    finally:
        calls.close()
    if response.status_code in (401, 403):
        return Check(
            name,
            FAIL,
            f"GET /change_events was refused ({response.status_code}): the token cannot read "
            "change events; use a key that can, or set change_events = false in [pagerduty]",
        )
    if not response.is_success:
        body = quote(response.text, token, one_line=True)
        return Check(name, FAIL, f"GET /change_events answered HTTP {response.status_code}: {body}")
    shape = _listing_problem(response, "change_events")
    if shape:
        return Check(name, FAIL, f"GET /change_events answered 200, but {shape}")
    return Check(name, OK, "GET /change_events answered 200 (change events, their own line)")


def _listing_problem(response: Any, key: str = "incidents") -> str | None:
    """Why a 200 answer to ``GET /<key>`` is not a PagerDuty listing, or ``None``."""
    try:
        body = response.json()
    except ValueError:
        return "not with JSON: is base_url the REST API (https://api.pagerduty.com)?"
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        what = key.replace("_", " ")
        return (
            f"not with a listing of {what}: is base_url the REST API (https://api.pagerduty.com)?"
        )
    return None
