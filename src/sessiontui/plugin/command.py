"""The plugin's argv and environment, exactly as the AWS CLI builds them (ssm-plugin-contract.md).

Always a list, never a shell string; in env mode the session token stays out of argv, because
`ps` shows argv to every user of the machine.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sessiontui.aws.sessions import StartedSession
from sessiontui.core.credentials import Credentials
from sessiontui.plugin.locate import PluginInfo

RESPONSE_VAR = "AWS_SSM_START_SESSION_RESPONSE"
OPERATION = "StartSession"
# The plugin would load these and fail (MFA prompts, wrong account): it gets explicit keys instead.
_DROPPED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")


@dataclass(frozen=True)
class PluginCommand:
    argv: list[str]
    env: dict[str, str] = field(repr=False)  # holds the credentials and (env mode) the token
    session_id: str

    def __repr__(self) -> str:
        shown = [
            a if i != 1 or a == RESPONSE_VAR else "<response>" for i, a in enumerate(self.argv)
        ]
        return f"PluginCommand(argv={shown!r}, session_id={self.session_id!r})"


def build_command(
    plugin: PluginInfo,
    session: StartedSession,
    credentials: Credentials,
    base_env: Mapping[str, str] | None = None,
) -> PluginCommand:
    response = json.dumps(
        {
            "SessionId": session.session_id,
            "TokenValue": session.token_value,
            "StreamUrl": session.stream_url,
        }
    )
    request: dict[str, Any] = {"Target": session.target}
    if session.document:
        request["DocumentName"] = session.document
    if session.parameters:
        request["Parameters"] = session.parameters
    if session.reason:
        request["Reason"] = session.reason

    source = os.environ if base_env is None else base_env
    env = {k: v for k, v in source.items() if k not in _DROPPED and not k.startswith(RESPONSE_VAR)}
    env.update(credentials.env())
    if not credentials.session_token:
        env.pop("AWS_SESSION_TOKEN", None)  # a stale inherited token would poison long-lived keys
    env["AWS_REGION"] = session.region
    env["AWS_DEFAULT_REGION"] = session.region
    if plugin.env_mode:
        env[RESPONSE_VAR] = response

    argv = [
        str(plugin.path),
        RESPONSE_VAR if plugin.env_mode else response,
        session.region,
        OPERATION,
        "",  # no profile: the plugin uses the role's keys from its environment
        json.dumps(request),
        session.endpoint_url,
    ]
    return PluginCommand(argv=argv, env=env, session_id=session.session_id)
