"""The ``[slack]`` settings: which channels to read and how to talk to Slack."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SlackConfig:
    """How pmdraft reads an incident's Slack channels.

    The token itself is never held here: ``token_env`` names the environment variable the CLI
    reads it from, so a config file can be shared without leaking it.
    """

    channels: tuple[str, ...] = ()
    """Channel ids to read (``C0123ABCD``); default none. Ids, not names: names change."""
    channel_pattern: str = "inc-{number}-*"
    """fnmatch pattern of an incident's channel name, ``{number}`` = the PagerDuty incident
    number; matched against one ``conversations.list`` listing per run.
    Default ``inc-{number}-*``."""
    token_env: str = "SLACK_BOT_TOKEN"
    """Environment variable holding the bot token (``xoxb-...``); default ``SLACK_BOT_TOKEN``."""
    include_bots: bool = False
    """Keep messages posted by bots and apps; default False (people only)."""
    highlight_reactions: tuple[str, ...] = ("pushpin",)
    """Reaction names (without colons) that mark a message for the timeline; default pushpin."""
    base_url: str | None = None
    """Web API root ending in ``/`` (``https://slack.com/api/``); default None = Slack's own.
    Set only for a stand-in."""
    page_size: int = 200
    """Records per page (``limit``); Slack recommends 100-200. Default 200."""
    max_retries: int = 3
    """Retries per request after a 429 (rate limited) or a dropped connection; default 3."""
    max_retry_wait: float = 60.0
    """Seconds: a ``Retry-After`` longer than this is not waited for (the source fails
    instead, naming the wait); default 60."""

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= 1000:
            raise ValueError(
                f"slack page_size must be 1-1000 (Slack recommends 100-200), got {self.page_size}"
            )
        if self.max_retries < 0:
            raise ValueError(f"slack max_retries must be 0 or more, got {self.max_retries}")
        if "{number}" not in self.channel_pattern:
            raise ValueError(
                f"slack channel_pattern {self.channel_pattern!r} must contain {{number}}, "
                "for example 'inc-{number}-*'"
            )

    def pattern_for(self, number: int | str) -> str:
        """The channel name pattern of PagerDuty incident ``number`` (``inc-4711-*``)."""
        return self.channel_pattern.replace("{number}", str(number))
