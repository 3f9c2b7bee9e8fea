"""A session's own limits, as AWS states them: its max duration and the account's idle timeout.

DescribeSessions reports each session's `MaxSessionDuration` (minutes, from the account's Session
Manager preferences when it started); the idle timeout is only in the preferences document. The
preferences are read once per (endpoint, region) and kept for the process: they change rarely,
and a session's own max duration comes from DescribeSessions anyway.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from sessiontui.aws.sessions import SessionPreferences, describe_sessions, session_preferences
from sessiontui.core.session_end import SessionLimits

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_ssm.type_defs import SessionTypeDef

_lock = threading.Lock()
_preferences: dict[tuple[str, str], SessionPreferences | None] = {}


def preferences(ssm: SSMClient) -> SessionPreferences | None:
    key = (str(ssm.meta.endpoint_url), str(ssm.meta.region_name))
    with _lock:
        if key in _preferences:
            return _preferences[key]
    try:
        found = session_preferences(ssm)
    except Exception:  # unreadable preferences only cost the idle hint
        found = None
    with _lock:
        _preferences[key] = found
    return found


def max_minutes_of(session: SessionTypeDef) -> int | None:
    try:
        n = int(str(session.get("MaxSessionDuration", "")).strip())
    except ValueError:
        return None
    return n if n > 0 else None


def session_limits(ssm: SSMClient, session_id: str) -> SessionLimits:
    """Never raises: what cannot be read is None, and the session's end falls back on the rest."""
    prefs = preferences(ssm)
    max_minutes = prefs.max_minutes if prefs else None
    try:
        found = describe_sessions(ssm, "Active", session_id=session_id)
    except Exception:
        found = []
    for s in found:
        if s.get("SessionId") == session_id:
            max_minutes = max_minutes_of(s) or max_minutes
    return SessionLimits(
        max_minutes=max_minutes, idle_minutes=prefs.idle_minutes if prefs else None
    )
