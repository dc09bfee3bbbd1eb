"""AWS region names, checked in config before any client is made (no botocore import here)."""

from __future__ import annotations

import re

REGION = re.compile(r"[a-z]{2,4}(-gov|-iso[a-z]*|-[a-z]{2})?-[a-z]+-\d+")
"""An AWS region name: ``us-east-1``, ``us-gov-west-1``, ``us-isob-east-1``, ``eusc-de-east-1``."""

EXAMPLE = "eu-west-1"


def bad_region(regions: list[str] | tuple[str, ...]) -> str | None:
    """The first of ``regions`` that is not shaped like an AWS region name, or None."""
    return next((r for r in regions if not isinstance(r, str) or not REGION.fullmatch(r)), None)


def region_hint(region: str) -> str:
    """``region`` with its missing dash put back (``eu-west1`` -> ``eu-west-1``), or an example."""
    fixed = re.sub(r"([a-z])(\d+)$", r"\1-\2", region.strip().lower())
    return fixed if REGION.fullmatch(fixed) else EXAMPLE
