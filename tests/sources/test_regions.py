"""AWS region names are checked in config: every real one passes, a near miss is refused with the fix."""

from __future__ import annotations

import json
from pathlib import Path

import botocore
import pytest

from pmdraft.sources._regions import bad_region, region_hint


def test_every_region_botocore_knows_is_accepted() -> None:
    """All partitions' regions in botocore's endpoints.json (GovCloud, ISO, China, EUSC) pass."""
    data = json.loads(
        (Path(botocore.__file__).parent / "data" / "endpoints.json").read_text(encoding="utf-8")
    )
    names = [r for p in data["partitions"] for r in p["regions"]]
    assert len(names) > 30 and "us-gov-west-1" in names
    assert bad_region(names) is None


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("eu-west1", "eu-west-1"),
        ("US-EAST-1", "us-east-1"),
        ("europe", "eu-west-1"),
        ("", "eu-west-1"),
    ],
)
def test_a_near_miss_is_refused_with_a_likely_fix(name: str, hint: str) -> None:
    """A name without its last dash, in capitals, or not a region at all is refused; the hint is a real name."""
    assert bad_region(["us-east-1", name]) == name
    assert region_hint(name) == hint
