"""Where batch drafts go: a directory or an S3 prefix, under safe, stable file names.

A name is ``<incident number>-<slug of the title>.md``: ASCII letters, digits and dashes only,
so no title (``../``, control characters, slashes, any script) can leave the directory or the
prefix. Every write is whole: a temporary file and a rename on disk, one ``PutObject`` on S3.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Any, Protocol

from .errors import InputError, OutputError

SLUG_MAX = 60
"""Longest slug, in characters; a longer title is cut at a word boundary."""

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_SAFE_NAME = re.compile(r"[a-z0-9][a-z0-9.-]*\.md")


def slug(title: str, limit: int = SLUG_MAX) -> str:
    """``title`` folded to lower-case ASCII words joined by dashes, at most ``limit`` characters."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    words = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")
    if len(words) > limit:
        cut = words[:limit]
        if words[limit] != "-" and "-" in cut:
            cut = cut[: cut.rfind("-")]
        words = cut.strip("-")
    return words or "incident"


def draft_name(number: Any, title: str, incident_id: str = "") -> str:
    """The file name of an incident's draft: ``1234-checkout-errors-after-deploy.md``."""
    if isinstance(number, int) and not isinstance(number, bool) and number >= 0:
        head = str(number)
    else:
        head = _NOT_SLUG.sub("", incident_id.lower()) or "unnumbered"
    return f"{head}-{slug(title or '')}.md"


def proposal_name(name: str) -> str:
    """Where the new version of a draft goes when a person edited one of its blocks."""
    return name.removesuffix(".md") + ".proposed.md"


def _check(name: str) -> str:
    if not _SAFE_NAME.fullmatch(name):
        raise InputError(
            f"{name!r} is not a safe draft name (lower-case letters, digits, dashes, .md)"
        )
    return name


class Sink(Protocol):
    """A place drafts are kept, by name."""

    def read(self, name: str) -> str | None:
        """The draft called ``name``, or ``None`` if there is none."""

    def write(self, name: str, text: str) -> None:
        """Store ``text`` as ``name`` in one piece."""

    def location(self, name: str) -> str:
        """Where ``name`` is, for people: a path or an ``s3://`` URL."""


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync and a rename: never a half file.

    Text is written exactly as given (no newline translation), so a draft's own line endings
    survive.
    """
    path = path.expanduser()
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with (
            os.fdopen(fd, "wb")
            if isinstance(data, bytes)
            else os.fdopen(fd, "w", encoding="utf-8", newline="")
        ) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class DirectorySink:
    """Drafts as files in one directory (made if missing)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.expanduser()

    def _path(self, name: str) -> Path:
        path = self.directory / _check(name)
        if path.parent != self.directory:  # pragma: no cover - _check already makes this impossible
            raise InputError(f"{name!r} would leave {self.directory}")
        return path

    def read(self, name: str) -> str | None:
        try:
            with open(self._path(name), encoding="utf-8", newline="") as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise OutputError(f"draft {self._path(name)} could not be read: {exc}") from exc

    def write(self, name: str, text: str) -> None:
        try:
            write_atomic(self._path(name), text)
        except OSError as exc:
            raise OutputError(
                f"draft {self._path(name)} could not be written: {exc}; check that "
                f"{self.directory} is writable"
            ) from exc

    def location(self, name: str) -> str:
        return str(self._path(name))


class S3Sink:
    """Drafts as objects under ``s3://bucket/prefix/``."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"

    def _key(self, name: str) -> str:
        return self.prefix + _check(name)

    def read(self, name: str) -> str | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise OutputError(f"GetObject {self.location(name)} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise OutputError(f"GetObject {self.location(name)} failed: {exc}") from exc
        return str(body.decode("utf-8"))

    def write(self, name: str, text: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(name),
                Body=text.encode("utf-8"),
                ContentType="text/markdown; charset=utf-8",
            )
        except (ClientError, BotoCoreError) as exc:
            raise OutputError(
                f"PutObject {self.location(name)} failed: {exc}; the job needs "
                "s3:PutObject and s3:GetObject on the prefix"
            ) from exc

    def location(self, name: str) -> str:
        return f"s3://{self.bucket}/{self._key(name)}"


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix/`` as ``(bucket, prefix)``."""
    rest = url.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise InputError(f"{url!r} names no bucket; write it like s3://my-bucket/postmortems/")
    return bucket, prefix
