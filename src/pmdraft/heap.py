"""The garbage collector paused while a run makes many long-lived objects that form no cycle.

A full collection walks every live object. Reading a busy month makes hundreds of thousands of
them (each PagerDuty page decodes to a few thousand dicts and strings; every record becomes an
event), and building and writing the draft makes as many again. The automatic collector would
walk the growing heap again and again for almost no garbage: in the busy month of
``bench/api.py`` the ``pmdraft draft`` process spent about 0.7 s of its 6 s in collections.

The timeline's steps (``framed``, ``analyse``, ``build_rows``) pause it themselves too, for
callers of the library: merging 1,000,000 events took about 1 s less (about 5.5 s, not 6.5-8.5 s).

Reference counting still frees everything that is not in a cycle, so memory does not grow
while paused (the busy month's peak was the same, 320 MB, paused or not); the few cycles made
meanwhile (an exception and its traceback) wait until the collector is enabled again: after the
busy month's ``make_draft``, one full collection found 47 unreachable objects.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Automatic garbage collection off for the block; the previous setting is restored on exit
    (nested blocks leave it off until the outermost ends)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_LEAVING: list[bool] = [False]
"""Whether the process ends as soon as its command has (set by the console script, whose exit
skips the interpreter's teardown: :func:`pmdraft.cli.main`)."""

_KEPT: list[object] = []


def ends_with_command() -> None:
    """Say that this process ends as soon as its command has (:func:`kept_until_exit`)."""
    _LEAVING[0] = True


def kept_until_exit(*objects: object) -> None:
    """Keep ``objects`` (and all they hold) alive until the process ends, when it ends with
    its command (:func:`ends_with_command`); otherwise (a library call, a test's runner) do
    nothing, and they are freed as usual.

    Once a draft's files are written, freeing the draft object by object as the command returns
    (in a busy month about a million objects: 0.02 s) only gives back memory that the process's
    end gives back whole a moment later. They are frozen (``gc.freeze``) too, so that the
    collector, enabled again as the command ends, does not walk them all once more (0.04 s).
    """
    if _LEAVING[0]:
        _KEPT.append(objects)
        gc.freeze()
