"""When a forward whose session the server ended gets a new session, and how long to wait.

Pure rules; plugin.healing applies them. A forward heals when its session was ended by the
server for a reason that is nobody's decision (max session duration, idle timeout, the plugin
losing the network and dying), while its credentials still have time left. A session someone
terminated on purpose (the operator's `x` in the sessions panel, `--terminate`, an admin) stays
ended, as do forwards the operator stopped, that expiry ended, or that never started.
"""

from __future__ import annotations

# how (plugin.output.Ending values) that may heal
HEALABLE = frozenset({"server_ended", "crashed"})
# what AWS (and the sandbox) says when TerminateSession ended it: someone meant it
DELIBERATE = ("your session has been terminated.",)
# new sessions tried in a row before giving up, and the wait before each (seconds)
BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0)
# sessions one forward may get over its life: an unused forward must not defeat the idle timeout
# forever, and a server that ends every session at once must not be hammered
MAX_HEALS = 10
# credentials this close to their end do not start a session (it would die at once)
MIN_CREDENTIALS_LEFT = 60.0


def deliberate(reason: str) -> bool:
    return reason.strip().lower() in DELIBERATE


def should_heal(how: str, reason: str, credentials_left: float | None, heals_so_far: int) -> bool:
    if str(how) not in HEALABLE or deliberate(reason):
        return False
    if heals_so_far >= MAX_HEALS:
        return False
    return credentials_left is None or credentials_left > MIN_CREDENTIALS_LEFT


def why_not(how: str, reason: str, credentials_left: float | None, heals_so_far: int) -> str:
    """The operator's words for a forward that is not healed (for the panel's last state)."""
    if str(how) not in HEALABLE or deliberate(reason):
        return ""
    if heals_so_far >= MAX_HEALS:
        return f"not healed again: {MAX_HEALS} new sessions already"
    return "not healed: the credentials end too soon"
