"""The sandbox authenticates as AWS does (issue 29, findings 6 and 7): only keys it issued, signed
with their own secret and token; its /_sandbox/* endpoints answer its operator only (the control
secret, its own Host and Origin, CSRF tokens on its forms); the data channel takes only the
token it issued for that session and no browser's cross-origin upgrade; the folder a killed
sandbox leaves is swept at the next start."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from sandbox_support import NO_RETRY, client
from sessiontui_sandbox import DEMO_MFA_SERIAL, Sandbox, demo, scratch, sigv4
from sessiontui_sandbox.datachannel import frames
from sso_support import register, start

MADE_UP = {"AccessKeyId": "AKIAMADEUPBYANYBODY1", "SecretAccessKey": "made-up", "SessionToken": ""}
FLEET_ADMIN = "arn:aws:iam::123456789012:role/FleetAdmin"
CONTROL_PATHS = ("/_sandbox/control", "/_sandbox/calls", "/_sandbox/access", "/_sandbox/totp")


@pytest.fixture(autouse=True)
def _no_faults(sandbox: Sandbox) -> Iterator[None]:
    yield
    sandbox.clear_faults()


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response: Any = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def call(api: Any, service: str) -> Any:
    if service == "sts":
        return api.get_caller_identity()
    if service == "ssm":
        return api.describe_instance_information()
    return api.describe_instances()


def raw(
    sb: Sandbox,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    method: str | None = None,
) -> tuple[int, str]:
    """(status, body) of a plain request; http.client so that Host can be anything."""
    url = urlsplit(sb.endpoint_url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    try:
        conn.request(method or ("POST" if body is not None else "GET"), path, body, headers or {})
        answer = conn.getresponse()
        return answer.status, answer.read().decode()
    finally:
        conn.close()


def an_online_node(sb: Sandbox) -> str:
    listing = client(sb, "ssm").describe_instance_information(
        Filters=[{"Key": "PingStatus", "Values": ["Online"]}]
    )
    return str(listing["InstanceInformationList"][0]["InstanceId"])


# -- SigV4 against the keys the sandbox issued -------------------------------------------------------


def test_a_made_up_key_is_refused_as_aws_refuses_it(sandbox: Sandbox) -> None:
    expected = {
        "sts": ("InvalidClientTokenId", 403),
        "ssm": ("UnrecognizedClientException", 400),
        "ec2": ("AuthFailure", 401),
    }
    for service, answer in expected.items():
        with pytest.raises(ClientError) as exc:
            call(client(sandbox, service, creds=MADE_UP), service)
        assert error_of(exc) == answer, service
    # the sandbox's own keys still work everywhere
    for service in expected:
        call(client(sandbox, service), service)


def test_a_known_key_with_the_wrong_secret_does_not_match(sandbox: Sandbox) -> None:
    """The operator's key id is public (demo.py); its secret is drawn at each start."""
    env = sandbox.env()
    assert env["AWS_SECRET_ACCESS_KEY"] not in Path(demo.__file__).read_text(encoding="utf-8")
    for key, token in (
        (env["AWS_ACCESS_KEY_ID"], ""),
        *[(c["AccessKeyId"], c["SessionToken"]) for c in [sandbox.role_credentials("StagingDev")]],
    ):
        creds = {"AccessKeyId": key, "SecretAccessKey": "the-wrong-secret", "SessionToken": token}
        with pytest.raises(ClientError) as exc:
            client(sandbox, "sts", creds=creds).get_caller_identity()
        assert error_of(exc) == ("SignatureDoesNotMatch", 403)
        with pytest.raises(ClientError) as exc:
            client(sandbox, "ssm", creds=creds).describe_instance_information()
        assert error_of(exc) == ("InvalidSignatureException", 400)


def test_an_expired_temporary_key_is_refused(sandbox: Sandbox) -> None:
    creds = sandbox.role_credentials("StagingDev", duration=900)
    sandbox.clock_offset = 901
    with pytest.raises(ClientError) as exc:
        client(sandbox, "sts", creds=creds).get_caller_identity()
    assert error_of(exc) == ("ExpiredToken", 400)


def test_unsigned_calls_are_refused_except_identity_centers(sandbox: Sandbox) -> None:
    unsigned = NO_RETRY.merge(Config(signature_version=UNSIGNED))
    make: Any = boto3.client
    for service, answer in (
        ("sts", ("MissingAuthenticationToken", 403)),
        ("ssm", ("MissingAuthenticationTokenException", 400)),
    ):
        api = make(service, "us-east-1", endpoint_url=sandbox.endpoint_url, config=unsigned)
        with pytest.raises(ClientError) as exc:
            call(api, service)
        assert error_of(exc) == answer, service
    assert register(sandbox)["clientId"]  # sso-oidc is unsigned in AWS too


def test_presigned_urls_are_checked_too(sandbox: Sandbox) -> None:
    """GetCallerIdentity presigned for GET, as EKS's token is."""

    def presign(creds: Any = None) -> str:
        sts = client(sandbox, "sts", creds=creds)
        url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=300, HttpMethod="GET")
        return str(url)

    with urllib.request.urlopen(presign(), timeout=10) as answer:
        assert b"user/operator" in answer.read()
    forged = re.sub(r"X-Amz-Signature=[0-9a-f]+", "X-Amz-Signature=" + "0" * 64, presign())
    for bad, code in (
        (forged, "SignatureDoesNotMatch"),
        (presign(MADE_UP), "InvalidClientTokenId"),
    ):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(bad, timeout=10)
        assert refused.value.code == 403
        assert f"<Code>{code}</Code>" in refused.value.read().decode()


# -- the control endpoints ------------------------------------------------------------------------


def test_control_endpoints_need_the_sandboxs_secret(sandbox: Sandbox) -> None:
    for path in CONTROL_PATHS:
        for headers in ({}, {"Authorization": "Bearer not-the-secret"}):
            status, text = raw(sandbox, path, headers=headers)
            assert status == 403 and "control secret" in text, (path, headers)
        status, _ = raw(sandbox, path, headers=sandbox.control_headers())
        assert status == 200, path
    status, _ = raw(sandbox, "/_sandbox/control", b'{"down": true}')
    assert status == 403 and not sandbox.down


def test_control_endpoints_answer_only_to_their_own_host_and_origin(sandbox: Sandbox) -> None:
    port = sandbox.port
    secret = sandbox.control_headers()
    body = b'{"down": true}'
    for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
        status, _ = raw(sandbox, "/_sandbox/calls", headers={**secret, "Host": host})
        assert status == 200, host
    # a DNS name rebound to 127.0.0.1 carries its own Host
    status, text = raw(sandbox, "/_sandbox/totp", headers={**secret, "Host": f"evil.test:{port}"})
    assert status == 403 and "Host" in text
    for origin in ("https://evil.test", "null", f"http://127.0.0.1:{port + 1}"):
        status, _ = raw(sandbox, "/_sandbox/control", body, {**secret, "Origin": origin})
        assert status == 403, origin
    assert not sandbox.down
    own = {**secret, "Origin": sandbox.endpoint_url, "Content-Type": "application/json"}
    status, _ = raw(sandbox, "/_sandbox/control", b'{"clock_offset": 1}', own)
    assert status == 200 and sandbox.clock_offset == 1


# -- the device verification page ----------------------------------------------------------------


def test_the_device_page_refuses_cross_site_and_token_less_posts(sandbox: Sandbox) -> None:
    device = start(sandbox, register(sandbox))
    code = device["userCode"]
    page = "/_sandbox/device"
    status, html = raw(sandbox, f"{page}?user_code={code}")
    assert status == 200
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None, "the form carries its CSRF token"
    token = found.group(1)
    form = {"user_code": code, "decision": "approve"}
    posted = {"Content-Type": "application/x-www-form-urlencoded"}

    status, html = raw(sandbox, page, urlencode(form).encode(), posted)
    assert status == 403 and "did not come from this page" in html
    other = start(sandbox, register(sandbox))["userCode"]  # a token is bound to its own code
    swapped = {"user_code": other, "decision": "approve", "csrf": token}
    assert raw(sandbox, page, urlencode(swapped).encode(), posted)[0] == 403
    with_token = urlencode({**form, "csrf": token}).encode()
    cross = {**posted, "Origin": "https://evil.test"}
    assert raw(sandbox, page, with_token, cross)[0] == 403
    rebound = {**posted, "Host": f"evil.test:{sandbox.port}"}
    assert raw(sandbox, page, with_token, rebound)[0] == 403
    pending = sandbox.state.identity_center.device_by_user_code(code)
    assert pending is not None and pending.status == "pending"

    # what the operator's browser sends from the page itself
    same = {**posted, "Origin": sandbox.endpoint_url}
    status, html = raw(sandbox, page, with_token, same)
    assert status == 200 and "Request approved" in html


# -- the data channel --------------------------------------------------------------------------------


def test_the_data_channel_takes_only_its_own_token_and_no_cross_origin_page(
    sandbox: Sandbox,
) -> None:
    ssm = client(sandbox, "ssm", creds=sandbox.role_credentials("FleetAdmin"))
    node = an_online_node(sandbox)
    mine, other = ssm.start_session(Target=node), ssm.start_session(Target=node)
    url = mine["StreamUrl"]
    with pytest.raises(InvalidStatus) as refused:
        connect(url, origin=Origin("https://evil.test"), open_timeout=5, legacy=True)
    assert refused.value.response.status_code == 403
    # another session's token (a real one, issued by the sandbox) does not open this session
    ws = connect(url, open_timeout=5, legacy=True)
    ws.send(frames.open_data_channel(other["TokenValue"], "test-client", "1.2.677.0"))
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    # an upgrade signed with a made-up key is refused like the API refuses it
    host_port = url.split("/")[2]
    headers = sigv4.sign(
        access_key=MADE_UP["AccessKeyId"],
        secret=MADE_UP["SecretAccessKey"],
        token=None,
        region="us-east-1",
        service="ssmmessages",
        method="GET",
        host=host_port,
        path=url.split(host_port, 1)[1].split("?")[0],
        headers={},
        body=b"",
    )
    headers.pop("Host")
    with pytest.raises(InvalidStatus) as refused:
        connect(url.split("?")[0], additional_headers=headers, open_timeout=5, legacy=True)
    assert refused.value.response.status_code == 403
    # its own token, from the sandbox's own page's origin, is served
    ws = connect(url, origin=Origin(sandbox.endpoint_url), open_timeout=5, legacy=True)
    ws.send(frames.open_data_channel(mine["TokenValue"], "test-client", "1.2.677.0"))
    first = ws.recv(timeout=5)
    assert isinstance(first, bytes) and frames.decode(first) is not None
    ws.close()
    for started in (mine, other):
        ssm.terminate_session(SessionId=started["SessionId"])


# -- the end to end, as another local user -----------------------------------------------


def test_another_local_user_gets_no_code_no_role_and_no_session(sandbox: Sandbox) -> None:
    """Finding 6: GET the MFA code, AssumeRole FleetAdmin with a made-up key, StartSession.
    Each step now fails, the first one first."""
    status, _ = raw(sandbox, "/_sandbox/totp")
    assert status == 403
    sts = client(sandbox, "sts", creds=MADE_UP)
    with pytest.raises(ClientError) as exc:
        sts.assume_role(
            RoleArn=FLEET_ADMIN,
            RoleSessionName="nobody",
            SerialNumber=DEMO_MFA_SERIAL,
            TokenCode=sandbox.totp_now(),  # even with a valid code
        )
    assert error_of(exc) == ("InvalidClientTokenId", 403)
    with pytest.raises(ClientError) as exc:
        client(sandbox, "ssm", creds=MADE_UP).start_session(Target=an_online_node(sandbox))
    assert error_of(exc) == ("UnrecognizedClientException", 400)


# -- the sandbox's folder ----------------------------------------------------------------------------


def test_the_sandboxs_folder_is_private(sandbox: Sandbox) -> None:
    assert sandbox.tmpdir is not None
    assert stat.S_IMODE(sandbox.tmpdir.stat().st_mode) == 0o700
    for name in ("aws-credentials", "aws-config", "config.toml", scratch.OWNER_FILE):
        assert stat.S_IMODE((sandbox.tmpdir / name).stat().st_mode) == 0o600, name
    assert (sandbox.tmpdir / scratch.OWNER_FILE).read_text().strip() == str(os.getpid())


def test_sweep_takes_only_our_dead_sandboxes_folders(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(dead.stdout)
    folders = {}
    for name, owner in (("dead", str(dead_pid)), ("alive", str(os.getppid())), ("silent", None)):
        folder = tmp_path / f"{scratch.PREFIX}{name}"
        folder.mkdir(mode=0o700)
        if owner is not None:
            (folder / scratch.OWNER_FILE).write_text(owner + "\n")
        folders[name] = folder
    not_ours = tmp_path / "someone-else-dead"
    not_ours.mkdir()
    (not_ours / scratch.OWNER_FILE).write_text(f"{dead_pid}\n")
    link = tmp_path / f"{scratch.PREFIX}link"
    link.symlink_to(folders["dead"])
    assert scratch.sweep(tmp_path) == [folders["dead"]]
    assert folders["alive"].exists() and folders["silent"].exists() and not_ours.exists()


def test_a_sigkilled_sandboxs_folder_is_swept_at_the_next_start(tmp_path: Path) -> None:
    # its own temp dir (others' sandboxes stay untouched) and state dir (for its pointer file)
    env = {**os.environ, "TMPDIR": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}

    def start_one() -> tuple[subprocess.Popen[str], Path]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sessiontui_sandbox", "--fleet", "empty"],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        folder = None
        for line in proc.stdout:
            if line.startswith("export AWS_SHARED_CREDENTIALS_FILE="):
                folder = Path(line.split("=", 1)[1].strip().strip("'")).parent
            if line.startswith("# sandbox on"):
                break
        assert folder is not None and folder.parent == tmp_path
        return proc, folder

    first, left = start_one()
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    assert left.is_dir()  # nothing ran at its death
    second, mine = start_one()
    try:
        assert not left.exists() and mine.is_dir()
    finally:
        second.terminate()
        second.wait(timeout=30)
    assert not mine.exists()  # a clean stop leaves nothing


AS_NOBODY = """
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=10) as reply:
        print(reply.status)
except urllib.error.HTTPError as err:
    print(err.code)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another user needs root")
def test_another_local_user_cannot_open_the_approval_page(sandbox: Sandbox) -> None:
    """The device page hands its CSRF token to whoever opens it, so a secret cannot guard it:
    the kernel's owner of the client socket (/proc/net/tcp, as identd reads it) does."""
    url = f"{sandbox.endpoint_url}/_sandbox/device"
    # the system's Python: the venv's may sit in a folder another user cannot enter
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("no system python3 for another user to run")

    def status(uid: int | None) -> str:
        return subprocess.run(
            [python, "-c", AS_NOBODY, url],
            cwd="/",
            env={"PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
            user=uid,
        ).stdout.strip()

    assert status(None) == "200"
    assert status(65534) == "403"  # nobody
