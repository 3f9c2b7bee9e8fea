"""AssumeRole with an MFA code, retried once when AWS refuses a code from a renewable source.

Our window state (aws/mfa.py MfaState) stops processes of one home from sending the same
window's code twice, but it cannot know about another machine, another home, or a tool other
than sessiontui: AWS then refuses a code that is right but spent. A source that can give a new
code (secret variable, command, the prompt) waits for the next window and tries once more,
saying so; a typed --mfa-code does not, since the same code would be refused again. A second
refusal is final: the secret is probably not the device's, and waiting longer will not help.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from sessiontui.aws.mfa import CodeSource, InteractiveSource, MfaState, obtain_code
from sessiontui.core.clock import SYSTEM_CLOCK, Clock
from sessiontui.core.errors import AuthError
from sessiontui.core.mfa_window import current_window, seconds_until_window, whole_seconds

R = TypeVar("R")  # what the call answers (AssumeRole's response)

MFA_REFUSED_AGAIN = "MFA code refused again, with the next window's code too"
ATTEMPTS = 2


def is_mfa_refusal(exc: BaseException) -> bool:
    """AWS refused the MFA code itself (wrong, or its window already used on this device)."""
    if not isinstance(exc, ClientError):
        return False
    error = exc.response.get("Error", {})
    message = str(error.get("Message", ""))
    return error.get("Code") == "AccessDenied" and ("MultiFactor" in message or "MFA" in message)


def retry_notice(source: CodeSource, seconds: int) -> str:
    """What the operator is told when a refused code is retried with the next window's."""
    why = "mistyped, or already used" if isinstance(source, InteractiveSource) else "already used"
    return (
        f"MFA code refused ({why}: another sessiontui or machine may have used this window's "
        f"code); trying once more with the next code in {seconds}s"
    )


def assume_with_mfa(
    call: Callable[[dict[str, Any]], R],
    kwargs: dict[str, Any],
    serial: str | None,
    source: CodeSource | None,
    state: MfaState,
    translate: Callable[[BaseException], Exception],
    *,
    clock: Clock = SYSTEM_CLOCK,
    sleep: Callable[[float], None] = time.sleep,
    on_wait: Callable[[int], None] | None = None,
    on_retry: Callable[[str], None] | None = None,
) -> R:
    """`call(kwargs)` (sts.assume_role) with an unused code of `serial` when there is one.

    Errors come out through `translate` (plain words); the code never stays in `kwargs`.
    """
    for attempt in range(1, ATTEMPTS + 1):
        window = None
        if serial and source is not None:
            code = obtain_code(serial, source, state, clock=clock, sleep=sleep, on_wait=on_wait)
            window = code.window
            kwargs["SerialNumber"] = serial
            kwargs["TokenCode"] = code.code
        try:
            return call(kwargs)
        except Exception as exc:
            renewable = source is not None and source.renewable
            if window is None or not renewable or not is_mfa_refusal(exc):
                raise translate(exc) from None
            if attempt == ATTEMPTS:
                what = source.description if source is not None else "the code source"
                raise AuthError(
                    MFA_REFUSED_AGAIN, f"check that {what} gives the codes of {serial}"
                ) from None
        finally:
            kwargs.pop("TokenCode", None)
        # the refused window stays reserved in `state`, so obtain_code waits for the next one
        if on_retry is not None and source is not None:
            after = max(window, current_window(clock)) + 1
            on_retry(retry_notice(source, whole_seconds(seconds_until_window(after, clock))))
    raise AssertionError("unreachable: the last attempt returns or raises")
