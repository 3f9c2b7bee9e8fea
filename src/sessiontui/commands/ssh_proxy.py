"""`sessiontui --ssh-proxy HOST PORT` (OpenSSH's ProxyCommand) and `sessiontui --ssh-config`.

The proxy's stdin and stdout are ssh's protocol stream: the plugin inherits them (plugin/stream.py)
and nothing of ours is ever written to stdout. Words for the person go through `say` (stderr),
and when an MFA code or a reason must be typed, the question goes to the controlling terminal
(/dev/tty), never to stdin.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import termios
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from sessiontui.core.errors import AuthError, ExitCode, NotConnectableError, UsageError
from sessiontui.core.node import Node, sort_key
from sessiontui.core.untrusted import shell_word, ssh_comment, ssh_host_alias

if TYPE_CHECKING:
    from sessiontui.core.access import Access
    from sessiontui.runtime import AskCode, Runtime

Say = Callable[[str], None]
TTY = "/dev/tty"


# -- the controlling terminal -----------------------------------------------------------------------


@contextlib.contextmanager
def _tty() -> Iterator[int | None]:
    try:
        fd = os.open(TTY, os.O_RDWR | os.O_NOCTTY)
    except OSError:
        yield None
        return
    try:
        yield fd
    finally:
        os.close(fd)


def _read_tty(prompt: str, echo: bool) -> str | None:
    """One line typed on /dev/tty (None when there is no terminal or nothing was typed)."""
    with _tty() as fd:
        if fd is None:
            return None
        old = termios.tcgetattr(fd)
        try:
            if not echo:
                quiet = list(old)
                quiet[3] &= ~termios.ECHO
                termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)
            os.write(fd, prompt.encode())
            chunks: list[bytes] = []
            while not chunks or not chunks[-1].endswith(b"\n"):
                data = os.read(fd, 256)
                if not data:
                    break
                chunks.append(data)
        except (OSError, KeyboardInterrupt):
            return None
        finally:
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(fd, termios.TCSAFLUSH, old)
                if not echo:
                    os.write(fd, b"\n")
        return b"".join(chunks).decode(errors="replace").strip() or None


def tty_ask_code(serial: str) -> str | None:
    """The MFA prompt of the proxy: stdin belongs to ssh, so ask on the terminal, or fail."""
    with _tty() as fd:
        if fd is None:
            raise AuthError(
                "an MFA code is needed and there is no terminal to ask for it on",
                # never --mfa-code in a ProxyCommand: every local user sees argv in `ps`
                "run `sessiontui --list --role ROLE` first to cache the role's credentials, "
                "or set [mfa] totp_command in the config",
            )
    return _read_tty(f"sessiontui: MFA code for {serial}: ", echo=False)


# -- --ssh-proxy ------------------------------------------------------------------------------------


def check_port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise UsageError(f"--ssh-proxy PORT must be a port number (1-65535), not {text!r}")
    return port


def _accesses(rt: Runtime, ask: AskCode | None, say: Say) -> list[Access]:
    """--role (repeatable: one fleet across the roles' accounts), held or obtained."""
    accesses = rt.accesses(ask=ask, on_retry=say) if rt.roles else []
    for access in accesses:
        if access.warning:
            say(f"warning: {access.warning}")
    return accesses


def _fleet(rt: Runtime, accesses: list[Access], say: Say) -> list[Node]:
    """What the roles see (each node stamped with its account), or the base identity."""
    from sessiontui.aws.inventory import list_fleet, raise_if_failed

    if accesses:
        result = rt.list_union(accesses)
    else:
        rt.factory.require_credentials()
        result = list_fleet(rt.factory, rt.regions)
    raise_if_failed(result)
    for err in result.errors:
        say(f"warning: {err.region}: {err.message}")
    return list(result.nodes)


def _config_role(rt: Runtime, host: str) -> str | None:
    return rt.config.ssh.role_for(host)


def _opener(node: Node, accesses: list[Access]) -> tuple[Access | None, str | None]:
    """The node's own account's access that may open it, or why none may."""
    if not accesses:
        return None, None
    from sessiontui.operations.fleets import access_for

    return access_for(node, accesses)


def ssh_proxy(rt: Runtime, args: argparse.Namespace, say: Say) -> int:
    """Resolve HOST, open AWS-StartSSHSession to PORT on it, join the plugin to ssh's streams."""
    host, port_text = args.ssh_proxy
    port = check_port(port_text)
    from sessiontui.plugin.locate import probe_plugin

    # a missing plugin is found before any MFA code is spent; its version comes meanwhile
    plugin_ready = probe_plugin(getattr(rt.config, "plugin_path", None))
    if not rt.roles and (default := _config_role(rt, host)):
        rt.args.role = [default]  # the config's role for this host, as if ProxyCommand named it
    accesses = _accesses(rt, tty_ask_code, say)
    if not accesses:
        rt.factory.require_credentials()
    from sessiontui.commands.connect import resolve_node

    node = resolve_node(rt, accesses, host, say)
    access, why = _opener(node, accesses)
    if why:
        raise AuthError(f"{node.display_name} ({node.id}) is {why}", f"role {', '.join(rt.roles)}")
    factory = rt.factory_for(access) if access else rt.factory
    if not node.connectable:
        raise NotConnectableError(
            f"{node.display_name} ({node.id}) cannot take a session: {node.why}"
        )
    reason = (args.reason or "").strip() or None
    if reason is None and access is not None and access.reason_required:
        reason = _read_tty(f"sessiontui: reason (required by role {access.name}): ", echo=True)
        if reason is None:
            raise UsageError(
                f"role {access.name} requires a reason", "add --reason TEXT to the ProxyCommand"
            )

    from sessiontui.plugin.stream import ssh_document

    plugin = plugin_ready()
    if plugin.warning:
        say(f"warning: {plugin.warning}")

    # journalled like every session: a proxy killed mid-ssh leaves nothing open after the next start
    sup = rt.supervision(plugin).supervisor(
        factory.client("ssm", node.region), access, factory.frozen_credentials
    )
    document, params = ssh_document(port)
    result = sup.run_stream(node, document, params, node_name=node.display_name, reason=reason)
    if result.terminated is False:
        say(f"warning: session {result.session_id} may still be open: {result.terminate_error}")
    if result.signum is not None:
        # ssh sends SIGHUP to its proxy whenever it exits: that is the normal end, said nothing
        return 128 + result.signum
    from sessiontui.plugin.output import Ending

    if result.how in (Ending.KILLED, Ending.CRASHED, Ending.START_FAILED):
        say(f"{node.display_name}: {result.reason}")
        return int(ExitCode.PLUGIN)
    if result.how == Ending.EXPIRED:
        say(f"{node.display_name}: {result.reason}")
    return int(ExitCode.OK)


# -- --ssh-config -----------------------------------------------------------------------------------


def _proxy_command(args: argparse.Namespace, node: Node) -> str:
    words = ["sessiontui", "--ssh-proxy", "%h", "%p", "--region", node.region]
    if args.profile:
        words += ["--profile", args.profile]
    for role in _roles(args):
        words += ["--role", role]
    if args.reason:
        words += ["--reason", args.reason]
    # ssh_config expands %-tokens in ProxyCommand and runs it with /bin/sh
    quoted = [w if w in ("%h", "%p") else shell_word(w).replace("%", "%%") for w in words]
    return " ".join(quoted)


def _roles(args: argparse.Namespace) -> list[str]:
    given = args.role or []
    return [given] if isinstance(given, str) else list(dict.fromkeys(given))


def ssh_config_text(nodes: list[Node], args: argparse.Namespace, accesses: list[Access]) -> str:
    """Host blocks for every node that can take a session; a comment for each one that cannot."""
    roles = ", ".join(_roles(args))
    role = f" under role {roles}" if roles else ""
    lines = [
        f"# sessiontui --ssh-config: SSH through Session Manager{role}; paste into ~/.ssh/config.",
        "# Add User (and IdentityFile) for your nodes; HostName is the instance id, which is",
        "# what the ProxyCommand resolves.",
    ]
    names: dict[str, int] = {}
    for n in nodes:
        if n.name:
            names[n.name] = names.get(n.name, 0) + 1
    skipped: list[str] = []
    for node in sorted(nodes, key=sort_key):
        # names, reasons (and, in principle, ids) are anyone's who may tag or register a node:
        # ssh_config has no quoting in comments, so they go through ssh_comment; a name or id
        # is a Host pattern only when every character is safe there
        label = ssh_comment(f"{node.display_name} ({node.id}, {node.region})")
        _, why = _opener(node, accesses)
        if why:
            skipped.append(
                f"# {label}: role {ssh_comment(roles)} may not open it: {ssh_comment(why)}"
            )
            continue
        if not node.connectable:
            skipped.append(f"# {label}: not connectable: {ssh_comment(node.why)}")
            continue
        if ssh_host_alias(node.id) is None:
            skipped.append(f"# {label}: its id cannot be a Host pattern")
            continue
        alias = node.name
        # comments on their own line: older OpenSSH reads `Host a # b` as three patterns
        lines.append("")
        if alias and names.get(alias, 0) > 1:
            lines.append(
                f"# {ssh_comment(alias)} ({node.region}): {names[alias]} nodes carry this name"
            )
            alias = ""
        elif alias and ssh_host_alias(alias) is None:
            lines.append(f"# {ssh_comment(repr(alias))} cannot be a Host alias")
            alias = ""
        hosts = f"{alias} {node.id}" if alias else node.id
        lines += [
            f"Host {hosts}",
            f"  HostName {node.id}",
            f"  ProxyCommand {_proxy_command(args, node)}",
        ]
    if skipped:
        lines += ["", "# left out:", *skipped]
    return "\n".join(lines) + "\n"


def ssh_config(rt: Runtime, args: argparse.Namespace, say: Say, emit: Say, ask: AskCode) -> int:
    from sessiontui.core.query import parse_query

    accesses = _accesses(rt, ask, say)
    query = parse_query(rt.query_text())
    nodes = [n for n in _fleet(rt, accesses, say) if query.matches(n)]
    emit(ssh_config_text(nodes, args, accesses).rstrip("\n"))
    return 0
