"""``pmdraft doctor``: is each configured source reachable with the access a draft needs?

One cheap read per source: CloudWatch ``DescribeAlarms`` (``MaxRecords=1``) in each region,
PagerDuty's token and ``GET /incidents?limit=1``, each deploy log opened and its first line
read. Every check becomes a :class:`Check`, pass or fail, with what to do next; nothing is
printed here, and a token is never part of a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .sources import registry
from .config import Config, load_config
from .errors import PmdraftError

OK, FAIL, OFF = "ok", "FAIL", "off"
"""Check statuses: it works; it needs fixing; the source is not configured (not an error)."""

AWS_CREDENTIAL_CODES = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidSignatureException",
}


@dataclass(frozen=True)
class Check:
    """One line of the doctor's table: what was checked, its status, and the detail or the fix."""

    name: str
    status: str
    detail: str

    @property
    def failed(self) -> bool:
        return self.status == FAIL


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _cloudwatch_error(region: str, exc: Exception, endpoint: str) -> str:
    code = (
        getattr(exc, "response", {}).get("Error", {}).get("Code")
        if hasattr(exc, "response")
        else None
    )
    kind = type(exc).__name__
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        return (
            f"DescribeAlarms in {region} was denied ({code}); grant this identity "
            "cloudwatch:DescribeAlarms and cloudwatch:DescribeAlarmHistory"
        )
    if code in AWS_CREDENTIAL_CODES:
        return (
            f"DescribeAlarms in {region} refused the AWS credentials ({code}); check AWS_PROFILE, "
            "`profile` in [cloudwatch], or the role, and that the keys are current"
        )
    if kind in ("NoCredentialsError", "PartialCredentialsError"):
        return (
            "no AWS credentials found; set AWS_PROFILE or `profile` in [cloudwatch], export "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with a role"
        )
    if kind in (
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
    ):
        return f"could not reach CloudWatch in {region}{endpoint}: {_short(exc)}; check the region, endpoint_url and network"
    return f"DescribeAlarms in {region} failed: {code or kind}: {_short(exc)}"


def check_cloudwatch(config: Config, environ: Mapping[str, str]) -> list[Check]:
    """``DescribeAlarms`` with ``MaxRecords=1`` in each configured region, with the draft's own clients."""
    cfg = config.cloudwatch
    if cfg is None:
        return [
            Check(
                "cloudwatch",
                OFF,
                "not configured: add a [cloudwatch] section to read alarm history",
            )
        ]
    endpoint = f" at {cfg.endpoint_url}" if cfg.endpoint_url else ""
    try:
        [collector] = registry.build("cloudwatch", config, environ)
    except Exception as exc:
        hint = (
            "; check `profile` in [cloudwatch] and ~/.aws/config"
            if "profile" in str(exc).lower()
            else ""
        )
        return [
            Check(
                "cloudwatch", FAIL, f"could not set up the CloudWatch client: {_short(exc)}{hint}"
            )
        ]
    checks = []
    try:
        from .sources._aws import where

        for target in list(getattr(collector, "targets", {})):
            region = where(target)
            try:
                alarms = collector.client(target).describe_alarms(MaxRecords=1)  # type: ignore[attr-defined]
            except Exception as exc:
                checks.append(
                    Check(f"cloudwatch {region}", FAIL, _cloudwatch_error(region, exc, endpoint))
                )
                continue
            seen = (
                "at least one alarm"
                if alarms.get("MetricAlarms") or alarms.get("CompositeAlarms")
                else "no alarms yet"
            )
            checks.append(
                Check(f"cloudwatch {region}", OK, f"DescribeAlarms answered ({seen}){endpoint}")
            )
    finally:
        collector.close()  # type: ignore[attr-defined]
    return checks


UNAUTHORIZED = (
    "GET /incidents was refused (401 Unauthorized): the token is invalid or deactivated, or "
    "base_url is the wrong service region (EU accounts use https://api.eu.pagerduty.com)"
)


def _pagerduty_failure(exc: Exception, base_url: str, ca_bundle: str) -> str:
    status = getattr(getattr(exc, "response", None), "status_code", None) or getattr(
        exc, "status", None
    )
    if status == 401:
        return UNAUTHORIZED
    text = _short(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text.lower():
        where = f" (ca_bundle = {ca_bundle})" if ca_bundle else ""
        return (
            f"the TLS certificate of {base_url} was not trusted{where}; behind a TLS-inspecting proxy, "
            "set ca_bundle in [pagerduty] to its CA (PEM)"
        )
    if status:
        return f"GET /incidents failed: HTTP {status}: {text}"
    return (
        f"could not reach {base_url}: {type(exc).__name__}: {text}; check base_url and the network"
    )


def check_pagerduty(config: Config, environ: Mapping[str, str]) -> list[Check]:
    """The token is set and ``GET /incidents?limit=1`` answers 200, with the draft's own client."""
    cfg = config.pagerduty
    if cfg is None:
        return [
            Check("pagerduty", OFF, "not configured: add a [pagerduty] section to read incidents")
        ]
    if not environ.get(cfg.token_env, "").strip():
        return [
            Check(
                "pagerduty",
                FAIL,
                f"${cfg.token_env} is not set; export {cfg.token_env}=<your REST API "
                "token> (a read-only key is enough)",
            )
        ]
    try:
        [collector] = registry.build("pagerduty", config, environ)
    except PmdraftError as exc:
        return [Check("pagerduty", FAIL, str(exc))]
    client: Any = collector.client  # type: ignore[attr-defined]
    try:
        response = client.get("/incidents", params={"limit": 1})
    except Exception as exc:
        return [Check("pagerduty", FAIL, _pagerduty_failure(exc, cfg.base_url, cfg.ca_bundle))]
    finally:
        collector.close()  # type: ignore[attr-defined]
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
        body = " ".join(response.text[:200].split())
        return [
            Check("pagerduty", FAIL, f"GET /incidents answered HTTP {response.status_code}: {body}")
        ]
    return [
        Check(
            "pagerduty",
            OK,
            f"GET /incidents answered 200 at {cfg.base_url}; token from ${cfg.token_env}",
        )
    ]


def check_deploys(config: Config) -> list[Check]:
    """Each deploy log exists and its first line can be read."""
    if not config.deploys:
        return [Check("deploys", OFF, "not configured: add a [[deploys]] table per deploy log")]
    checks = []
    for d in config.deploys:
        if d.type != "file":
            checks.append(
                Check(
                    f"deploys {d.type}",
                    OFF,
                    f'type = "{d.type}" is configured but not checked by '
                    "doctor yet; a draft names it under Data gaps if it fails",
                )
            )
            continue
        path = config.resolve(d.path)  # type: ignore[union-attr]
        name = f"deploys {d.path}"
        try:
            with path.open(encoding="utf-8-sig") as handle:
                handle.readline()
        except FileNotFoundError:
            checks.append(
                Check(
                    name,
                    FAIL,
                    f"{path} does not exist; fix `path` in [[deploys]] "
                    "(relative paths are taken from the config file's folder)",
                )
            )
        except IsADirectoryError:
            checks.append(
                Check(name, FAIL, f"{path} is a folder; `path` in [[deploys]] must name a file")
            )
        except (OSError, UnicodeDecodeError) as exc:
            checks.append(
                Check(
                    name,
                    FAIL,
                    f"{path} could not be read: {_short(exc)}; check its permissions "
                    "and that it is UTF-8 text",
                )
            )
        else:
            checks.append(Check(name, OK, f"{path} is readable"))
    return checks


def run_checks(config_path: Path, environ: Mapping[str, str]) -> list[Check]:
    """The config, then every registered source: one cheap read each."""
    try:
        config = load_config(config_path)
    except PmdraftError as exc:
        return [Check("config", FAIL, str(exc))]
    checks = [Check("config", OK, str(config_path))]
    checks += [Check("config", FAIL, w) for w in getattr(config, "warnings", ())]
    per_source = {
        "cloudwatch": lambda: check_cloudwatch(config, environ),
        "pagerduty": lambda: check_pagerduty(config, environ),
        "deploys": lambda: check_deploys(config),
    }
    for name in registry.names:
        check = per_source.get(name)
        checks += (
            check()
            if check
            else [Check(name, FAIL, "pmdraft doctor has no check for this source yet")]
        )
    return checks
