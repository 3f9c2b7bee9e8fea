"""Snapshot tests: the README's screens, frame for frame (pytest-textual-snapshot).

The scenes live in ui_scenes.py, shared with `make screenshots`: the real app on the real
sandbox, with the clock, the fleet and the terminal size pinned. Baselines are in
__snapshots__/test_snapshots/; after an intended change to the UI:

    .venv/bin/python -m pytest tests/test_snapshots.py --snapshot-update

and look at the new SVGs (or snapshot_report.html, written when a comparison fails).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import ui_scenes

SCENE_NAMES = [scene.name for scene in ui_scenes.SCENES]


@pytest.mark.parametrize("name", SCENE_NAMES)
def test_screen(name: str, sandbox: Any, snap_compare: Any, tmp_path: Path) -> None:
    scene = ui_scenes.SCENES_BY_NAME[name]
    if not scene.snapshot:
        pytest.skip("its frame shows ids made at random (endpoints, security groups)")
    if scene.role is not None and sandbox.plugin_path is None:
        pytest.skip("the stand-in plugin is not available")
    if name == "forwards" and not ui_scenes.port_is_free(ui_scenes.PRESET_PORT):
        # the frame shows the preset's local port, so no other port will do
        pytest.skip(f"local port {ui_scenes.PRESET_PORT} (the demo preset's) is in use")
    with ui_scenes.staged(scene, sandbox, tmp_path) as stage:
        assert snap_compare(stage.app, terminal_size=scene.size, run_before=scene.run(stage))


def test_recorded_fleet_is_still_the_demo_fleet(sandbox: Any, tmp_path: Path) -> None:
    """The snapshots list the recorded fleet but open sessions on the sandbox's nodes: the two
    must name the same nodes, or a scene's StartSession finds no target."""
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.aws.inventory import list_fleet

    with ui_scenes.sandbox_environment(sandbox, tmp_path):
        live = list_fleet(ClientFactory(), list(sandbox.regions))
    assert not live.errors

    def identity(nodes: Any) -> list[tuple[Any, ...]]:
        return sorted(
            (n.id, n.region, n.display_name, n.ping_status, n.state, tuple(sorted(n.tags.items())))
            for n in nodes
        )

    assert identity(ui_scenes.load_fleet()) == identity(live.nodes), (
        "the demo fleet changed: run `python scripts/screenshots.py --record-fleet`, then "
        "`pytest tests/test_snapshots.py --snapshot-update` and `make screenshots`"
    )
