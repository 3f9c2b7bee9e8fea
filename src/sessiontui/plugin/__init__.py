"""session-manager-plugin: locate, argv/env, runners for shells and forwards, the supervisor.

Import the submodules directly (`sessiontui.plugin.supervisor`); this package imports nothing so
`--version` and `--help` stay fast.
"""
