"""`make screenshots`: the README's pictures, taken from the real app on the demo sandbox.

Each scene (tests/ui_scenes.py, shared with tests/test_snapshots.py) runs the TUI headless at a
fixed size on a fixed clock and the recorded demo fleet, then saves screenshots/NAME.svg and,
when CairoSVG is installed (the `dev` extra), screenshots/NAME.png.

    python scripts/screenshots.py                 # every scene
    python scripts/screenshots.py main mfa        # some of them
    python scripts/screenshots.py --record-fleet  # re-record tests/fixtures/demo_fleet.json
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "screenshots"
# the scenes live with the tests; `src` too, so the script runs from a plain checkout
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "src")]

import ui_scenes  # noqa: E402  (needs the path above)

# a PNG at 1.5 times the SVG's size keeps box drawing and small text crisp on a README
PNG_SCALE = 1.5
# Rich lays the SVG out on cells 0.61em wide, names Fira Code (browsers fetch it from a CDN)
# and relies on textLength to keep runs on the grid. Cairo fetches nothing, ignores textLength
# and rounds glyph advances, so long runs drift off their columns. For the PNG every character
# gets its own x on the grid, in a monospace font found locally.
CELL = 0.61 * 20  # Rich's char_width for its 20px font
_MATRIX_FONT = re.compile(r"font-family: Fira Code, monospace;")
_LOCAL_FONT = 'font-family: "DejaVu Sans Mono", monospace;'
_TEXT_RUN = re.compile(r'(<text class="[^"]*-r\d+" x=")([\d.]+)("[^>]*>)([^<]*)(</text>)')


def _on_grid(match: re.Match[str]) -> str:
    from rich.cells import cell_len

    start = float(match[2])
    xs, cells = [], 0
    for char in html.unescape(match[4]):
        xs.append(f"{start + cells * CELL:.1f}")
        cells += cell_len(char)
    return f"{match[1]}{' '.join(xs) or match[2]}{match[3]}{match[4]}{match[5]}"


def png_converter() -> tuple[Any, str]:
    """cairosvg's svg2png, or None and why not (the SVGs are still written)."""
    try:
        import cairosvg
    except ImportError:
        return (
            None,
            "CairoSVG is not installed: pip install -e '.[dev]' (or `pip install cairosvg`)",
        )
    except OSError as exc:  # the module is there, the cairo library is not
        return None, f"CairoSVG cannot load the cairo library ({exc}): apt-get install libcairo2"
    return cairosvg.svg2png, ""


def for_cairo(svg: str) -> str:
    fixed, fonts = _MATRIX_FONT.subn(_LOCAL_FONT, svg)
    fixed, runs = _TEXT_RUN.subn(_on_grid, fixed)
    if not fonts or not runs:
        print("screenshots: Rich's SVG layout changed; the PNG may drift", file=sys.stderr)
    return fixed


async def take(scene: ui_scenes.Scene, sandbox: object, home: Path) -> str:
    with ui_scenes.staged(scene, sandbox, home) as stage:
        app = stage.app
        async with app.run_test(size=scene.size, notifications=True) as pilot:
            await scene.run(stage)(pilot)
            svg = app.export_screenshot(title=f"sessiontui --demo: {scene.name}")
            app.exit()
    return svg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenes", nargs="*", help=f"default: all of {list(ui_scenes.SCENES_BY_NAME)}"
    )
    parser.add_argument(
        "--record-fleet", action="store_true", help="re-record the demo fleet fixture"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    unknown = [n for n in args.scenes if n not in ui_scenes.SCENES_BY_NAME]
    if unknown:
        parser.error(f"unknown scene(s) {unknown}; known: {list(ui_scenes.SCENES_BY_NAME)}")
    scenes = [ui_scenes.SCENES_BY_NAME[n] for n in args.scenes] or list(ui_scenes.SCENES)
    to_png, why_not = png_converter()
    if to_png is None:
        print(f"screenshots: SVG only. {why_not}", file=sys.stderr)

    from sessiontui_sandbox import Sandbox

    args.out.mkdir(parents=True, exist_ok=True)
    with Sandbox() as sandbox, tempfile.TemporaryDirectory(prefix="sessiontui-shots-") as tmp:
        if args.record_fleet:
            count = ui_scenes.record_fleet(sandbox)
            print(f"recorded {count} nodes in {ui_scenes.FIXTURE.relative_to(ROOT)}")
            if not args.scenes:
                return 0
        for scene in scenes:
            if scene.name == "forwards" and not ui_scenes.port_is_free(ui_scenes.PRESET_PORT):
                print(
                    f"screenshots: {scene.name}: local port {ui_scenes.PRESET_PORT} is in use "
                    "(the demo preset's port); free it and run again",
                    file=sys.stderr,
                )
                return 1
            began = time.monotonic()
            svg = asyncio.run(take(scene, sandbox, Path(tmp) / scene.name))
            svg_path = args.out / f"{scene.name}.svg"
            svg_path.write_text(svg, encoding="utf-8")
            made = [svg_path.name]
            if to_png is not None:
                png_path = args.out / f"{scene.name}.png"
                to_png(bytestring=for_cairo(svg).encode(), write_to=str(png_path), scale=PNG_SCALE)
                made.append(png_path.name)
            print(f"{scene.name:<14} {', '.join(made)}  ({time.monotonic() - began:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
