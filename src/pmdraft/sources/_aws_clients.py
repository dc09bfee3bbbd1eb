"""boto3 clients for the deploy sources, one per region (moves into ``_aws.py`` with the rest of
the AWS boundary)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def clients(
    service: str, regions: Sequence[str], endpoint_url: str, profile: str
) -> dict[str, Any]:
    """One ``service`` client per region, from the profile (or boto3's chain), standard retries."""
    import boto3
    from botocore.config import Config as BotoConfig

    session = boto3.session.Session(profile_name=profile or None)
    boto_config = BotoConfig(retries={"mode": "standard", "max_attempts": 5})
    return {
        region: session.client(
            service, region_name=region, endpoint_url=endpoint_url or None, config=boto_config
        )
        for region in regions
    }
