"""Where batch drafts go: a directory or an S3 prefix, under safe, stable file names.

A name is ``<incident number>-<slug of the title>.md``: ASCII letters, digits and dashes only,
so no title (``../``, control characters, slashes, any script) can leave the directory or the
prefix. Every write is whole: a temporary file and a rename on disk, one ``PutObject`` on S3.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from .errors import InputError, OutputError

SLUG_MAX = 60
"""Longest slug, in characters; a longer title is cut at a word boundary."""

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_SAFE_NAME = re.compile(r"[a-z0-9][a-z0-9.-]*\.md")
_SAFE_ASSET = re.compile(r"[a-z0-9][a-z0-9.-]*-graphs/[A-Za-z0-9][A-Za-z0-9._-]*\.png")


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


def _check_asset(relative: str) -> str:
    if not _SAFE_ASSET.fullmatch(relative) or ".." in relative:
        raise InputError(f"{relative!r} is not a safe graph path (<draft>-graphs/<name>.png)")
    return relative


class Sink(Protocol):
    """A place drafts are kept, by name."""

    def read(self, name: str) -> str | None:
        """The draft called ``name``, or ``None`` if there is none."""

    def write(self, name: str, text: str) -> None:
        """Store ``text`` as ``name`` in one piece."""

    def write_asset(self, relative: str, data: bytes) -> None:
        """Store a graph beside the drafts, at ``<draft>-graphs/<file>.png``, in one piece."""

    def location(self, name: str) -> str:
        """Where ``name`` is, for people: a path or an ``s3://`` URL."""


def _create_temp(directory: Path, name: str) -> tuple[int, str]:
    """A new, empty temporary file beside ``name``, created with mode 0o666 so the kernel applies
    the umask exactly as a plain ``open()`` would (``mkstemp`` would force 0o600)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = str(directory / f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


def check_writable(path: Path, flag: str = "-o") -> None:
    """Raise ``OutputError`` unless a file can be created at ``path``; nothing is left behind.

    The folder must exist (it is never made silently) and accept a new file; an existing
    ``path`` must be a file. Called before any API request, so a bad path costs nothing.
    """
    path = path.expanduser()
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise OutputError(
            f"{flag} {path}: the folder {folder} {what}; create it (mkdir -p {folder}) "
            f"or choose another {flag} path"
        )
    if path.is_dir():
        raise OutputError(f"{flag} {path} is a folder; give a file name, like {path}/postmortem.md")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".check", dir=folder)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OutputError(
            f"{flag} {path}: the folder {folder} is not writable ({reason}); make it writable "
            f"or choose another {flag} path"
        ) from exc
    os.close(fd)
    os.unlink(tmp)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync and a rename: never a half file.

    Text is written exactly as given (no newline translation), so a draft's own line endings
    survive. The file gets the mode a plain ``open()`` would give (``0o666 & ~umask``). The
    folder must exist: a missing one is an ``OutputError`` naming it, never made silently.
    """
    # Text is encoded here rather than through a text-mode file: the same UTF-8 bytes, with no
    # newline translation, and one binary handle whatever ``data`` is.
    raw = data if isinstance(data, bytes) else data.encode("utf-8")
    with atomic_file(path) as handle:
        handle.write(raw)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s content into, piece by piece: it is a temporary file
    beside ``path`` that becomes ``path`` (fsync, then a rename) only when the block ends
    without an error; on an error it is removed and ``path`` is untouched. As
    :func:`write_atomic`: the mode of a plain ``open()``, and the folder must exist."""
    path = path.expanduser()
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise OutputError(
            f"{path} could not be written: the folder {directory} does not exist; create it first"
        )
    fd, tmp = _create_temp(directory, path.name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
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
        """The draft called ``name``, or ``None`` if there is none yet."""
        try:
            with open(self._path(name), encoding="utf-8", newline="") as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise OutputError(f"draft {self._path(name)} could not be read: {exc}") from exc

    def write(self, name: str, text: str) -> None:
        """Write the draft called ``name`` whole."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_atomic(self._path(name), text)
        except OSError as exc:
            raise OutputError(
                f"draft {self._path(name)} could not be written: {exc}; check that "
                f"{self.directory} is writable"
            ) from exc

    def write_asset(self, relative: str, data: bytes) -> None:
        """Write a graph (a PNG) at ``relative``, beside the drafts."""
        path = self.directory / _check_asset(relative)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, data)
        except OSError as exc:
            raise OutputError(
                f"graph {path} could not be written: {exc}; check that {self.directory} is writable"
            ) from exc

    def location(self, name: str) -> str:
        """Where the draft called ``name`` is, as a user would look for it."""
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
        """The draft called ``name``, or ``None`` if there is none yet."""
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
        """Write the draft called ``name`` whole."""
        self._put(self._key(name), text.encode("utf-8"), "text/markdown; charset=utf-8")

    def write_asset(self, relative: str, data: bytes) -> None:
        """Write a graph (a PNG) at ``relative``, beside the drafts."""
        self._put(self.prefix + _check_asset(relative), data, "image/png")

    def _put(self, key: str, body: bytes, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        except (ClientError, BotoCoreError) as exc:
            raise OutputError(
                f"PutObject s3://{self.bucket}/{key} failed: {exc}; the job needs "
                "s3:PutObject and s3:GetObject on the prefix"
            ) from exc

    def location(self, name: str) -> str:
        """Where the draft called ``name`` is, as a user would look for it."""
        return f"s3://{self.bucket}/{self._key(name)}"


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix/`` as ``(bucket, prefix)``."""
    rest = url.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise InputError(f"{url!r} names no bucket; write it like s3://my-bucket/postmortems/")
    return bucket, prefix
