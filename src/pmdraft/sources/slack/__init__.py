"""Slack as a source: an incident channel's messages as ``chat.message`` events.

:func:`make_collector` builds the collector from a :class:`SlackConfig` and the environment;
the CLI and the registry need nothing else from here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from ...errors import CollectorError
from .client import SOURCE, SlackClient
from .collector import CHAT_MESSAGE, SlackCollector
from .config import SlackConfig
from .markup import plain_text, render


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


__all__ = [
    "CHAT_MESSAGE",
    "SlackClient",
    "SlackCollector",
    "SlackConfig",
    "make_collector",
    "plain_text",
    "render",
]
