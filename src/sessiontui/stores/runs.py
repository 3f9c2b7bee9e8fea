"""Recent Run Command runs, kept in the private state folder so they can be opened again.

One JSON file a run (0600 in a 0700 folder), named so that the newest sorts last; only the
newest KEEP are kept. What a node printed is stored as AWS gave it: it is data, shown only through
core.untrusted's functions.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from sessiontui.stores import paths

KEEP = 50
_NAME = re.compile(r"^\d{8}T\d{6}\d*-[\w-]+\.json$")


class RunStore:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else paths.state_dir() / "runs"

    def save(self, run_id: str, started: datetime, record: dict[str, Any]) -> Path:
        safe_id = re.sub(r"[^\w-]", "_", run_id)[:64] or "run"
        path = self.directory / f"{started.strftime('%Y%m%dT%H%M%S%f')}-{safe_id}.json"
        paths.ensure_private_dir(self.directory)
        paths.write_private(path, json.dumps(record, indent=1) + "\n")
        for old in self._files()[:-KEEP]:
            old.unlink(missing_ok=True)
        return path

    def _files(self) -> list[Path]:
        try:
            return sorted(p for p in self.directory.iterdir() if _NAME.match(p.name))
        except OSError:
            return []

    def recent(self, limit: int = KEEP) -> list[dict[str, Any]]:
        """The newest runs first; a file that cannot be read is skipped."""
        found: list[dict[str, Any]] = []
        for path in reversed(self._files()[-limit:]):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                found.append(data)
        return found
