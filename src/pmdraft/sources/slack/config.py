"""``[slack]``: which incident channels to read and how to talk to Slack."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError
from ...settings import key, read_table, require_env_name


@dataclass(frozen=True)
class SlackConfig:
    """How pmdraft reads an incident's Slack channels.

    The token itself is never held here: ``token_env`` names the environment variable it is read
    from, so a config file can be shared without leaking it.
    """

    channels: list[str] = key([], 'channels = ["C0123ABCD"]')
    """Channel ids to read (``C0123ABCD``); default none. Ids, not names: names change."""
    channel_pattern: str = key("inc-{number}-*", 'channel_pattern = "inc-{number}-*"')
    """fnmatch pattern of an incident's channel name, ``{number}`` = the PagerDuty incident
    number (with ``--incident``); matched against one ``conversations.list`` listing per run."""
    token_env: str = key("SLACK_BOT_TOKEN", 'token_env = "SLACK_BOT_TOKEN"')
    """Environment variable holding the bot token (``xoxb-...``); never the token itself."""
    include_bots: bool = key(False, "include_bots = true")
    """Keep messages posted by bots and apps; default false (people only)."""
    highlight_reactions: list[str] = key(["pushpin"], 'highlight_reactions = ["pushpin", "star"]')
    """Reaction names (without colons) that put a message on the timeline; default pushpin."""
    base_url: str = key("", 'base_url = "http://127.0.0.1:8080/api/"')
    """Web API root (a stand-in); empty: Slack's own https://slack.com/api/."""
    page_size: int = key(200, "page_size = 200")
    """Records per page (``limit``), 1-1000; Slack recommends 100-200. Default 200."""
    max_retries: int = key(3, "max_retries = 3")
    """Retries per request after a 429 (rate limited) or a dropped connection; default 3."""
    max_retry_wait: float = key(60.0, "max_retry_wait = 60")
    """Seconds: a longer ``Retry-After`` is not waited for (the source fails, naming the wait)."""

    def pattern_for(self, number: int | str) -> str:
        """The channel name pattern of PagerDuty incident ``number`` (``inc-4711-*``)."""
        return self.channel_pattern.replace("{number}", str(number))


_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{4,}")


def read_slack(origin: str, table: Any) -> SlackConfig:
    """``[slack]``, validated: channel ids, a pattern with ``{number}``, sane limits."""
    cfg = read_table(origin, "slack", table, SlackConfig)
    where = f"{origin}: [slack]"
    bad = [c for c in cfg.channels if not _CHANNEL_ID.fullmatch(c)]
    if bad:
        raise ConfigError(
            f"{where} channel {bad[0]!r} is not a channel id; use the id from the channel's "
            'details (for example: channels = ["C0123ABCD"]), not its name'
        )
    if "{number}" not in cfg.channel_pattern:
        raise ConfigError(
            f"{where} channel_pattern {cfg.channel_pattern!r} must contain {{number}}; "
            'for example: channel_pattern = "inc-{number}-*"'
        )
    if not 1 <= cfg.page_size <= 1000:
        raise ConfigError(
            f"{where} page_size must be 1-1000 (Slack recommends 100-200), got {cfg.page_size}"
        )
    if cfg.max_retries < 0:
        raise ConfigError(f"{where} max_retries must be 0 or more, got {cfg.max_retries}")
    require_env_name(where, cfg.token_env, "SLACK_BOT_TOKEN")
    return cfg


def describe_slack(cfg: SlackConfig) -> str:
    """What this ``[slack]`` reads, in a few words."""
    parts = [f"channels {', '.join(cfg.channels)}"] if cfg.channels else []
    parts.append(f"incident channels named {cfg.channel_pattern}")
    parts.append(f"token from ${cfg.token_env}")
    return "; ".join(parts)
