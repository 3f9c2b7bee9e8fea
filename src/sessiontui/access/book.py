"""Every source of access the operator has, behind one object: find by name, obtain, forget."""

from __future__ import annotations

from collections.abc import Sequence

from sessiontui.access.base import AccessSource, Prompts
from sessiontui.core.access import Access, Offer
from sessiontui.core.errors import UsageError


class AccessBook:
    def __init__(self, sources: Sequence[AccessSource]) -> None:
        self.sources = list(sources)

    def source(self, offer: Offer) -> AccessSource:
        for source in self.sources:
            if source.kind == offer.source:
                return source
        raise UsageError(f"no source of access of kind {offer.source!r}")

    def offers(self) -> list[Offer]:
        """Everything the operator may ask for, source by source (may call AWS)."""
        return [offer for source in self.sources for offer in source.offers()]

    def find(self, name: str) -> Offer:
        """The offer the operator named; a UsageError listing the known names otherwise."""
        for source in self.sources:
            found = source.find(name)
            if found is not None:
                return found
        offers = self._cheap_offers()
        # Identity Center's sign-in-and-list line is a way to roles, not a role
        known = ", ".join(o.name for o in offers if o.needs != "listing") or "none configured"
        hint = "add it under [roles.NAME] in the config, or as a profile with role_arn in ~/.aws/config"
        if any(o.needs == "listing" for o in offers):
            hint = "or name an Identity Center role as ACCOUNT/PERMISSION_SET; " + hint
        raise UsageError(f"unknown role {name!r} (known: {known})", hint)

    def cached(self, offer: Offer) -> Access | None:
        return self.source(offer).cached(offer)

    def cached_seconds(self, offer: Offer) -> float | None:
        return self.source(offer).cached_seconds(offer)

    def obtain(self, offer: Offer, duration: int | None, prompts: Prompts) -> Access:
        return self.source(offer).obtain(offer, duration, prompts)

    def access(self, name: str, duration: int | None, prompts: Prompts) -> Access:
        """Access for `name`: what is held already unless a duration is asked for, else new."""
        offer = self.find(name)
        if duration is None:
            held = self.cached(offer)
            if held is not None:
                return held
        return self.obtain(offer, duration, prompts)

    def forget(self) -> int:
        return sum(source.forget() for source in self.sources)

    def _cheap_offers(self) -> list[Offer]:
        # for an error message: a source whose listing fails (no sign-in yet) must not hide the rest
        found: list[Offer] = []
        for source in self.sources:
            try:
                found.extend(source.offers())
            except Exception:  # the message is about the unknown name, not about this source
                continue
        return found
