"""Child process: the DataTable baseline on the same cached fleet."""

from __future__ import annotations

import asyncio
import json

import sessiontui.ui  # noqa: F401  (sets the frame pacing before Textual loads, as for the product)
from bench.measure import rss_mb


def main() -> None:
    from bench.datatable_baseline import run
    from sessiontui.cli import build_parser
    from sessiontui.runtime import Runtime

    with Runtime.open(build_parser().parse_args([])) as rt:
        loaded = rt.inventory_cache().load()
    assert loaded is not None, "no cached inventory"
    out = asyncio.run(run(loaded[0]))
    out["rss_mb"] = round(rss_mb(), 1)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
