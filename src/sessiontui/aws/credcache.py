"""Role credentials kept between runs, so one MFA code serves a role's whole lifetime.

One JSON file per (role ARN, source profile, base access key): the name is a sha256 of that key,
so a listing reveals nothing, and switching base keys (another account, rotated keys) never picks
up credentials made by the old ones. Files are 0600 in 0700 folders. They hold the role's
temporary credentials (that is their job) and never an MFA code or TOTP secret.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sessiontui.core.clock import SYSTEM_CLOCK, Clock
from sessiontui.core.credentials import Credentials
from sessiontui.core.roles import RoleSpec
from sessiontui.stores import paths

REUSE_MARGIN = 120  # seconds: credentials this close to expiry are not handed out again
VERSION = 1


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_key(role_arn: str, source_profile: str | None, base_access_key_id: str | None) -> str:
    base = _digest(base_access_key_id or "")
    return _digest(f"{role_arn}\n{source_profile or ''}\n{base}")


class CredentialCache:
    def __init__(
        self,
        directory: Path | None = None,
        clock: Clock = SYSTEM_CLOCK,
        margin: int = REUSE_MARGIN,
    ) -> None:
        self.directory = directory if directory is not None else paths.credentials_dir()
        self.clock = clock
        self.margin = margin

    def path_for(
        self, role_arn: str, source_profile: str | None, base_access_key_id: str | None
    ) -> Path:
        return self.directory / f"{cache_key(role_arn, source_profile, base_access_key_id)}.json"

    def _usable_seconds(self, expiration: datetime | None) -> float | None:
        if expiration is None:
            return None
        left = (expiration - self.clock.now()).total_seconds()
        return left if left > self.margin else None

    @staticmethod
    def _load(path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("version") != VERSION:
            return None
        return data

    @staticmethod
    def _credentials(data: dict[str, Any]) -> Credentials | None:
        try:
            expiration = datetime.fromisoformat(str(data["expiration"]))
            if expiration.tzinfo is None:
                expiration = expiration.replace(tzinfo=UTC)
            return Credentials(
                access_key_id=str(data["access_key_id"]),
                secret_access_key=str(data["secret_access_key"]),
                session_token=str(data["session_token"]) if data.get("session_token") else None,
                expiration=expiration,
                role_name=str(data.get("role_name", "")),
                role_arn=str(data.get("role_arn", "")),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def get(
        self, role_arn: str, source_profile: str | None, base_access_key_id: str | None
    ) -> Credentials | None:
        """Credentials with more than `margin` seconds left, or None (missing, stale, corrupted)."""
        path = self.path_for(role_arn, source_profile, base_access_key_id)
        data = self._load(path)
        creds = self._credentials(data) if data is not None else None
        if creds is None:
            if path.exists():
                with contextlib.suppress(OSError):
                    path.unlink()  # corrupted: drop it so the next put starts clean
            return None
        if creds.role_arn != role_arn or self._usable_seconds(creds.expiration) is None:
            return None
        return creds

    def put(
        self,
        creds: Credentials,
        source_profile: str | None,
        base_access_key_id: str | None,
    ) -> Path:
        if creds.expiration is None:
            raise ValueError("only temporary credentials (with an expiration) are cached")
        path = self.path_for(creds.role_arn, source_profile, base_access_key_id)
        record = {
            "version": VERSION,
            "role_name": creds.role_name,
            "role_arn": creds.role_arn,
            "source_profile": source_profile,
            "access_key_id": creds.access_key_id,
            "secret_access_key": creds.secret_access_key,
            "session_token": creds.session_token,
            "expiration": creds.expiration.astimezone(UTC).isoformat(),
        }
        paths.ensure_private_dir(self.directory.parent)
        paths.ensure_private_dir(self.directory)
        paths.write_private(path, json.dumps(record, indent=1) + "\n")
        return path

    def forget(
        self, role_arn: str, source_profile: str | None, base_access_key_id: str | None
    ) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path_for(role_arn, source_profile, base_access_key_id).unlink()

    def _files(self) -> list[Path]:
        try:
            return sorted(p for p in self.directory.iterdir() if p.is_file())
        except OSError:
            return []

    def status(self, role: RoleSpec | str) -> float | None:
        """Seconds the best cached credentials of this role stay usable, or None.

        Looks at every source/base key, as the picker wants "is there a live session for this
        role", without resolving base credentials (which may mean an SSO call).
        """
        arn = role if isinstance(role, str) else role.arn
        best: float | None = None
        for path in self._files():
            if path.suffix != ".json":
                continue
            data = self._load(path)
            if data is None or data.get("role_arn") != arn:
                continue
            creds = self._credentials(data)
            left = self._usable_seconds(creds.expiration) if creds else None
            if left is not None and (best is None or left > best):
                best = left
        return best

    def wipe(self) -> int:
        """Remove every cached credential (--logout, "role: log out"); returns how many."""
        removed = 0
        for path in self._files():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += path.suffix == ".json"
        return removed
