"""The accesses held beside the active one (one per account, one fleet across accounts): each has
its own end, its own warnings and its own expiry, which ends what was opened in its account only
and is told by name, with why it ended.

The sessions themselves end on their own: each supervisor watches its access's end
(`plugin.session_handles.ExpiryWatch`); what is here stops that account's forwards too (so none
outlives its access by a tick) and tells the operator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sessiontui.core.access import (
    ENDS_CREDENTIALS,
    GRANTS,
    Access,
    ended_text,
    label,
    noun,
    opening_label,
)
from sessiontui.core.durations import WARN_AT, format_duration, format_remaining

if TYPE_CHECKING:
    from sessiontui.ui.access import AccessController, ActiveAccess


NEEDS_WORDS = {"mfa": "MFA", "sign-in": "sign-in"}  # what taking an offer again asks for


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
                beside = ctl.active.name if ctl.active else "none"
                ctl.host.notify(
                    f"{label(held.access.offer)} (held beside {beside}): "
                    f"{format_remaining(left)} left; its sessions{where(held.access)} end when "
                    "it expires",
                    title=f"{noun(held.access.offer)} expiring",
                    severity="error" if threshold <= min(WARN_AT) else "warning",
                    timeout=15,
                )


def expire_other(ctl: AccessController, held: ActiveAccess) -> None:
    """A held access that is not the active one ran out: drop it and end its account's
    sessions; the active one, and what it opened, go on."""
    ctl.held = {k: h for k, h in ctl.held.items() if h is not held}
    still = f"; {ctl.active.name} is still held" if ctl.active is not None else ""
    _end_one(ctl, held, still)
    ctl.view.show_access(ctl.active.access if ctl.active is not None else None)


def promote_next(ctl: AccessController, expired: ActiveAccess) -> ActiveAccess | None:
    """The active access ran out while others are held: the next one becomes active, and only
    the expired one's account's sessions end. None when no other access is held."""
    rest = ctl.alive()
    if not rest:
        return None
    ctl.active = rest[0]
    _end_one(ctl, expired, f"; {label(rest[0].access.offer)} is the active one now")
    ctl.view.show_access(rest[0].access)
    return rest[0]


def _end_one(ctl: AccessController, ended: ActiveAccess, then: str) -> None:
    """End what `ended` opened in its account, and say so (and what `then` is held)."""
    why = why_ended(ended.access)
    what = label(ended.access.offer)
    ctl.end_sessions(f"{what} ended: {why}", expired=True, access=ended.access)
    ctl.host.notify(
        f"{what} expired ({why}); its sessions and forwards{where(ended.access)} are "
        f"being ended{then}",
        title=f"{noun(ended.access.offer)} expired",
        severity="error",
        timeout=15,
    )


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
    offer = active.access.offer
    if promote_next(ctl, active) is None:
        ctl.view.show_expired(active.name)
        ctl.end_sessions(ended_text(active.access), expired=True, access=active.access)
        ctl.host.notify(
            f"{label(offer)} expired; its sessions are being ended",
            title=f"{noun(offer)} expired",
            severity="error",
            timeout=15,
        )
    if offer.source in GRANTS and ctl.request_again is not None:
        ctl._offer_request_again(active.access, ctl.request_again)
        return

    def answered(yes: bool | None) -> None:
        if yes:
            ctl.take_role(ctl._again(active), use_cache=False)

    duration = active.access.duration
    how = [format_duration(duration)] if duration else []
    how += [NEEDS_WORDS[offer.needs]] if offer.needs in NEEDS_WORDS else []
    again = f" ({', '.join(how)})" if how else ""
    ctl.host.push_screen(
        ConfirmScreen(
            f"{opening_label(offer)} expired. Take it again now{again}?",
            yes="Re-authenticate",
            no="Later",
        ),
        answered,
    )
