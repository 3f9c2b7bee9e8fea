"""Shell completion: `sessiontui --completion bash|zsh|fish` prints a script, and the hidden
`--complete-names KIND` gives the script role and node names at TAB time.

The scripts are generated from the argparse parser itself, so a new flag is completed as soon
as the script is generated again (`eval "$(sessiontui --completion bash)"` in ~/.bashrc does it
at each shell start). Names come from the config and the inventory cache only: no network call,
and nothing here imports boto3, so a TAB answers in the time Python takes to start.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sessiontui.core.untrusted import completion_candidate

if TYPE_CHECKING:
    from sessiontui.config import Config

SHELLS = ("bash", "zsh", "fish")
# which names an option's value is: by the option's dest, so new flags of the same kind only
# need a line here (flags with `choices` complete those without any)
NAME_KINDS = {
    "role": "roles",
    "credentials": "roles",
    "connect": "nodes",
    "ssh_proxy": "nodes",
    "request_access": "nodes",
    "profile": "profiles",
    "region": "regions",
}
KINDS = ("roles", "nodes", "profiles", "regions")
HELPER = "--complete-names"


@dataclass(frozen=True)
class Flag:
    names: tuple[str, ...]  # --long (and -s) spellings
    help: str
    takes_value: bool
    repeatable: bool
    choices: tuple[str, ...] = ()
    kind: str = ""  # one of KINDS: names from --complete-names
    metavar: str = ""


def flags(parser: argparse.ArgumentParser) -> list[Flag]:
    """The parser's visible options, as the scripts describe them."""
    out = []
    for action in parser._actions:  # argparse has no public list of its actions
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        takes_value = action.nargs != 0
        choices = tuple(str(c) for c in action.choices) if action.choices else ()
        metavar = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
        out.append(
            Flag(
                names=tuple(action.option_strings),
                help=(action.help or "").replace("%%", "%"),
                takes_value=takes_value,
                repeatable=isinstance(action, argparse._AppendAction),
                choices=choices,
                kind=NAME_KINDS.get(action.dest, "") if takes_value and not choices else "",
                metavar=metavar,
            )
        )
    return out


# ---- names, for --complete-names -------------------------------------------------------------


def names(kind: str) -> list[str]:
    """Completions of one kind, from local files only; nothing (never an error) when unknown.
    Names with a control in them are left out: one name a line is what the scripts read."""
    return [n for n in _names(kind) if completion_candidate(n) is not None]


def _names(kind: str) -> list[str]:
    try:
        if kind == "roles":
            return sorted(_config().roles)
        if kind == "profiles":
            from sessiontui.aws_profiles import read_aws_profiles

            return sorted(read_aws_profiles())
        if kind == "regions":
            found = set(_config().regions)
            found.update(region for _, _, region in _cached_nodes())
            return sorted(found)
        if kind == "nodes":
            return _node_names()
    except Exception:  # a TAB must never print a traceback into the operator's command line
        return []
    return []


def _config() -> Config:
    from sessiontui.config import load_config

    return load_config()


def _node_names() -> list[str]:
    seen: dict[str, None] = {}
    ids: dict[str, None] = {}
    for node_id, name, _ in _cached_nodes():
        if name:
            seen[name] = None
        ids[node_id] = None
    return sorted(seen) + sorted(ids)


def _cached_nodes() -> Iterator[tuple[str, str, str]]:
    """(id, Name, region) of every node in every cached inventory (each profile and role)."""
    from sessiontui.stores import paths
    from sessiontui.stores.inventory import FIELDS, VERSION

    at_id, at_name, at_region = (FIELDS.index(f) for f in ("id", "name", "region"))
    folder = paths.inventory_dir()
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.json")):
        if path.name.endswith(".head.json"):
            continue  # the whole fleet's file holds these rows too
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != VERSION or tuple(data.get("fields", ())) != FIELDS:
                continue
            for row in data["rows"]:
                yield str(row[at_id]), str(row[at_name]), str(row[at_region])
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            continue


# ---- the scripts ----------------------------------------------------------------------------


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    prog = parser.prog
    found = flags(parser)
    if shell == "bash":
        return _bash(prog, found)
    if shell == "zsh":
        return _zsh(prog, found)
    return _fish(prog, found)


def _words(values: Iterable[str]) -> str:
    return " ".join(values)


def _lines(values: Iterable[str]) -> str:
    """Inside bash's $'...': one value a line, as _sessiontui_reply reads its words."""
    return "\\n".join(v.replace("\\", "\\\\").replace("'", "\\'") for v in values)


def _bash(prog: str, found: list[Flag]) -> str:
    func = "_" + prog.replace("-", "_")
    cases = []
    for kind in KINDS:
        opts = [n for f in found if f.kind == kind for n in f.names]
        if opts:
            cases.append(
                f"        {'|'.join(opts)})\n"
                f'            _sessiontui_reply "$("$cmd" {HELPER} {kind} 2>/dev/null)"; return ;;'
            )
    for f in found:
        if f.choices:
            cases.append(
                f"        {'|'.join(f.names)})\n"
                f"            _sessiontui_reply $'{_lines(f.choices)}'; return ;;"
            )
    free = [n for f in found if f.takes_value and not f.kind and not f.choices for n in f.names]
    if free:
        cases.append(f"        {'|'.join(free)})\n            return ;;  # a value of its own")
    all_names = _words(n for f in found for n in f.names)
    return f"""\
# {prog} completion for bash. Load it with: eval "$({prog} --completion bash)"
_sessiontui_reply() {{
    # one candidate per line (names may hold spaces), quoted for the command line; matched as
    # plain text here, since compgen -W would expand $(...) and ${{...}} in the names (a node's
    # Name tag is anyone's who may tag it)
    local word
    COMPREPLY=()
    while IFS= read -r word; do
        [[ -n "$word" && "$word" == "$cur"* ]] && COMPREPLY+=("$(printf '%q' "$word")")
    done <<< "$1"
}}

{func}() {{
    local cmd="${{COMP_WORDS[0]}}" cur="${{COMP_WORDS[COMP_CWORD]}}" prev=""
    (( COMP_CWORD > 0 )) && prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    # readline splits --role=Pr at "=": (--role = Pr), or (--role =) right after the "="
    if [[ "$cur" == "=" ]]; then
        cur=""
    elif [[ "$prev" == "=" ]] && (( COMP_CWORD > 1 )); then
        prev="${{COMP_WORDS[COMP_CWORD-2]}}"
    fi
    case "$prev" in
{chr(10).join(cases)}
    esac
    if [[ "$cur" == -* || -z "$cur" ]]; then
        local IFS=$' \\t\\n'
        COMPREPLY=($(compgen -W "{all_names}" -- "$cur"))
    fi
}}
complete -F {func} {prog}
"""


def _zsh_text(text: str) -> str:
    """Help text inside a single-quoted _arguments spec."""
    return text.replace("'", "'\\''").replace("[", "\\[").replace("]", "\\]").replace(":", "\\:")


def _zsh(prog: str, found: list[Flag]) -> str:
    specs = []
    for f in found:
        if f.kind:
            action = f"{{_sessiontui_names {f.kind}}}"
        elif f.choices:
            action = "(" + " ".join(f.choices) + ")"
        else:
            action = " "  # a value of its own: nothing to offer
        for name in f.names:
            repeat = "*" if f.repeatable else ""
            value = f":{_zsh_text(f.metavar)}:{action}" if f.takes_value else ""
            specs.append(f"    '{repeat}{name}[{_zsh_text(f.help)}]{value}' \\")
    return f"""\
#compdef {prog}
# {prog} completion for zsh. Load it with: eval "$({prog} --completion zsh)"
# (after compinit), or save it as _{prog} in a folder of $fpath.
_sessiontui_names() {{
    local -a found
    found=("${{(@f)$(${{words[1]}} {HELPER} $1 2>/dev/null)}}")
    (( ${{#found}} )) && [[ -n "${{found[1]}}" ]] && compadd -a found
}}

_{prog.replace("-", "_")}() {{
    _arguments -s \\
{chr(10).join(specs)}
    && return 0
}}

if [[ "$funcstack[1]" == "_{prog.replace("-", "_")}" ]]; then
    _{prog.replace("-", "_")} "$@"
else
    compdef _{prog.replace("-", "_")} {prog}
fi
"""


def _fish_text(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish(prog: str, found: list[Flag]) -> str:
    lines = [
        f"# {prog} completion for fish. Load it with: {prog} --completion fish | source",
        f"# (or save it as ~/.config/fish/completions/{prog}.fish)",
        "function __sessiontui_names",
        "    set -l cmd (commandline -opc)[1]",
        f"    $cmd {HELPER} $argv 2>/dev/null",
        "end",
        f"complete -c {prog} -f",
    ]
    for f in found:
        spell = []
        for name in f.names:
            spell.append(f"-l {name[2:]}" if name.startswith("--") else f"-s {name[1:]}")
        parts = [f"complete -c {prog}", *spell, "-d", _fish_text(f.help)]
        if f.kind:
            parts += ["-x", "-a", f"'(__sessiontui_names {f.kind})'"]
        elif f.choices:
            parts += ["-x", "-a", _fish_text(" ".join(f.choices))]
        elif f.takes_value:
            parts += ["-x"]
        lines.append(" ".join(parts))
    return "\n".join(lines) + "\n"
