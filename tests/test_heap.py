"""The garbage collector paused while a draft is made, and given back after (``pmdraft.heap``):
a batch job drafts incident after incident in one process, so a pause that outlived its draft
would keep every later draft's cycles in memory."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from pmdraft.cli.common import run
from pmdraft.heap import gc_paused


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_inside_and_enabled_after_even_on_error() -> None:
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "a nested pause leaves it off until the outer one ends"
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("a source failed")
    assert gc.isenabled()


def test_a_collector_already_off_stays_off() -> None:
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_one_draft_commands_run_paused_and_batch_does_not() -> None:
    seen: list[bool] = []
    run(lambda: seen.append(gc.isenabled()) or 0, one_draft=True)
    run(lambda: seen.append(gc.isenabled()) or 0)
    assert seen == [False, True]
    assert gc.isenabled()


def test_the_timeline_steps_run_paused_when_called_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """``framed``, ``analyse`` and ``build_rows`` pause the collector themselves, so a caller
    of the library (or the 1M-event benchmark) gets the same speed as ``make_draft``."""
    from datetime import UTC, datetime, timedelta

    from pmdraft.model import Event
    from pmdraft.timeline import analyse, build_rows, frame, milestones, story

    seen: dict[str, bool] = {}

    def spy(module: object, name: str) -> None:
        real = getattr(module, name)

        def wrapped(*args: object, **kwargs: object) -> object:
            seen[name] = gc.isenabled()
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapped)

    spy(frame, "_columns")
    spy(milestones, "_resolved")
    spy(story, "_rows")
    t0 = datetime(2024, 1, 15, 14, 32, tzinfo=UTC)
    events = [
        Event(t0 + timedelta(seconds=i), "deploys", "deploy.succeeded", f"d{i}", f"v{i} deployed")
        for i in range(3)
    ]
    built = frame.build_frame(events)
    analysis = analyse(built)
    build_rows(built, analysis.milestones)
    assert seen == {"_columns": False, "_resolved": False, "_rows": False}
    assert gc.isenabled()


def test_a_draft_is_kept_to_the_end_only_by_a_process_that_ends_with_its_command() -> None:
    """kept_until_exit keeps nothing for a library caller or a test's runner (a batch of
    drafts in one process would otherwise keep every draft); in a process that ends with its
    command (the console script), what it is given stays until the end."""
    import subprocess
    import sys
    import weakref

    from pmdraft.heap import kept_until_exit

    class Draft:
        pass

    draft = Draft()
    gone = weakref.ref(draft)
    kept_until_exit(draft)
    del draft
    assert gone() is None
    script = (
        "import gc, weakref\n"
        "from pmdraft.heap import ends_with_command, kept_until_exit\n"
        "class Draft: pass\n"
        "ends_with_command()\n"
        "draft = Draft(); alive = weakref.ref(draft)\n"
        "kept_until_exit(draft); del draft; gc.collect()\n"
        "print(alive() is not None)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout == "True\n"
