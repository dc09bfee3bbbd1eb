"""A sandbox served by another process, driven one JSON line at a time (``bench/api.py`` and
``bench/batch.py``): the process prints its info as a first line, then answers each request
``{"op": ..., ...}`` with one line, and stops on ``{"op": "stop"}``."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from typing import Any


class Served:
    """The process running ``command``; ``info`` is its first line."""

    def __init__(self, command: list[str], name: str) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        self.info = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} stopped (exit {self.proc.wait()})")
        return json.loads(line)  # type: ignore[no-any-return]  # a JSON object by contract

    def ask(self, op: str, **args: Any) -> dict[str, Any]:
        """Send one request and return its answer."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        """Stop the process (whatever state it is in) and wait for it."""
        with contextlib.suppress(OSError, RuntimeError, ValueError):
            self.ask("stop")
        self.proc.wait(timeout=30)


def hermetic_aws() -> None:
    """Sandbox credentials for boto3 in this process, and none of the user's AWS settings."""
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_DEFAULT_REGION"):
        os.environ.pop(key, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="sandbox",
        AWS_SECRET_ACCESS_KEY="sandbox",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
