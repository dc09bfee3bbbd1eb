"""Events -> one sorted UTC frame -> milestones, durations and the readable timeline."""

from .frame import build_frame, frame_events
from .milestones import DURATIONS, MILESTONES, Analysis, Milestone, analyse
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
