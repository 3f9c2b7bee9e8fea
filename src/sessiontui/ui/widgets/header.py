"""One line that always answers: who am I, where, with which role, for how long."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widget import Widget

from sessiontui.core.access import ENDS_CREDENTIALS
from sessiontui.core.clock import Clock
from sessiontui.core.durations import CRITICAL_BELOW, format_remaining, remaining_seconds
from sessiontui.core.session_end import EndCause


def format_age(seconds: float) -> str:
    s = int(max(0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d"


class StatusHeader(Widget):
    DEFAULT_CSS = """
    StatusHeader {
        height: 1;
        background: $panel;
        color: $foreground;
    }
    """

    def __init__(
        self,
        clock: Clock,
        profile: str,
        regions: list[str],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.profile = profile
        self.regions = list(regions)
        self.role_name: str | None = None
        self.expires_at: datetime | None = None
        self.stale_since: float | None = None  # clock.time() when the cached rows were saved
        self.activity = ""  # e.g. "refreshing"
        self.expired = False
        # the ends of the other accesses held (one per account), beside the active one
        self.others: tuple[tuple[str, datetime | None], ...] = ()  # (name, end) of each
        self.noun = "role"

    def set_role(
        self,
        name: str | None,
        expires_at: datetime | None,
        because: str = ENDS_CREDENTIALS,
        others: tuple[tuple[str, datetime | None], ...] = (),
        noun: str = "role",  # what the access is: role, permission set, access request
    ) -> None:
        self.noun = noun
        self.role_name = name
        self.expires_at = expires_at
        self.ends_because = because
        self.others = others
        self.expired = False
        self.refresh()

    def set_expired(self, name: str) -> None:
        self.role_name = name
        self.expires_at = None
        self.expired = True
        self.refresh()

    def set_stale(self, saved_at: float | None) -> None:
        self.stale_since = saved_at
        self.refresh()

    def set_activity(self, text: str) -> None:
        self.activity = text
        self.refresh()

    def remaining(self) -> float | None:
        if self.expires_at is None:
            return None
        return remaining_seconds(self.expires_at, self.clock.now())

    def role_text(self) -> Text:
        if self.role_name is None:
            return Text("no role", style="dim")
        left = self.remaining()
        out = Text()
        out.append(f"{self.noun} ", style="dim")
        out.append(self.role_name, style="bold")
        if self.expired:
            out.append(" expired", style="bold red")
        elif left is not None:
            style = "bold red" if left < CRITICAL_BELOW else "bold"
            out.append(" ")
            out.append(format_remaining(left), style=style)
            if self.ends_because != ENDS_CREDENTIALS:
                out.append(f" ({self.ends_because} ends)", style="dim")
        return out

    def others_text(self, room: int | None = None) -> Text:
        """The other accesses held, each by name with its own time left (each ends on its own):
        `  also Staging/DeveloperAccess 0:30:00`. Where they do not fit in `room` cells, how
        many and which ends next: `  +2 more, ProdOps next ends in 0:10:00`, shorter still on
        a narrow screen."""
        if not self.others:
            return Text()
        now = self.clock.now()

        def left_text(out: Text, end: datetime | None) -> None:
            if end is None:
                return
            left = remaining_seconds(end, now)
            out.append(format_remaining(left), style="bold red" if left < CRITICAL_BELOW else "")

        named = Text("  also ", style="dim")
        for i, (name, end) in enumerate(self.others):
            named.append(", " if i else "", style="dim")
            named.append(name, style="bold")
            named.append(" " if end is not None else "")
            left_text(named, end)
        if room is None or named.cell_len <= room:
            return named
        ending = [(remaining_seconds(end, now), name, end) for name, end in self.others if end]
        if not ending:
            return Text(f"  +{len(self.others)} more", style="dim")
        _, name, end = min(ending)
        short = Text()
        for said in (f", {name} next ends in ", ", next ends in ", " "):  # the longest that fits
            short = Text(f"  +{len(self.others)} more{said}", style="dim")
            left_text(short, end)
            if short.cell_len <= room:
                break
        return short

    def sessions_text(self) -> Text:
        """The first running forward's end and its cause, when that comes before the role's
        (the role's countdown already says when the credentials end everything)."""
        book = getattr(self.app, "forwards", None)
        end = book.soonest_end() if book is not None else None
        if end is None or end.cause is EndCause.CREDENTIALS:
            return Text()
        left = end.remaining(self.clock.now())
        out = Text()
        out.append("forward ", style="dim")
        out.append(format_remaining(left), style="bold red" if left < CRITICAL_BELOW else "bold")
        out.append(f" {end.because}  ", style="dim")
        return out

    def render(self) -> Text:
        left = Text(" sessiontui", style="bold")
        left.append(f"  {self.profile}", style="dim")
        left.append(f"  {', '.join(self.regions)}", style="dim")
        middle = Text()
        if self.stale_since is not None:
            age = format_age(self.clock.time() - self.stale_since)
            middle.append(f"  stale: cached {age} ago", style="italic yellow")
        if self.activity:
            middle.append(f"  {self.activity}", style="italic")
        right = self.role_text()
        sessions = self.sessions_text()
        if sessions.cell_len:
            right = sessions + right
        width = self.size.width
        right.append_text(
            self.others_text(width - 2 - left.cell_len - middle.cell_len - right.cell_len)
        )
        right.append(" ")
        used = left.cell_len + middle.cell_len + right.cell_len
        line = left + middle
        line.append(" " * max(1, width - used))
        line.append_text(right)
        line.truncate(width)
        return line
