"""Requests signed for a region AWS does not have: refused at the signature, as AWS does.

One sandbox endpoint serves every region, so an unknown region cannot fail at DNS as it does
against AWS; AWS's own answer to a credential scope naming no region it knows is the faithful
stand-in: "Credential should be scoped to a valid region" (and moto, asked for such a region,
would fail with a KeyError instead).
"""

from __future__ import annotations

import functools
import threading

from sessiontui_sandbox.state import AwsError

_JSON_SERVICES = {"ssm", "sso", "sso-oidc", "ssm-guiconnect"}


_lock = threading.Lock()


def known_regions() -> frozenset[str]:
    """Every region of every partition in botocore's endpoint data (what moto serves)."""
    # the first requests arrive together (thirty region listings at once): one of them
    # computes this, the others wait, instead of each reading botocore's endpoint data
    with _lock:
        return _known_regions()


@functools.cache
def _known_regions() -> frozenset[str]:
    import boto3

    session = boto3.session.Session()
    found: set[str] = set()
    for partition in session.get_available_partitions():
        for service in ("ec2", "ssm", "sts"):
            found.update(session.get_available_regions(service, partition_name=partition))
    return frozenset(found)


def refusal(service: str, region: str) -> AwsError | None:
    """AWS's error for a request signed for `region`, or None when the region exists."""
    if not region or region == "aws-global" or region in known_regions():
        return None
    message = f"Credential should be scoped to a valid region, not '{region}'. "
    if service == "ec2":
        return AwsError("AuthFailure", message, 401)
    if service in _JSON_SERVICES:
        return AwsError("InvalidSignatureException", message, 400)
    return AwsError("SignatureDoesNotMatch", message, 403)
