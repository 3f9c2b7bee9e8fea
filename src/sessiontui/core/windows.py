"""A shell in a new terminal window: the command that runs `sessiontui --connect` there.

Pure: no I/O. The new window is another process started by tmux (or the configured
`terminal_command`), and its command line is visible to anyone who can run `ps`. So nothing
secret crosses on it: the access goes by name (`--role`, whose credentials the new process reads
from the private credential cache), the AWS set-up by the names of files and endpoints, and the
variables that hold secrets are never copied (`check_no_secrets` is the last look before spawning).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sessiontui.core.untrusted import shell_word, tmux_text

# What the new window needs to reach the same AWS, with the same files and caches. None of these
# holds a secret: they name endpoints, regions, profiles, files and folders.
PASSED_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CA_BUNDLE",
    "AWS_EC2_METADATA_DISABLED",
    "SESSIONTUI_CONFIG",
    "SESSIONTUI_PLUGIN",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_STATE_HOME",
    "XDG_DATA_HOME",
)
# base keys from the environment: the new window gets them from its own environment or not at all
ENV_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")

# what the window's shell says when `--connect` fails, instead of the window vanishing with it
_KEEP_OPEN = (
    '"$@"; rc=$?; if [ "$rc" -ne 0 ]; then '
    'printf "\\nsessiontui exited with status %s; press Enter to close this window\\n" "$rc"; '
    "read -r _; fi; exit $rc"
)
WINDOW_NAME_MAX = 30


@dataclass(frozen=True)
class WindowPlan:
    """What the new window's `sessiontui --connect` needs, all of it by name."""

    node_id: str
    node_name: str
    region: str
    role: str | None = None  # the access's name, as --role takes it
    reason: str | None = None
    profile: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)  # copied: names and paths only
    unset: tuple[str, ...] = ()  # cleared in the window (base keys it must not pick up)


def passed_env(environ: Mapping[str, str]) -> dict[str, str]:
    return {name: environ[name] for name in PASSED_ENV if environ.get(name)}


def connect_argv(python: str, plan: WindowPlan) -> list[str]:
    """`sh -c ... env [-u NAME]... NAME=VALUE... python -m sessiontui --connect NODE ...`."""
    argv = ["sh", "-c", _KEEP_OPEN, "sessiontui-window", "env"]
    for name in plan.unset:
        argv += ["-u", name]
    argv += [f"{k}={v}" for k, v in plan.env.items()]
    argv += [python, "-m", "sessiontui", "--connect", plan.node_id, "--region", plan.region]
    if plan.profile:
        argv += ["--profile", plan.profile]
    if plan.role:
        argv += ["--role", plan.role]
    if plan.reason:
        argv += ["--reason", plan.reason]
    return argv


def window_name(node_name: str) -> str:
    """The node's name for `tmux new-window -n`, which tmux expands as a format: escaped there."""
    return tmux_text(" ".join(node_name.split()) or "shell", WINDOW_NAME_MAX)


# tmux prints the new window's id and index, so the TUI can follow it
TMUX_FORMAT = "#{window_id} #{window_index}"


def tmux_argv(tmux: str, name: str, command: Sequence[str], after: str | None = None) -> list[str]:
    """`tmux new-window`: given several arguments, tmux execs them as they are (no shell, no
    format expansion); `name` is a format, so it comes from `window_name`."""
    argv = [tmux, "new-window", "-P", "-F", TMUX_FORMAT, "-n", name]
    if after:  # right after the TUI's own window (its @id)
        argv += ["-a", "-t", after]
    return [*argv, *command]


def terminal_argv(terminal_command: Sequence[str], command: Sequence[str]) -> list[str]:
    """The configured launcher (`kitty @ launch --type=tab`) followed by the command to run."""
    return [*terminal_command, *command]


def parse_tmux_answer(text: str) -> tuple[str, str]:
    """`@5 3` -> ("@5", "3"); ValueError when tmux said something else."""
    parts = text.split()
    if len(parts) != 2 or not parts[0].startswith("@"):
        raise ValueError(f"tmux answered {text.strip()!r}, not a window id")
    return parts[0], parts[1]


def check_no_secrets(argv: Iterable[str], secrets: Iterable[str | None]) -> None:
    """Raise ValueError when any secret value shows anywhere in argv (defence in depth)."""
    values = [s for s in secrets if s and len(s) >= 8]
    for arg in argv:
        if any(s in arg for s in values):
            raise ValueError("refusing to start a window whose command line holds a secret")


def shown(argv: Sequence[str]) -> str:
    return " ".join(shell_word(a) for a in argv)


@dataclass
class WindowShell:
    """A shell opened in another window: it runs under its own process, not the TUI's."""

    node_id: str
    node_name: str
    started_at: datetime
    ends_at: datetime | None  # the access's end: the window's session ends then at the latest
    via: str  # "tmux" or the launcher's program name
    window_id: str | None = None  # tmux's @N, when tmux opened it
    window_index: str | None = None

    @property
    def label(self) -> str:
        if self.window_index is not None:
            return f"window {self.window_index}"
        return f"a {self.via} window"
