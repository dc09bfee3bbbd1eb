"""The one exception tree of pmdraft.

::

    PmdraftError                 anything pmdraft reports to a user (the CLI catches only this)
    ├── ConfigError              the config file: unreadable, invalid TOML, unknown key, wrong type
    ├── InputError               a flag or an input the run cannot start without (naive time,
    │                            reversed window)
    ├── CollectorError           a source that could not be read (becomes a "Data gaps" entry)
    ├── RenderError              a template that could not be filled
    ├── GraphsUnavailable        the monitoring graphs cannot be drawn: matplotlib is not installed
    ├── OutputError              a batch draft's directory or S3 prefix could not be read or written
    └── StateError               the batch state store (SQLite, DynamoDB) could not be used

Errors are raised with a message that names the thing (file and line, key, flag, endpoint) and
says what a correct one looks like; lower-level exceptions are chained with ``from``.
"""

from __future__ import annotations


class PmdraftError(Exception):
    """Base of every error pmdraft reports to a user."""

    exit_code = 1


class ConfigError(PmdraftError):
    """The configuration file is unreadable or invalid."""


class InputError(PmdraftError):
    """A flag or an input file holds a value pmdraft cannot use."""


class CollectorError(PmdraftError):
    """A source could not be read completely.

    ``source`` names the collector ("cloudwatch", "pagerduty", "deploys:<path>").
    """

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message


class RenderError(PmdraftError):
    """A template could not be filled."""


class GraphsUnavailable(PmdraftError):
    """matplotlib is not installed, so no monitoring graph can be drawn (``pmdraft[graphs]``)."""


class OutputError(PmdraftError):
    """A batch draft could not be read from or written to its directory or S3 prefix."""


class StateError(PmdraftError):
    """The batch job's state store (SQLite or DynamoDB) could not be read or written."""
