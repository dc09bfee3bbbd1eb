"""Which (account, region) pairs ``[cloudwatch]`` reads, and how to reach each: profiles, roles."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from .._aws import Target, assume_role, boto_config, session
from .config import CloudWatchAccountConfig, CloudWatchConfig


def aws_targets(
    cfg: CloudWatchConfig, service: str = "cloudwatch"
) -> dict[Target, Callable[[], Any]]:
    """Each configured (account, region) pair and a function that makes its client of ``service``.

    An account with ``role_arn`` assumes the role once (STS ``AssumeRole``), when its first
    region is read; ``profile`` (the account's, else ``[cloudwatch]``'s) picks the credentials
    it starts from. Retries use ``retry_mode`` up to ``max_attempts`` attempts in all.
    """
    endpoint = cfg.endpoint_url or None
    lock = threading.Lock()
    sessions: dict[str, Any] = {}

    @functools.cache
    def config() -> Any:
        """The clients' botocore ``Config``, made with the first client: it imports much of
        botocore (about 65 ms), which a draft's CloudWatch child then does itself, after it is
        forked, rather than the parent before."""
        return boto_config(
            retry_mode=cfg.retry_mode, attempts=cfg.max_attempts, timeout=cfg.timeout_seconds
        )

    def session_for(account: CloudWatchAccountConfig, region: str) -> Any:
        # Under the lock, so an account's role is assumed once however many regions start at once.
        with lock:
            if account.name not in sessions:
                base = session(account.profile or cfg.profile)
                if account.role_arn:
                    base = assume_role(
                        base,
                        account.role_arn,
                        region=region,
                        endpoint_url=endpoint,
                        config=config(),
                    )
                sessions[account.name] = base
            return sessions[account.name]

    def maker(account: CloudWatchAccountConfig, region: str) -> Callable[[], Any]:
        def make() -> Any:
            found = session_for(account, region)
            # boto3 sessions are not thread-safe: clients are made one at a time.
            with lock:
                return found.client(
                    service, region_name=region, endpoint_url=endpoint, config=config()
                )

        return make

    accounts = cfg.accounts or (CloudWatchAccountConfig(name="", profile=cfg.profile),)
    return {
        (a.name, region): maker(a, region)
        for a in accounts
        for region in (a.regions or cfg.regions)
    }
