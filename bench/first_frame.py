"""Child process: the real launch path, headless, timed from spawn to the first frame with rows.

argv[1] is the parent's time.time() just before it spawned us, so interpreter start-up and every
import count. Prints one JSON line.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time


def main() -> None:
    t0 = float(sys.argv[1])
    from sessiontui.cli import build_parser
    from sessiontui.runtime import Runtime

    # the organisation run launches with its --role per account (bench/org.py), as an operator would
    args = build_parser().parse_args(json.loads(os.environ.get("BENCH_ARGS", "[]")))
    gc.disable()  # as sessiontui.cli._run does before a TUI launch
    with Runtime.open(args) as rt:
        from sessiontui.ui.launch import services_for_launch

        services = services_for_launch(rt)  # as ui.launch.run_tui: then Textual's import
        from sessiontui.ui.app import SessiontuiApp
        from sessiontui.ui.widgets.node_list import NodeList

        app = SessiontuiApp(services)
        result: dict[str, float] = {}

        def check() -> None:
            # after a refresh: the frame just painted; rows from the cache are in it when count > 0
            if "first_frame_s" in result:
                return
            try:
                shown = app.screen.query_one(NodeList).visible_count
            except Exception:
                shown = 0
            if shown:
                result["first_frame_s"] = time.time() - t0
                result["rows"] = shown
                app.exit()
            else:
                app.call_after_refresh(check)

        app.call_after_refresh(check)
        app.run(headless=True, size=(160, 48))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
