"""The stand-in for a node's own host, shared by what runs "on" a node: session shells
(datachannel/workers.py) and Run Command scripts (ssm_commands.py).

Both run on this machine, so a node is an environment: a private home, the user the agent runs
the work as, and the node's name wherever a program asks for the host name.
"""

from __future__ import annotations

import os
import shlex

SHELL_USER = "ssm-user"  # Session Manager's shells run as ssm-user
COMMAND_USER = "root"  # Run Command's scripts run as the agent's own user: root on Linux


def host_env(node_name: str, home: str, user: str) -> dict[str, str]:
    """The environment a program sees on the node (no variable of the sandbox's own leaks in)."""
    return {
        "HOME": home,
        "USER": user,
        "LOGNAME": user,
        "SHELL": "/bin/bash",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        # The node name comes from the environment so no quoting of it is ever needed.
        "SSM_NODE_NAME": node_name,
    }


def host_functions() -> str:
    """bash functions standing in for the node's identity (`hostname`, `whoami`)."""
    return (
        'hostname() { printf "%s\\n" "$SSM_NODE_NAME"; }\n'
        "export -f hostname\n"
        'whoami() { printf "%s\\n" "$USER"; }\n'
        "export -f whoami\n"
    )


def write_rcfile(home: str, prompt: bool = True) -> str:
    """A bash start-up file in `home`: the host's functions, a prompt naming the node, cd home."""
    rc = os.path.join(home, ".sessiontui_rc")
    with open(rc, "w", encoding="utf-8") as fh:
        if prompt:
            fh.write('PS1="${USER}@${SSM_NODE_NAME}:\\w\\$ "\n')
        fh.write(host_functions())
        fh.write(f"cd {shlex.quote(home)}\n")
    return rc
