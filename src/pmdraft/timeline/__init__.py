"""Events -> one sorted UTC frame -> milestones, durations, suspects and the readable timeline.

Everything here returns facts (the records of :mod:`pmdraft.model`); :mod:`pmdraft.words` says them.
"""

from ..facts import Milestone
from .frame import build_frame, frame_events
from .milestones import DURATIONS, MILESTONES, Analysis, analyse
from .story import Row, build_rows

__all__ = [
    "DURATIONS",
    "MILESTONES",
    "Analysis",
    "Milestone",
    "Row",
    "analyse",
    "build_frame",
    "build_rows",
    "frame_events",
]
