"""pmdraft: reconstruct an incident's timeline and draft the blameless postmortem.

Data flows one way: collectors yield :class:`~pmdraft.model.Event` objects, the pipeline
gathers them (and the failures of any source), the timeline builds one sorted UTC frame and
computes milestones, and the renderer turns plain records into text.
"""

__version__ = "0.1.0"
