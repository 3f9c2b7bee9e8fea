"""The sandbox's WSGI layer in front of moto: AWS's error shapes, signature checks, faults, the
actions moto lacks (SSM, STS), the sandbox's own control endpoints, then moto."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import secrets
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from sessiontui_sandbox import (
    auth,
    garble,
    iam_api,
    iam_authz,
    identity_wsgi,
    keep_alive,
    local_guard,
    peer_user,
    regions,
    ssm_access,
    ssm_api,
    sts_api,
    tagging_api,
)
from sessiontui_sandbox.demo import DEMO_MFA_SERIAL
from sessiontui_sandbox.state import AwsError, SandboxState

log = logging.getLogger("sessiontui_sandbox")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

JSON_SERVICES = {"ssm", "tagging"}  # JSON 1.1 protocol: errors as {"__type", "message"}
EC2_STYLE = {"ec2"}  # EC2's own XML: <Response><Errors><Error>
THROTTLED_SERVICES = {"ssm", "ec2", "sso"}
DATABASE_SERVICES = {"rds", "elasticache", "secretsmanager"}


class Reply:
    def __init__(
        self, status: int, body: bytes, content_type: str = "application/json", **headers: str
    ) -> None:
        self.status = status
        self.body = body
        self.headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        self.headers += list(headers.items())

    def __call__(self, start_response: StartResponse) -> list[bytes]:
        reason = _REASONS.get(self.status, "Error")
        start_response(f"{self.status} {reason}", self.headers)
        return [self.body]


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
_REASONS |= {409: "Conflict", 410: "Gone", 429: "Too Many Requests"}
_REASONS |= {405: "Method Not Allowed", 500: "Internal Server Error", 503: "Service Unavailable"}


def json_reply(data: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data).encode(), "application/json")


def aws_json_reply(data: Any, request_id: str) -> Reply:
    body = json.dumps(data).encode()
    return Reply(200, body, "application/x-amz-json-1.1", **{"x-amzn-RequestId": request_id})


def error_reply(service: str, err: AwsError, request_id: str, json_protocol: bool = False) -> Reply:
    """`json_protocol`: the request was JSON 1.1 (X-Amz-Target), whichever service it named."""
    if json_protocol or service in JSON_SERVICES or service in identity_wsgi.SERVICES:
        body = json.dumps({"__type": err.code, err.message_key: err.message}).encode()
        return Reply(
            err.status,
            body,
            "application/x-amz-json-1.1",
            **{"x-amzn-RequestId": request_id, "x-amzn-ErrorType": err.code},
        )
    from xml.sax.saxutils import escape

    if service in EC2_STYLE:
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"<Code>{err.code}</Code><Message>{escape(err.message)}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
    else:
        kind = "Receiver" if err.status >= 500 else "Sender"
        xml = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<Error><Type>{kind}</Type><Code>{err.code}</Code>"
            f"<Message>{escape(err.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    return Reply(err.status, xml.encode(), "text/xml", **{"x-amzn-RequestId": request_id})


def _json_params(body: bytes) -> Any:
    """A JSON 1.1 request's parameters, or AWS's answer to a body that is not JSON."""
    try:
        return json.loads(body or b"{}")
    except ValueError:
        raise AwsError("SerializationException", "Malformed JSON") from None


class SandboxApp:
    """WSGI: the sandbox's own endpoints, faults, and the AWS actions moto lacks; moto for the rest."""

    def __init__(self, state: SandboxState, moto_app: WsgiApp) -> None:
        self.state = state
        self.moto_app = moto_app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        try:
            if path.startswith("/_sandbox/"):
                return self._sandbox(environ, path)(start_response)
            return self._aws(environ, start_response)
        except ConnectionError:
            raise  # the reset fault: werkzeug drops the connection without a reply
        except Exception:
            log.exception("sandbox request failed: %s", path)
            return json_reply({"__type": "InternalServerError", "message": "sandbox error"}, 500)(
                start_response
            )

    # -- AWS ------------------------------------------------------------------------------------
    def _aws(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        state = self.state
        who = auth.signer(environ)
        access_key, region, service = (
            (who.access_key, who.region, who.service) if who else ("",) * 3
        )
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        form: dict[str, str] = {}
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        identity_op = None if who else identity_wsgi.route(method, path)
        if identity_op is not None:
            service, action = identity_op
        elif target:
            action = target.rsplit(".", 1)[-1]
        else:
            raw = body.decode("utf-8", "replace") or environ.get("QUERY_STRING", "")
            form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            action = form.get("Action", "")
        request_id = secrets.token_hex(16)
        inner = bool(environ.get(garble.INNER))  # the truncated fault's real answer: counted once
        # the sandbox's own seeding (its databases) acts as the account's owner: it is no
        # caller's, so neither IAM nor the call counts see it
        seeding = environ.get("HTTP_X_SANDBOX_SEED") == state.nonce
        with state.lock:
            if not inner and not seeding:
                state.calls[(service, action)] += 1
            faults = state.faults
            down = faults.down
            garbled = None if inner else garble.kind_for(faults.garble, region, service)
            throttled = (
                service in THROTTLED_SERVICES
                and faults.throttle_rate > 0
                and state.rng.random() < faults.throttle_rate
            )
        if down:
            err = AwsError("ServiceUnavailable", "Service Unavailable", 503)
            return error_reply(service, err, request_id)(start_response)
        if garbled is not None:
            environ[garble.INNER] = True
            return garble.serve(garbled, environ, start_response, self._aws)
        protocol = auth.Protocol(json=bool(target), ec2=service in EC2_STYLE)
        refused = regions.refusal(service, region)
        if refused is None and identity_op is None:  # Identity Center's calls go unsigned
            refused = auth.check(state, environ, body, protocol)
        if refused is not None:
            return error_reply(service, refused, request_id, protocol.json)(start_response)
        if access_key and state.is_expired(access_key):
            code = "ExpiredTokenException" if service in JSON_SERVICES else "ExpiredToken"
            err = AwsError(code, "The security token included in the request is expired", 400)
            return error_reply(service, err, request_id)(start_response)
        if identity_op is not None:
            answer = identity_wsgi.call(state, environ, service, action, body, throttled)
            return Reply(answer[0], answer[1], answer[2], **answer[3])(start_response)
        if throttled:
            if service == "ec2":
                err = AwsError("RequestLimitExceeded", "Request limit exceeded.", 503)
            else:
                err = AwsError("ThrottlingException", "Rate exceeded", 400)
            return error_reply(service, err, request_id)(start_response)
        caller = state.caller_for(access_key)
        try:
            params = _json_params(body) if service in JSON_SERVICES else dict(form)
        except AwsError as malformed:
            return error_reply(service, malformed, request_id)(start_response)
        denied = (
            None
            if seeding
            else iam_authz.refused(state, caller, service, action, region or "us-east-1", params)
        )
        if denied is not None:
            return error_reply(service, denied, request_id)(start_response)
        if f"{service}:{action}" in faults.denied_actions:
            iam_action = f"{iam_authz.IAM_PREFIX.get(service, service)}:{action}"
            err = AwsError(
                "AccessDeniedException",
                f"User: {caller.arn} is not authorized to perform: {iam_action} because no "
                f"identity-based policy allows the {iam_action} action",
            )
            return error_reply(service, err, request_id)(start_response)
        if caller.key is not None:
            # moto serves the account this header names; a client cannot pick another one
            environ["HTTP_X_MOTO_ACCOUNT_ID"] = caller.key.account
        try:
            if service == "ssm" and action in ssm_api.HANDLERS:
                req = ssm_api.SsmRequest(region or "us-east-1", caller, params)
                result = ssm_api.HANDLERS[action](state, req)
                if result is not None:
                    return aws_json_reply(result, request_id)(start_response)
            elif service == tagging_api.SERVICE and action in tagging_api.HANDLERS:
                result = tagging_api.HANDLERS[action](state, region or "us-east-1", caller, params)
                if result is not None:
                    return aws_json_reply(result, request_id)(start_response)
            elif service == "iam" and action in iam_api.HANDLERS:
                xml = iam_api.HANDLERS[action](state, caller, form)
                return Reply(200, xml.encode(), "text/xml", **{"x-amzn-RequestId": request_id})(
                    start_response
                )
            elif service == "sts" and action in sts_api.HANDLERS:
                xml = sts_api.HANDLERS[action](state, caller, form)
                return Reply(200, xml.encode(), "text/xml", **{"x-amzn-RequestId": request_id})(
                    start_response
                )
        except AwsError as err:
            return error_reply(service, err, request_id)(start_response)
        if service in DATABASE_SERVICES and environ.get("HTTP_X_SANDBOX_SEED") != state.nonce:
            # the demo's databases are seeded in the background after start (2 s of moto):
            # a caller sees them whole, never half made
            state.databases_seeded.wait(timeout=60)
        return self.moto_app(environ, start_response)

    # -- the sandbox's own endpoints --------------------------------------------------------------
    def _sandbox(self, environ: dict[str, Any], path: str) -> Reply:
        method = environ.get("REQUEST_METHOD", "GET")
        elsewhere = local_guard.refusal(environ, self.state.endpoint_url) or peer_user.foreign_user(
            environ
        )
        if elsewhere is not None:
            return json_reply({"error": elsewhere}, 403)
        if path.rstrip("/") in identity_wsgi.PAGES:  # a person's browser: CSRF tokens guard them
            answer = identity_wsgi.page(self.state, environ, method, path.rstrip("/"))
            return Reply(answer[0], answer[1], answer[2], **answer[3])
        if not local_guard.has_token(environ, self.state.control_token):
            return json_reply(
                {
                    "error": "the sandbox's control secret is missing or wrong (Authorization: Bearer)"
                },
                403,
            )
        if path == "/_sandbox/control":
            if method == "POST":
                try:
                    self.apply_control(self._json_body(environ))
                except (ValueError, TypeError) as exc:
                    return json_reply({"error": str(exc)}, 400)
            return json_reply(
                {
                    **self.state.faults.to_json(),
                    **identity_wsgi.settings(self.state.identity_center),
                }
            )
        if path == "/_sandbox/calls":
            if method == "DELETE":
                with self.state.lock:
                    self.state.calls.clear()
            with self.state.lock:
                calls = {f"{s}:{a}": n for (s, a), n in sorted(self.state.calls.items())}
            return json_reply({"calls": calls})
        if path == "/_sandbox/access":  # the demo approver's view of the access requests
            return json_reply({"access_requests": self.state.access.listing(self.state.now())})
        if path == "/_sandbox/totp":
            return json_reply({"code": self.state.unused_code(), "serial": DEMO_MFA_SERIAL})
        return json_reply({"error": "no such sandbox endpoint"}, 404)

    def apply_control(self, data: Any) -> None:
        if not isinstance(data, dict):
            raise ValueError("control body must be a JSON object")
        data = ssm_access.apply_control(self.state, data)  # approve / reject / revoke
        faults = self.state.faults
        unknown = set(data) - {
            "throttle_rate",
            "down",
            "silent_agents",
            "clock_offset",
            "garble",
            "drop_channels",
            "denied_actions",
            "channel_lifetime",
        }
        unknown -= set(identity_wsgi.CONTROL_KEYS)
        if unknown:
            raise ValueError(f"unknown control keys: {sorted(unknown)}")
        with self.state.lock:
            if "throttle_rate" in data:
                rate = float(data["throttle_rate"])
                if not 0 <= rate <= 1:
                    raise ValueError("throttle_rate must be between 0 and 1")
                faults.throttle_rate = rate
            if "down" in data:
                faults.down = bool(data["down"])
            if "silent_agents" in data:
                faults.silent_agents = {str(x) for x in data["silent_agents"]}
            if "clock_offset" in data:
                faults.clock_offset = float(data["clock_offset"])
            if "channel_lifetime" in data:
                lifetime = float(data["channel_lifetime"])
                if lifetime <= 0:
                    raise ValueError("channel_lifetime must be more than 0 seconds")
                faults.channel_lifetime = lifetime
            if "denied_actions" in data:
                faults.denied_actions = {str(x) for x in data["denied_actions"]}
            if "garble" in data:
                faults.garble = garble.validate(data["garble"])
            identity_wsgi.apply_control(self.state.identity_center, data)
        if "drop_channels" in data and self.state.datachannel is not None:
            # a one-off event, not a setting: sessions' websockets cut now (they resume)
            self.state.datachannel.drop([str(x) for x in data["drop_channels"]])

    @staticmethod
    def _json_body(environ: dict[str, Any]) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        return json.loads(raw or b"{}")


def quiet_handler() -> type:
    """moto's request handler, quiet (access logs would scribble over the TUI) and tracked."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class Handler(MotoRequestHandler):
        server: Any

        keep_alive = False  # this request's connection stays open (keep_alive.py)

        def setup(self) -> None:
            super().setup()
            # duck-typed: readline and read are its own, the rest is forwarded
            self.rfile = keep_alive.KeptReader(self.rfile)  # type: ignore[assignment]
            with self.server.sandbox_conns_lock:
                self.server.sandbox_conns.add(self.connection)

        def finish(self) -> None:
            with self.server.sandbox_conns_lock:
                self.server.sandbox_conns.discard(self.connection)
            with contextlib.suppress(OSError):
                super().finish()

        def make_environ(self) -> dict[str, Any]:
            environ: dict[str, Any] = super().make_environ()
            identity_wsgi.keep_bearer_token(self.headers, environ)
            keep_alive.take_body(self, environ)
            return environ

        def send_header(self, keyword: str, value: str) -> None:
            # werkzeug closes every connection; AWS keeps them, and so does a kept request
            if self.keep_alive and keyword.lower() == "connection" and value.lower() == "close":
                return
            super().send_header(keyword, value)

        def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
            self.close_connection = True  # the reset fault, or a client gone mid-request

        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            log.debug("%s %s", self.requestline, code)

        def log(self, type: str, message: str, *args: Any) -> None:
            log.debug(message, *args)

    return Handler
