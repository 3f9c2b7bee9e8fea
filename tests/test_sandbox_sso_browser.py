"""The sandbox's verification page driven by a real headless Chromium: the operator reads the code,
types it, clicks Approve (or Deny), and the tool's CreateToken poll gets its answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from browser_support import CHROMIUM, Browser, dump_dom
from sessiontui_sandbox import Sandbox
from sso_support import oidc_error, poll, register, start

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does)"
)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(fleet="empty") as sandbox:
        yield sandbox


def test_the_page_shows_the_code(sb: Sandbox) -> None:
    device = start(sb, register(sb))
    dom = dump_dom(device["verificationUriComplete"])
    assert f'id="code">{device["userCode"]}<' in dom
    assert "operator@example.com" in dom and 'id="approve"' in dom and 'id="deny"' in dom


def test_operator_types_the_code_and_approves_in_a_browser(sb: Sandbox) -> None:
    reg = register(sb)
    device = start(sb, reg)
    with Browser() as browser:
        browser.goto(device["verificationUri"])
        browser.type_into("user_code", device["userCode"])
        browser.click("next")
        browser.wait_for("document.getElementById('approve') !== null")
        assert (
            browser.evaluate("document.getElementById('code').textContent") == (device["userCode"])
        )
        assert oidc_error(poll, sb, reg, device)[0] == "AuthorizationPendingException"
        browser.click("approve")
        browser.wait_for("document.title === 'Request approved'")
    sb.clock_offset += 2  # past the polling interval
    assert poll(sb, reg, device)["accessToken"]


def test_operator_denies_in_a_browser(sb: Sandbox) -> None:
    reg = register(sb)
    device = start(sb, reg)
    with Browser() as browser:
        browser.goto(device["verificationUriComplete"])
        browser.click("deny")
        browser.wait_for("document.title === 'Request denied'")
    assert oidc_error(poll, sb, reg, device)[:2] == ("AccessDeniedException", "access_denied")
