"""Identity Center's side of the WSGI layer: which requests are sso / sso-oidc (unsigned, known by
method and path), their rest-json replies, the sign-in pages, and the control keys.

Kept out of wsgi.py so that file only wires it in; replies are (status, body, content type,
headers) for wsgi.Reply.
"""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

from sessiontui_sandbox import sso_api, sso_oidc_api, sso_page
from sessiontui_sandbox.sso_directory import DEVICE_PATH, START_PATH, IdentityCenter, RestError

if TYPE_CHECKING:
    from sessiontui_sandbox.state import SandboxState

SERVICES = {"sso", "sso-oidc"}
PAGES = {DEVICE_PATH, START_PATH}
# POST /_sandbox/control keys -> IdentityCenter attributes
CONTROL_KEYS = {
    "sso_auto_approve": "auto_approve",
    "sso_access_token_seconds": "access_token_seconds",
    "sso_session_seconds": "session_seconds",
}
HTML = "text/html; charset=utf-8"

Answer = tuple[int, bytes, str, dict[str, str]]


def route(method: str, path: str) -> tuple[str, str] | None:
    """(service, operation) for an Identity Center call, which AWS leaves unsigned."""
    operation = sso_oidc_api.route(method, path)
    if operation is not None:
        return "sso-oidc", operation
    operation = sso_api.route(method, path)
    if operation is not None:
        return "sso", operation
    return None


def call(
    state: SandboxState,
    environ: dict[str, Any],
    service: str,
    operation: str,
    body: bytes,
    throttled: bool,
) -> Answer:
    """One sso-oidc or sso operation: rest-json, the error code in x-amzn-ErrorType."""
    headers = {"x-amzn-RequestId": secrets.token_hex(16)}
    try:
        if throttled:
            raise sso_api.portal_error("TooManyRequestsException", "Too many requests")
        if service == "sso-oidc":
            data = sso_oidc_api.handle(
                state.identity_center, operation, body, state.time(), state.endpoint_url
            )
        else:
            token = str(environ.get(sso_api.BEARER_ENVIRON_KEY, ""))
            data = sso_api.handle(state, operation, token, environ.get("QUERY_STRING", ""))
    except RestError as err:
        headers["x-amzn-ErrorType"] = err.code
        return err.status, json.dumps(err.body).encode(), "application/json", headers
    return 200, json.dumps(data).encode(), "application/json", headers


def page(state: SandboxState, environ: dict[str, Any], method: str, path: str) -> Answer:
    """The start URL's page and the device verification page (GET shows, POST decides)."""
    ic, now = state.identity_center, state.time()
    if path == START_PATH:
        return 200, sso_page.start_page(ic), HTML, {}
    if method == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        status, html = sso_page.decide(ic, body, now, state.page_key)
    else:
        query = environ.get("QUERY_STRING", "")
        status, html = sso_page.device_page(ic, query, now, state.page_key)
    return status, html, HTML, {}


def apply_control(ic: IdentityCenter, data: dict[str, Any]) -> None:
    if "sso_auto_approve" in data:
        ic.auto_approve = bool(data["sso_auto_approve"])
    for key in ("sso_access_token_seconds", "sso_session_seconds"):
        if key in data:
            value = int(data[key])
            if value < 1:
                raise ValueError(f"{key} must be at least 1")
            setattr(ic, CONTROL_KEYS[key], value)


def settings(ic: IdentityCenter) -> dict[str, Any]:
    return {key: getattr(ic, attr) for key, attr in CONTROL_KEYS.items()}


def keep_bearer_token(headers: Any, environ: dict[str, Any]) -> None:
    """werkzeug drops request headers with an underscore in their name (ambiguous as CGI
    variables); the portal authenticates with one, so the handler keeps it under our own key."""
    token = headers.get(sso_api.BEARER_HEADER)
    if token is not None:
        environ[sso_api.BEARER_ENVIRON_KEY] = token
