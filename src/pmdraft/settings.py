"""How one config table becomes a frozen dataclass: key declarations, type checks, key names in
errors.

Every source declares its own section as a frozen dataclass whose fields are made with
:func:`key` (default, an example of a correct value, required or not); :func:`read_table` reads a
TOML table into it, refusing unknown keys (with a "did you mean"), wrong types (with the
example), and anything shaped like a credential. ``config.py`` uses the same functions for the
core sections, so every table of the file is checked the same way.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import MISSING, field, fields
from typing import Any, TypeVar

from .errors import ConfigError

T = TypeVar("T")

DEFAULT_TOKEN_ENV = "PAGERDUTY_API_TOKEN"
"""The variable named in advice when a section has no usable ``token_env`` of its own."""

_SECRET_NAME = re.compile(
    r"token|api_?key|access_?key|private_?key|secret|passw|credential|authorization", re.IGNORECASE
)
_ENV_VALUE = re.compile(r"[A-Z_][A-Z0-9_]*")
_TOKEN_SHAPE = re.compile(r"(?=.*[a-z])(?=.*[A-Z])[A-Za-z0-9_+-]{20}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""A valid environment variable name (what ``token_env`` keys must hold)."""


def key(default: Any, example: str, *, required: bool = False) -> Any:
    """A config key: its default, and an example of a correct value for error messages."""
    meta = {"example": example, "required": required}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=meta)
    return field(default=default, metadata=meta)


def did_you_mean(name: str, known: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known``, or nothing."""
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def looks_like_token(value: Any) -> bool:
    """Shaped like an API token: 20 letters, digits, ``_+-``, upper and lower case."""
    values = value if isinstance(value, list) else [value]
    return any(isinstance(v, str) and _TOKEN_SHAPE.fullmatch(v) is not None for v in values)


def is_credential(name: str, value: Any) -> bool:
    """A value shaped like a token, or a credential-named key (unless its value is a variable's
    name, as in a misspelt ``token_env``)."""
    if looks_like_token(value):
        return True
    return bool(_SECRET_NAME.search(name)) and not (
        isinstance(value, str) and _ENV_VALUE.fullmatch(value)
    )


def token_advice(table: Any, section: str = "pagerduty") -> str:
    """Where a credential belongs, naming the section's own ``token_env`` when it is usable."""
    if section == "cloudwatch":
        return (
            "do not put AWS credentials in the config file; boto3 reads them from the environment, "
            "a named profile (profile = ...) or a role"
        )
    env = table.get("token_env") if isinstance(table, dict) else None
    if not isinstance(env, str) or not ENV_NAME.fullmatch(env) or looks_like_token(env):
        env = DEFAULT_TOKEN_ENV
    return (
        f"do not put the token in the config file; export {env} "
        "(or the variable named by token_env)"
    )


def shown(value: Any) -> str:
    """``value`` for an error message, unless it is shaped like a token."""
    return "a value shaped like a token (not shown)" if looks_like_token(value) else repr(value)


_WANT = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "a string",
    list: "a list of strings",
    dict: "a table of strings",
}


def _has_type(value: Any, default: Any) -> bool:
    """Whether ``value`` has the TOML type of ``default`` (an int passes for a float)."""
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, list):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if isinstance(default, dict):
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    return True  # a key without one of the types above takes any value


def check_type(where: str, name: str, value: Any, default: Any, example: str) -> Any:
    """Return ``value`` (an int made a float for a float key) if it has the type of ``default``."""
    if not _has_type(value, default):
        raise ConfigError(
            f"{where}: key '{name}' must be {_WANT[type(default)]}, got {shown(value)}; "
            f"for example: {example}"
        )
    if isinstance(default, float) and not isinstance(default, bool):
        return float(value)
    return value


def read_table(origin: str, name: str, table: Any, cls: type[T]) -> T:
    """Read one TOML table into the dataclass ``cls``; ``origin`` and ``name`` are for messages."""
    where = f"{origin}: [{name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table of keys, got {shown(table)}")
    spec = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]  # cls is a dataclass
    values: dict[str, Any] = {}
    for name_, value in table.items():
        if name_ not in spec and is_credential(name_, value):
            raise ConfigError(
                f"{where}: key '{name_}' looks like a credential: {token_advice(table, name)}; "
                f"remove '{name_}' from the file"
            )
        if name_ not in spec:
            known = sorted(spec)
            raise ConfigError(
                f"{where}: unknown key '{name_}'{did_you_mean(name_, known)}; "
                f"known keys: {', '.join(known)}"
            )
        f = spec[name_]
        # Every key() field has a default or a default_factory.
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[operator]
        values[name_] = check_type(where, name_, value, default, f.metadata["example"])
    for f in spec.values():
        if f.metadata.get("required") and not values.get(f.name):
            raise ConfigError(
                f"{where}: key '{f.name}' is required; for example: {f.metadata['example']}"
            )
    return cls(**values)


def require_env_name(where: str, value: str, example: str) -> None:
    """Refuse a ``token_env`` that is not a variable's name (it may be the token itself)."""
    if not ENV_NAME.fullmatch(value) or looks_like_token(value):
        raise ConfigError(
            f"{where} key 'token_env' must be the name of the environment variable that "
            f'holds the token, like token_env = "{example}"; its value is not such a name '
            f"(not shown, in case it is the token): {token_advice({})}"
        )
