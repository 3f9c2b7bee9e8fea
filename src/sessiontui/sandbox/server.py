"""The sandbox server: moto on 127.0.0.1 behind a WSGI layer that adds what moto lacks.

moto keeps its state in process-wide backends, so only one Sandbox may run per process at a time;
starting one resets every moto backend.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

from sessiontui.sandbox import sigv4, ssm_api, sts_api
from sessiontui.sandbox.demo import (
    DEMO_ACCESS_KEY_ID,
    DEMO_MFA_SERIAL,
    DEMO_REGIONS,
    DEMO_ROLES,
    DEMO_ROLES_BY_ARN,
    DEMO_SECRET_ACCESS_KEY,
    DEMO_TOTP_ENV,
    DEMO_TOTP_SECRET,
)
from sessiontui.sandbox.services import LocalServices
from sessiontui.sandbox.state import AwsError, Faults, IssuedKey, SandboxState

log = logging.getLogger("sessiontui.sandbox")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

JSON_SERVICES = {"ssm"}  # JSON 1.1 protocol: errors as {"__type", "message"}
EC2_STYLE = {"ec2"}  # EC2's own XML: <Response><Errors><Error>
THROTTLED_SERVICES = {"ssm", "ec2"}
STREAM_PREFIX = "/_sandbox/stream/"

_active_lock = threading.Lock()
_active: Sandbox | None = None


class SandboxError(RuntimeError):
    """Misuse of the sandbox itself (two at once, not started)."""


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
_REASONS |= {405: "Method Not Allowed", 500: "Internal Server Error", 503: "Service Unavailable"}


def json_reply(data: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data).encode(), "application/json")


def aws_json_reply(data: Any, request_id: str) -> Reply:
    body = json.dumps(data).encode()
    return Reply(200, body, "application/x-amz-json-1.1", **{"x-amzn-RequestId": request_id})


def error_reply(service: str, err: AwsError, request_id: str) -> Reply:
    if service in JSON_SERVICES:
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


def _invalid_token(service: str) -> AwsError:
    """A temporary key sent without its session token, or with another one."""
    message = "The security token included in the request is invalid."
    if service in EC2_STYLE:
        return AwsError(
            "AuthFailure", "AWS was not able to validate the provided access credentials", 401
        )
    if service in JSON_SERVICES:
        return AwsError("UnrecognizedClientException", message, 400)
    return AwsError("InvalidClientTokenId", message, 403)


def _bad_signature(service: str) -> AwsError:
    message = (
        "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for "
        "details."
    )
    if service in JSON_SERVICES:
        return AwsError("InvalidSignatureException", message, 400)
    if service in EC2_STYLE:
        return AwsError(
            "AuthFailure", "AWS was not able to validate the provided access credentials", 401
        )
    return AwsError("SignatureDoesNotMatch", message, 403)


def parse_authorization(header: str) -> tuple[str, str, str]:
    """(access key id, region, service) from a SigV4 Authorization header; "" when absent."""
    try:
        credential = header.split("Credential=", 1)[1].split(",", 1)[0].strip()
        key, _date, region, service, _terminator = credential.split("/")
    except (IndexError, ValueError):
        return "", "", ""
    return key, region, service.lower()


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
        except Exception:
            log.exception("sandbox request failed: %s", path)
            return json_reply({"__type": "InternalServerError", "message": "sandbox error"}, 500)(
                start_response
            )

    # -- AWS ------------------------------------------------------------------------------------
    def _check_signature(
        self, environ: dict[str, Any], body: bytes, access_key: str, service: str
    ) -> AwsError | None:
        """AWS's answer to a request badly signed with a key the sandbox knows, or None.

        Keys the sandbox never issued stay the operator's base user unchecked, as moto takes any
        key (tests and foreign fleets use made-up ones). The request's age is not checked: the
        clock_offset fault moves the sandbox's clock away from the signer's on purpose.
        """
        issued = self.state.keys.get(access_key)
        if issued is not None:
            secret, token = issued.secret_access_key, issued.session_token
        elif access_key == DEMO_ACCESS_KEY_ID:
            secret, token = DEMO_SECRET_ACCESS_KEY, None
        else:
            return None
        headers = {
            name[5:].replace("_", "-").lower(): str(value)
            for name, value in environ.items()
            if name.startswith("HTTP_")
        }
        for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(name):
                headers[name.replace("_", "-").lower()] = str(environ[name])
        if token is not None and headers.get("x-amz-security-token") != token:
            return _invalid_token(service)
        if not sigv4.verify(
            secret=secret,
            method=environ.get("REQUEST_METHOD", "GET"),
            path=environ.get("PATH_INFO", "/"),
            query=environ.get("QUERY_STRING", ""),
            headers=headers,
            body=body,
            authorization=environ.get("HTTP_AUTHORIZATION", ""),
        ):
            return _bad_signature(service)
        return None

    def _aws(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        state = self.state
        access_key, region, service = parse_authorization(environ.get("HTTP_AUTHORIZATION", ""))
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        form: dict[str, str] = {}
        if target:
            action = target.rsplit(".", 1)[-1]
        else:
            raw = body.decode("utf-8", "replace") or environ.get("QUERY_STRING", "")
            form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            action = form.get("Action", "")
        request_id = secrets.token_hex(16)
        with state.lock:
            state.calls[(service, action)] += 1
            faults = state.faults
            down = faults.down
            throttled = (
                service in THROTTLED_SERVICES
                and faults.throttle_rate > 0
                and state.rng.random() < faults.throttle_rate
            )
        if down:
            err = AwsError("ServiceUnavailable", "Service Unavailable", 503)
            return error_reply(service, err, request_id)(start_response)
        refused = self._check_signature(environ, body, access_key, service)
        if refused is not None:
            return error_reply(service, refused, request_id)(start_response)
        if access_key and state.is_expired(access_key):
            code = "ExpiredTokenException" if service in JSON_SERVICES else "ExpiredToken"
            err = AwsError(code, "The security token included in the request is expired", 400)
            return error_reply(service, err, request_id)(start_response)
        if throttled:
            if service == "ec2":
                err = AwsError("RequestLimitExceeded", "Request limit exceeded.", 503)
            else:
                err = AwsError("ThrottlingException", "Rate exceeded", 400)
            return error_reply(service, err, request_id)(start_response)
        caller = state.caller_for(access_key)
        try:
            if service == "ssm" and action in ssm_api.HANDLERS:
                try:
                    params = json.loads(body or b"{}")
                except ValueError:
                    raise AwsError("SerializationException", "Malformed JSON") from None
                req = ssm_api.SsmRequest(region or "us-east-1", caller, params)
                result = ssm_api.HANDLERS[action](state, req)
                if result is not None:
                    return aws_json_reply(result, request_id)(start_response)
            elif service == "sts" and action in sts_api.HANDLERS:
                xml = sts_api.HANDLERS[action](state, caller, form)
                return Reply(200, xml.encode(), "text/xml", **{"x-amzn-RequestId": request_id})(
                    start_response
                )
        except AwsError as err:
            return error_reply(service, err, request_id)(start_response)
        return self.moto_app(environ, start_response)

    # -- the sandbox's own endpoints --------------------------------------------------------------
    def _sandbox(self, environ: dict[str, Any], path: str) -> Reply:
        method = environ.get("REQUEST_METHOD", "GET")
        if path.startswith(STREAM_PREFIX):
            return self._stream(environ, method, path[len(STREAM_PREFIX) :])
        if path == "/_sandbox/control":
            if method == "POST":
                try:
                    self.apply_control(self._json_body(environ))
                except (ValueError, TypeError) as exc:
                    return json_reply({"error": str(exc)}, 400)
            return json_reply(self.state.faults.to_json())
        if path == "/_sandbox/calls":
            if method == "DELETE":
                with self.state.lock:
                    self.state.calls.clear()
            with self.state.lock:
                calls = {f"{s}:{a}": n for (s, a), n in sorted(self.state.calls.items())}
            return json_reply({"calls": calls})
        if path == "/_sandbox/totp":
            return json_reply({"code": self.state.unused_code(), "serial": DEMO_MFA_SERIAL})
        return json_reply({"error": "no such sandbox endpoint"}, 404)

    def apply_control(self, data: Any) -> None:
        if not isinstance(data, dict):
            raise ValueError("control body must be a JSON object")
        faults = self.state.faults
        unknown = set(data) - {"throttle_rate", "down", "silent_agents", "clock_offset"}
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

    @staticmethod
    def _json_body(environ: dict[str, Any]) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        return json.loads(raw or b"{}")

    def _stream(self, environ: dict[str, Any], method: str, rest: str) -> Reply:
        close = rest.endswith("/close")
        session_id = rest[: -len("/close")] if close else rest
        record = self.state.sessions.get(session_id)
        if record is None:
            return json_reply({"error": "unknown session"}, 404)
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if not secrets.compare_digest(auth.encode(), f"Bearer {record.token}".encode()):
            return json_reply({"error": "bad token"}, 401)
        if close:
            if method != "POST":
                return json_reply({"error": "use POST"}, 405)
            ssm_api.disconnect(self.state, record)
        return json_reply(ssm_api.stream_json(self.state, record))


def _make_handler() -> type:
    """moto's request handler, quiet (access logs would scribble over the TUI) and tracked."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class Handler(MotoRequestHandler):
        server: Any

        def setup(self) -> None:
            super().setup()
            with self.server.sandbox_conns_lock:
                self.server.sandbox_conns.add(self.connection)

        def finish(self) -> None:
            with self.server.sandbox_conns_lock:
                self.server.sandbox_conns.discard(self.connection)
            with contextlib.suppress(OSError):
                super().finish()

        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            log.debug("%s %s", self.requestline, code)

        def log(self, type: str, message: str, *args: Any) -> None:
            log.debug(message, *args)

    return Handler


class Sandbox:
    """An embedded local AWS: moto plus the SSM/STS behaviour moto lacks, and a seeded fleet."""

    def __init__(
        self, fleet: str = "demo", size: int | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        if fleet not in ("demo", "large", "empty"):
            raise ValueError(f"unknown fleet {fleet!r}: choose demo, large or empty")
        self.fleet = fleet
        self.size = size if size is not None else (10_000 if fleet == "large" else None)
        self.host = host
        self.port = port
        self.regions: list[str] = list(DEMO_REGIONS)
        self.state = SandboxState()
        self.tmpdir: Path | None = None
        self.config_path: Path | None = None
        self.plugin_path: Path | None = None
        self.start_seconds = 0.0
        self.seed_seconds = 0.0
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._app: SandboxApp | None = None
        self._services: LocalServices | None = None

    # -- life -----------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        global _active
        with _active_lock:
            if _active is not None:
                raise SandboxError(
                    "a Sandbox is already running in this process (moto's state is process-wide); "
                    "stop it first"
                )
            _active = self
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        began = time.perf_counter()
        from moto.moto_api._internal.models import moto_api_backend
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        from sessiontui.sandbox import fleet

        moto_api_backend.reset()
        self.tmpdir = Path(tempfile.mkdtemp(prefix="sessiontui-sandbox-"))
        self._services = LocalServices()
        self.state.services = self._services
        self._app = SandboxApp(self.state, DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self.host, self.port, self._app, threaded=True, request_handler=_make_handler()
        )
        self._server.sandbox_conns = set()
        self._server.sandbox_conns_lock = threading.Lock()
        self.port = int(self._server.server_port)
        self.state.endpoint_url = self.endpoint_url
        seeded = time.perf_counter()
        fleet.seed_identity()
        fleet.seed_documents(self.regions)
        if self.fleet == "demo":
            fleet.seed_demo(self.state)
        elif self.fleet == "large":
            fleet.seed_large(self.state, int(self.size or 0), tuple(self.regions))
        self.seed_seconds = time.perf_counter() - seeded
        self._write_files()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"sessiontui-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self.start_seconds = time.perf_counter() - began
        log.info("sandbox on %s in %.2fs", self.endpoint_url, self.start_seconds)

    def stop(self) -> None:
        """Idempotent: stop serving, close every socket and service, forget the temp folder."""
        global _active
        server, self._server = self._server, None
        if server is not None:
            if self._thread is not None:
                server.shutdown()
            server.server_close()
            with server.sandbox_conns_lock:
                conns = list(server.sandbox_conns)
            for conn in conns:  # keep-alive clients would otherwise hold handler threads open
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._services is not None:
            self._services.close()
            self._services = None
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None
        with _active_lock:
            if _active is self:
                _active = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    # -- where and who ------------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        if self.tmpdir is None:
            raise SandboxError("start the sandbox before asking for its environment")
        out = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": DEMO_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": DEMO_SECRET_ACCESS_KEY,
            "AWS_REGION": self.regions[0],
            "AWS_DEFAULT_REGION": self.regions[0],
            "AWS_CONFIG_FILE": str(self.tmpdir / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.tmpdir / "aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "SESSIONTUI_CONFIG": str(self.tmpdir / "config.toml"),
            DEMO_TOTP_ENV: DEMO_TOTP_SECRET,
        }
        if self.plugin_path is not None:
            out["SESSIONTUI_PLUGIN"] = str(self.plugin_path)
        return out

    def _write_files(self) -> None:
        assert self.tmpdir is not None
        region = self.regions[0]
        (self.tmpdir / "aws-config").write_text(
            f"[default]\nregion = {region}\noutput = json\n", encoding="utf-8"
        )
        creds = self.tmpdir / "aws-credentials"
        creds.write_text(
            "[default]\n"
            f"aws_access_key_id = {DEMO_ACCESS_KEY_ID}\n"
            f"aws_secret_access_key = {DEMO_SECRET_ACCESS_KEY}\n",
            encoding="utf-8",
        )
        creds.chmod(0o600)
        self.config_path = self.tmpdir / "config.toml"
        self.config_path.write_text(demo_config(self.regions), encoding="utf-8")
        try:
            from sessiontui.sandbox.plugin_wrapper import install_plugin
        except ImportError as exc:  # the stand-in's own dependencies are missing
            log.warning("stand-in plugin unavailable: %s", exc)
        else:
            self.plugin_path = install_plugin(self.tmpdir / "bin")

    # -- helpers for tests and the demo ---------------------------------------------------------------
    def totp_now(self) -> str:
        """A code AssumeRole accepts now: the oldest of the three accepted windows not yet used."""
        return self.state.unused_code()

    def fresh_totp(self) -> str:
        """Like totp_now, but moves the sandbox clock 30 s on when all three windows are spent."""
        if self.state.all_codes_used():
            self.clock_offset = self.clock_offset + self.state.totp.interval
        return self.state.unused_code()

    def role_credentials(
        self, role: str, duration: int = 3600, session_name: str = "operator"
    ) -> dict[str, Any]:
        """Credentials of a demo role without MFA, shaped like AssumeRole's `Credentials`."""
        arn = role if role.startswith("arn:") else f"arn:aws:iam::123456789012:role/{role}"
        if arn not in DEMO_ROLES_BY_ARN:
            raise ValueError(f"not a demo role: {role}")
        key: IssuedKey = sts_api.issue_key(self.state, arn, session_name, duration, False)
        return {
            "AccessKeyId": key.access_key_id,
            "SecretAccessKey": key.secret_access_key,
            "SessionToken": key.session_token,
            "Expiration": key.expiration,
        }

    # -- faults (the same names as POST /_sandbox/control) ------------------------------------------
    @property
    def faults(self) -> Faults:
        """The live fault settings; assigning their fields works too (unvalidated)."""
        return self.state.faults

    @property
    def throttle_rate(self) -> float:
        return self.state.faults.throttle_rate

    @throttle_rate.setter
    def throttle_rate(self, value: float) -> None:
        self._control({"throttle_rate": value})

    @property
    def down(self) -> bool:
        return self.state.faults.down

    @down.setter
    def down(self, value: bool) -> None:
        self._control({"down": value})

    @property
    def silent_agents(self) -> set[str]:
        return set(self.state.faults.silent_agents)

    @silent_agents.setter
    def silent_agents(self, value: Iterable[str]) -> None:
        self._control({"silent_agents": list(value)})

    @property
    def clock_offset(self) -> float:
        return self.state.faults.clock_offset

    @clock_offset.setter
    def clock_offset(self, value: float) -> None:
        self._control({"clock_offset": value})

    def clear_faults(self) -> None:
        self._control({"throttle_rate": 0, "down": False, "silent_agents": [], "clock_offset": 0})

    def _control(self, data: dict[str, Any]) -> None:
        SandboxApp(self.state, lambda e, s: []).apply_control(data)

    @property
    def calls(self) -> Counter[tuple[str, str]]:
        """AWS calls received, by (service, action), faulted ones included. A copy."""
        with self.state.lock:
            return Counter(self.state.calls)

    def reset_calls(self) -> None:
        with self.state.lock:
            self.state.calls.clear()


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def demo_config(regions: list[str]) -> str:
    lines = [
        "# sessiontui demo configuration, written by the sandbox. The TOTP secret is not here:",
        f"# it is in the {DEMO_TOTP_ENV} environment variable.",
        "regions = [" + ", ".join(_toml_str(r) for r in regions) + "]",
        "",
        "[mfa]",
        f"serial = {_toml_str(DEMO_MFA_SERIAL)}",
        f"totp_secret_env = {_toml_str(DEMO_TOTP_ENV)}",
    ]
    for role in DEMO_ROLES:
        scope = ", ".join(f"{k} = {_toml_str(v)}" for k, v in role.scope.items())
        lines += [
            "",
            f"[roles.{role.name}]",
            f"arn = {_toml_str(role.arn)}",
            f"duration = {_toml_str(role.default_duration)}",
            f"scope = {{ {scope} }}" if scope else "scope = {}",
            f"reason_required = {'true' if role.reason_required else 'false'}",
        ]
    from sessiontui.sandbox.fleet import DEMO_FORWARD_DB

    forwards = [
        (
            "orders-db",
            f"Name={DEMO_FORWARD_DB}",
            "orders.cluster-demo.us-east-1.rds.amazonaws.com",
            5432,
            15432,
        ),
        ("sessions-cache", "Name=stg-db-01", "sessions.demo.cache.amazonaws.com", 6379, 16379),
        ("staging-web", "Name=stg-web-01", "", 80, 18080),
    ]
    for name, target, host, remote, local in forwards:
        lines += ["", "[[forwards]]", f"name = {_toml_str(name)}", f"target = {_toml_str(target)}"]
        if host:
            lines.append(f"host = {_toml_str(host)}")
        lines += [f"remote_port = {remote}", f"local_port = {local}"]
    return "\n".join(lines) + "\n"
