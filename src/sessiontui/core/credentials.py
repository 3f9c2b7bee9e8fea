"""Temporary credentials of a role, as the plugin and boto3 need them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    expiration: datetime | None = None  # UTC, aware; None for long-lived keys
    role_name: str = ""  # the JIT role these belong to; "" for base credentials
    role_arn: str = ""

    def __repr__(self) -> str:  # never let a secret reach a log through repr()
        return (
            f"Credentials(access_key_id={self.access_key_id!r}, role={self.role_name!r}, "
            f"expiration={self.expiration!r})"
        )

    def boto_kwargs(self) -> dict[str, Any]:
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
        }

    def env(self) -> dict[str, str]:
        out = {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
        }
        if self.session_token:
            out["AWS_SESSION_TOKEN"] = self.session_token
        return out
