"""The TUI's side of favourites and recent targets: `*` marks the node under the cursor, and a
shell or forward opened makes its node the most recent. The screen changes at once; the file
(marks_store) is read and written in thread workers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sessiontui.core.marks import Marks
from sessiontui.core.node import Node

if TYPE_CHECKING:
    from sessiontui.stores.marks import MarksStore
    from sessiontui.ui.app import SessiontuiApp


class MarksKeeper:
    def __init__(self, app: SessiontuiApp, store: MarksStore | None = None) -> None:
        self.app = app
        self._store = store
        self.marks = Marks()

    @property
    def store(self) -> MarksStore:
        if self._store is None:
            from sessiontui.stores.marks import MarksStore

            self._store = MarksStore()
        return self._store

    def load(self) -> None:
        """After the first frame: what earlier runs marked."""
        self.app.run_worker(self._load, thread=True, group="marks", exit_on_error=False)

    def _load(self) -> None:
        self.app.call_from_thread(self._show, self.store.load())

    def _show(self, marks: Marks) -> None:
        self.marks.replace_with(marks)
        self.app.main_screen.node_list.set_marks(self.marks)

    def toggle(self, node: Node | None) -> None:
        if node is None:
            return
        on = self.marks.toggle_favourite(node.id)
        self.app.main_screen.node_list.set_marks(self.marks)
        self.app.notify(
            f"{node.display_name} is a favourite (is:fav)"
            if on
            else f"{node.display_name} is no longer a favourite",
            timeout=3,
        )
        self._save(lambda m: m.set_favourite(node.id, on))

    def touch(self, node: Node) -> None:
        self.marks.touch(node.id)
        self._save(lambda m: m.touch(node.id))

    def _save(self, change: Callable[[Marks], object]) -> None:
        def work() -> None:
            try:
                saved = self.store.update(change)
            except OSError as exc:
                self.app.call_from_thread(
                    self.app.notify, f"favourites not saved: {exc}", severity="warning"
                )
                return
            # what another sessiontui changed meanwhile shows up too
            self.app.call_from_thread(self._show, saved)

        self.app.run_worker(work, thread=True, group="marks", exit_on_error=False)
