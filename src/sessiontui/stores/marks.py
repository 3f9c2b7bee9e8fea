"""The operator's favourites and recent targets, kept in the private state folder.

One small JSON file (0600 in a 0700 folder), replaced atomically. The TUI and `--connect` may
run at the same time: each change reads the file afresh under a lock and writes it back, so
neither undoes the other's.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path

from sessiontui.core.marks import Marks
from sessiontui.stores import paths

FILE = "marks.json"
LOCK = "marks.lock"


class MarksStore:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else paths.state_dir()

    @property
    def file(self) -> Path:
        return self.directory / FILE

    def load(self) -> Marks:
        try:
            return Marks.from_json(json.loads(self.file.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return Marks()

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        return paths.private_lock(self.directory, LOCK)

    def update(self, change: Callable[[Marks], object]) -> Marks:
        """Apply `change` to the marks on disk and write them back; returns the new marks."""
        with self._locked():
            marks = self.load()
            change(marks)
            paths.write_private(self.file, json.dumps(marks.to_json(), indent=1) + "\n")
            return marks

    def touch(self, node_id: str) -> Marks:
        return self.update(lambda m: m.touch(node_id))
