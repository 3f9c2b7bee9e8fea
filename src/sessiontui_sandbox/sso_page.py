"""The sandbox's stand-in for Identity Center's sign-in pages: the start URL's portal page and the
device verification page, where the operator sees the user code and approves or denies it.

Plain HTML forms posting back, no JavaScript, so a headless browser or curl can drive them.
"""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qs

from sessiontui_sandbox import local_guard
from sessiontui_sandbox.sso_directory import DEVICE_PATH, IdentityCenter

_STYLE = (
    "body{font-family:sans-serif;max-width:36em;margin:3em auto;color:#16191f}"
    ".code{font:bold 2em monospace;letter-spacing:.1em}button{font-size:1.1em;margin-right:1em}"
)


def _page(title: str, body: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>\n"
    ).encode()


def start_page(ic: IdentityCenter) -> bytes:
    accounts = ", ".join(escape(a.name) for a in ic.accounts.values()) or "none"
    return _page(
        "IAM Identity Center (sandbox)",
        f"<p>This is the sandbox's AWS access portal, start URL "
        f"<code>{escape(ic.start_url)}</code>.</p><p>Accounts: {accounts}.</p>"
        f"<p>Sign in from a tool (the device flow), then approve its code at "
        f'<a href="{DEVICE_PATH}">the verification page</a>.</p>',
    )


def _ask_for_code(message: str = "") -> bytes:
    note = f'<p id="message">{escape(message)}</p>' if message else ""
    return _page(
        "Authorize request",
        f'{note}<form method="get" action="{DEVICE_PATH}">'
        '<label>Code <input name="user_code" id="user_code" autocomplete="off"></label> '
        '<button type="submit" id="next">Next</button></form>',
    )


def device_page(ic: IdentityCenter, query: str, now: float, page_key: bytes) -> tuple[int, bytes]:
    """GET: the code with Approve / Deny, or a box to type the code into."""
    code = (parse_qs(query).get("user_code") or [""])[-1]
    if not code:
        return 200, _ask_for_code()
    device = ic.device_by_user_code(code)
    if device is None:
        return 404, _ask_for_code(f"No sign-in request has the code {code}.")
    if now >= device.expires_at:
        return 410, _result("Code expired", "This code has expired; start the sign-in again.")
    if device.status != "pending":
        return 409, _result("Already answered", f"This request was already {device.status}.")
    minutes = max(0, int(device.expires_at - now)) // 60
    user = escape(ic.default_user)
    csrf = form_token(page_key, device.user_code)
    hidden = (
        f'<input type="hidden" name="user_code" value="{escape(device.user_code)}">'
        f'<input type="hidden" name="{local_guard.CSRF_FIELD}" value="{csrf}">'
    )
    return 200, _page(
        "Authorize request",
        f'<p>Signed in as <b id="user">{user}</b>.</p>'
        "<p>A tool asks to use your AWS access portal session. Make sure it shows this code:</p>"
        f'<p class="code" id="code">{escape(device.user_code)}</p>'
        f"<p>The code expires in about {minutes} minutes.</p>"
        f'<form method="post" action="{DEVICE_PATH}">{hidden}'
        '<button type="submit" name="decision" value="approve" id="approve">Approve</button>'
        '<button type="submit" name="decision" value="deny" id="deny">Deny</button></form>',
    )


def _result(title: str, text: str) -> bytes:
    return _page(title, f'<p id="result">{escape(text)}</p>')


def form_token(page_key: bytes, user_code: str) -> str:
    """The CSRF token of the form that answers this code: bound to the code's page."""
    return local_guard.csrf_token(page_key, f"device:{user_code}")


def decide(ic: IdentityCenter, body: bytes, now: float, page_key: bytes) -> tuple[int, bytes]:
    """POST from the form: approve or deny the code; only the form this page showed for it."""
    form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    code, decision = form.get("user_code", ""), form.get("decision", "")
    sent = form.get(local_guard.CSRF_FIELD, "")
    if not local_guard.same_token(form_token(page_key, code), sent):
        return 403, _ask_for_code("This form did not come from this page; open the code again.")
    if decision not in ("approve", "deny"):
        return 400, _ask_for_code("Choose Approve or Deny.")
    outcome = ic.decide(code, decision == "approve", now)
    if outcome == "unknown":
        return 404, _ask_for_code(f"No sign-in request has the code {code}.")
    if outcome == "expired":
        return 410, _result("Code expired", "This code has expired; start the sign-in again.")
    if outcome == "answered":
        return 409, _result("Already answered", "This request was already answered.")
    if outcome == "approved":
        return 200, _result("Request approved", "You may close this window and return to the tool.")
    return 200, _result("Request denied", "The tool will not get access.")
