"""Slack as a source: an incident channel's messages as ``chat.message`` events.

:func:`make_collector` builds the collector from a :class:`SlackConfig` and the environment;
the CLI and the registry need nothing else from here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...errors import CollectorError, InputError
from ..base import Collector
from ..registry import FAIL, OK, BuildContext, Check, Source
from .config import SlackConfig, describe_slack, read_slack
from .markup import plain_text, render

# slack_sdk takes ~70 ms to import: only a run that reads Slack imports it (.client), not every
# run whose config is parsed (the registry imports every source package).
if TYPE_CHECKING:
    from .client import SlackClient
    from .collector import CHAT_MESSAGE, SlackCollector

_LAZY = {"SlackClient": ".client", "SlackCollector": ".collector", "CHAT_MESSAGE": ".collector"}


def __getattr__(name: str) -> Any:
    """``SlackClient``, ``SlackCollector`` and ``CHAT_MESSAGE``, imported when first asked for."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_collector(
    config: SlackConfig,
    environ: Mapping[str, str],
    *,
    incident_numbers: Sequence[int | str] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> SlackCollector:
    """The Slack collector for ``config``, its token read from ``environ[config.token_env]``.

    A missing token is a CollectorError naming the variable (the token is never shown).
    """
    from .client import SOURCE, SlackClient
    from .collector import SlackCollector

    token = environ.get(config.token_env, "").strip()
    if not token:
        raise CollectorError(
            SOURCE,
            f"{config.token_env} is not set: export the Slack app's bot token (xoxb-...) in it",
        )
    client = SlackClient(
        token,
        token_env=config.token_env,
        base_url=config.base_url,
        page_size=config.page_size,
        max_retries=config.max_retries,
        max_retry_wait=config.max_retry_wait,
        sleep=sleep,
    )
    return SlackCollector(config, client, incident_numbers=incident_numbers)


def build(cfg: SlackConfig, context: BuildContext) -> list[Collector]:
    """One collector over the configured channels and those of the incidents in scope."""
    if not context.environ.get(cfg.token_env, "").strip():
        raise InputError(
            f"[slack] is configured but the environment variable {cfg.token_env} is not set; "
            f"export {cfg.token_env}=<the Slack app's bot token, xoxb-...>, "
            "or remove [slack] from the config"
        )
    return [make_collector(cfg, context.environ, incident_numbers=context.incident_numbers)]


def check(cfg: SlackConfig, context: BuildContext) -> list[Check]:
    """The token works (``auth.test``) and each configured channel can be read."""
    if not context.environ.get(cfg.token_env, "").strip():
        return [
            Check(
                "slack",
                FAIL,
                f"${cfg.token_env} is not set; export {cfg.token_env}=<the Slack app's bot "
                "token, xoxb-...>",
            )
        ]
    collector = make_collector(cfg, context.environ)
    client = collector.client
    checks: list[Check] = []
    try:
        team = client.auth_test().get("url") or "the workspace"
        checks.append(Check("slack", OK, f"auth.test answered for {team}"))
        for channel in cfg.channels:
            name = client.channel_name(channel)
            client.call("conversations.history", channel, channel=channel, limit=1)
            checks.append(Check(f"slack {channel}", OK, f"#{name} can be read"))
    except CollectorError as exc:
        checks.append(Check("slack", FAIL, exc.message))
    finally:
        collector.close()
    return checks


SOURCES = (
    Source(
        name="slack",
        title="the incident's Slack channel",
        settings=SlackConfig,
        read=read_slack,
        build=build,
        describe=describe_slack,
        check=check,
        table="slack",
        env=("SLACK_BOT_TOKEN",),
    ),
)

__all__ = [
    "CHAT_MESSAGE",
    "SOURCES",
    "SlackClient",
    "SlackCollector",
    "SlackConfig",
    "make_collector",
    "plain_text",
    "render",
]
