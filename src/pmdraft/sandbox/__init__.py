"""Local stand-ins for the demo and the tests: moto's server for AWS, an HTTPS PagerDuty.

:class:`Sandbox` starts both on loopback; :mod:`.scenario` seeds the demo incident.
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from typing import Any

from .aws import MotoSandbox

SANDBOX_TOKEN_ENV = "PMDRAFT_SANDBOX_TOKEN"
SANDBOX_SLACK_TOKEN_ENV = "PMDRAFT_SANDBOX_SLACK_TOKEN"


class Sandbox:
    """moto's server and the PagerDuty stand-in, both on 127.0.0.1, for one ``with`` block."""

    def __init__(self) -> None:
        from .pagerduty import PagerDutyStandIn
        from .slack import SlackStandIn

        self.token = secrets.token_hex(16)
        self.slack_token = "xoxb-" + secrets.token_hex(12)
        self.moto = MotoSandbox()
        self.pagerduty = PagerDutyStandIn(self.token)
        self.slack = SlackStandIn(self.slack_token)
        self._tmp = tempfile.TemporaryDirectory(prefix="pmdraft-sandbox-")
        self.workdir = Path(self._tmp.name)

    @property
    def environ(self) -> dict[str, str]:
        """The environment a run against the sandbox needs (the token under its own name)."""
        return {SANDBOX_TOKEN_ENV: self.token, SANDBOX_SLACK_TOKEN_ENV: self.slack_token}

    def __enter__(self) -> Sandbox:
        self.moto.start()
        try:
            self.pagerduty.start()
            self.slack.__enter__()
        except BaseException:
            self.pagerduty.stop()
            self.moto.stop()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.slack.__exit__()
            self.pagerduty.stop()
        finally:
            self.moto.stop()
            self._tmp.cleanup()

    def seed_demo(self) -> Path:
        """Seed the demo incident; return the path of a config file that points at the sandbox."""
        from .scenario import seed, seed_slack

        config = seed(self.moto, self.pagerduty, self.workdir, token_env=SANDBOX_TOKEN_ENV)
        seed_slack(self.slack, config, token_env=SANDBOX_SLACK_TOKEN_ENV)
        return config
