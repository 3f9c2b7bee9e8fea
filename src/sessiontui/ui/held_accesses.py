"""The accesses held beside the active one (one per account, one fleet across accounts): each has
its own end, its own warnings and its own expiry, which ends what was opened in its account only
and is told by name, with why it ended.

The sessions themselves end on their own: each supervisor watches its access's end
(`plugin.session_handles.ExpiryWatch`); what is here stops that account's forwards too (so none
outlives its access by a tick) and tells the operator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sessiontui.core.access import ENDS_CREDENTIALS, Access
from sessiontui.core.durations import WARN_AT, format_duration, format_remaining

if TYPE_CHECKING:
    from sessiontui.ui.access import AccessController, ActiveAccess


def why_ended(access: Access) -> str:
    if access.ends_because == ENDS_CREDENTIALS:
        return "its credentials expired"
    return access.ends_because


def where(access: Access) -> str:
    """The account an access opens, in words ("" for an access without one)."""
    account = access.offer.account_name or access.account_id
    return f" in {account}" if account else ""


def tick_others(ctl: AccessController) -> None:
    """Once a second, for each access held that is not the active one: warn, or expire it."""
    now = ctl.services.clock.now()
    for held in list(ctl.held.values()):
        if held is ctl.active:
            continue
        left = held.remaining(now)
        if left is None:
            continue
        if left <= 0:
            expire_other(ctl, held)
            continue
        for threshold in WARN_AT:
            if left <= threshold and threshold not in held.warned:
                held.warned.add(threshold)
                ctl.host.notify(
                    f"role {held.name} (held beside {ctl.active.name if ctl.active else 'none'}): "
                    f"{format_remaining(left)} left; its sessions{where(held.access)} end when "
                    "it expires",
                    title="role expiring",
                    severity="error" if threshold <= min(WARN_AT) else "warning",
                    timeout=15,
                )


def expire_other(ctl: AccessController, held: ActiveAccess) -> None:
    """A held access that is not the active one ran out: drop it and end its account's
    sessions; the active one, and what it opened, go on."""
    ctl.held = {k: h for k, h in ctl.held.items() if h is not held}
    why = why_ended(held.access)
    ctl.end_sessions(f"role {held.name} ended: {why}", expired=True, access=held.access)
    still = f"; {ctl.active.name} is still held" if ctl.active is not None else ""
    ctl.host.notify(
        f"role {held.name} expired ({why}); its sessions and forwards{where(held.access)} are "
        f"being ended{still}",
        title="role expired",
        severity="error",
        timeout=15,
    )
    ctl.view.show_access(ctl.active.access if ctl.active is not None else None)


def promote_next(ctl: AccessController, expired: ActiveAccess) -> ActiveAccess | None:
    """The active access ran out while others are held: the next one becomes active, and only
    the expired one's account's sessions end. None when no other access is held."""
    rest = ctl.alive()
    if not rest:
        return None
    ctl.active = rest[0]
    why = why_ended(expired.access)
    ctl.end_sessions(f"role {expired.name} ended: {why}", expired=True, access=expired.access)
    ctl.view.show_access(rest[0].access)
    ctl.host.notify(
        f"role {expired.name} expired ({why}); its sessions and forwards{where(expired.access)} "
        f"are being ended; {rest[0].name} is the active role now",
        title="role expired",
        severity="error",
        timeout=15,
    )
    return rest[0]


def expire_active(ctl: AccessController) -> None:
    """The active access ran out: end its sessions (only its account's when others are held),
    say so, and offer to take it again."""
    from sessiontui.ui.screens.confirm import ConfirmScreen

    active = ctl.active
    if active is None:
        return
    ctl.active = None
    ctl.expired = active
    ctl.held = {k: h for k, h in ctl.held.items() if h is not active}
    if promote_next(ctl, active) is None:
        ctl.view.show_expired(active.name)
        ctl.end_sessions("the role's credentials expired", expired=True)
        ctl.host.notify(
            f"role {active.name} expired; its sessions are being ended",
            title="role expired",
            severity="error",
            timeout=15,
        )

    def answered(yes: bool | None) -> None:
        if yes:
            ctl.take_role(ctl._again(active), use_cache=False)

    duration = active.access.duration
    how = f"{format_duration(duration)}, " if duration else ""
    ctl.host.push_screen(
        ConfirmScreen(
            f"Role {active.name} expired. Take it again now ({how}MFA)?",
            yes="Re-authenticate",
            no="Later",
        ),
        answered,
    )
