"""IAM policy documents the demo's permission sets carry, shipped as JSON beside this module."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def policy(name: str) -> str:
    """The document in NAME.json, as IAM stores it (a JSON string)."""
    return resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")
