"""botocore sessions and clients, made in one place and passed down.

The AWS CLI's rules apply because botocore applies them: AWS_PROFILE, ~/.aws/config, AWS_ENDPOINT_URL
(and per-service AWS_ENDPOINT_URL_SSM and friends) are read by botocore itself. We add AWS_REGION,
which the AWS CLI v2 honours and botocore does not.

Clients are botocore's, made from a botocore session per identity (`ClientFactory.core`): boto3's
`Session.client` adds nothing else for the services we call, and its import and session cost a
listing child 0.1-0.2 s of CPU before a cold start's first rows (docs/performance.md). A boto3
session on the same botocore session (`ClientFactory.session`) is there for the code that asks
for one. Neither is imported at construction: the TUI paints cached rows before anyone has paid
for it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload

from sessiontui.core.credentials import Credentials
from sessiontui.core.errors import AuthError, ConfigError, UsageError

if TYPE_CHECKING:
    # the stubs only: boto3 itself is imported on first use (see above)
    import boto3
    import botocore.session
    from botocore.client import BaseClient
    from botocore.config import Config
    from botocore.loaders import Loader
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_elasticache import ElastiCacheClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_resourcegroupstaggingapi import ResourceGroupsTaggingAPIClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_sso import SSOClient
    from mypy_boto3_sso_oidc import SSOOIDCClient
    from mypy_boto3_sts import STSClient

NO_CREDENTIALS_HINT = (
    "no AWS credentials found: set AWS_PROFILE or use --profile, run `aws configure` or "
    "`aws sso login`, or try the sandbox with --demo"
)


@functools.cache
def retry_config() -> Config:
    from botocore.config import Config

    # Standard mode retries throttling with backoff: a throttled listing slows down but completes.
    return Config(
        retries={"mode": "standard", "max_attempts": 8},
        max_pool_connections=32,
        connect_timeout=5,
        read_timeout=60,  # botocore's and the AWS CLI's default: a 1,000-instance page may take a while
    )


def env_region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def profile_region(profile: str | None) -> str | None:
    """The profile's region from ~/.aws/config, read without importing botocore."""
    from sessiontui.aws_profiles import read_aws_profiles

    name = (
        profile
        or os.environ.get("AWS_PROFILE")
        or os.environ.get("AWS_DEFAULT_PROFILE")
        or "default"
    )
    return read_aws_profiles().get(name, {}).get("region") or None


def config_parse_error(exc: BaseException) -> ConfigError | None:
    """botocore's ConfigParseError (a broken config or credentials file) as FILE:LINE, exit 2."""
    if type(exc).__name__ != "ConfigParseError":
        return None
    from sessiontui.aws_profiles import parse_error

    kwargs = getattr(exc, "kwargs", {}) or {}
    inner = kwargs.get("error")
    return parse_error(Path(str(kwargs.get("path", "?"))), inner if inner is not None else exc)


@contextlib.contextmanager
def _config_files_readable() -> Iterator[None]:
    """botocore reads the config and credentials files lazily, on any of these calls."""
    try:
        yield
    except Exception as exc:
        found = config_parse_error(exc)
        if found is not None:
            raise found from None
        raise


_loader_lock = threading.Lock()
_shared_loader: Loader | None = None


def _botocore_session() -> botocore.session.Session:
    """A botocore session that shares one data loader with every other in this process.

    Each session otherwise parses the service models and endpoint rules again (EC2's model alone
    is megabytes of JSON): one fleet across ten accounts made 60 clients in the listing child,
    3.3 s of CPU against 0.5 s with one loader. The loader's data is read-only.
    """
    import botocore.session

    global _shared_loader
    session = botocore.session.Session()
    with _loader_lock:
        if _shared_loader is None:
            _shared_loader = session.get_component("data_loader")
        else:
            session.register_component("data_loader", _shared_loader)
        # boto3 appends its own data folder to the loader's search paths for every session
        paths = _shared_loader.search_paths
        paths[:] = list(dict.fromkeys(paths))
    return session


def preload(service: str) -> None:
    """Parse `service`'s model, endpoint rules and paginators into the shared loader now, with
    no call and no credentials of anyone's: a listing child started ahead of its request
    (listing_process.prespawn) has them ready when it is asked."""
    _botocore_session().create_client(
        service,
        region_name="us-east-1",
        aws_access_key_id="preload",
        aws_secret_access_key="preload",
    )


class ClientFactory:
    """Clients per (service, region) for one identity: a profile, or a role's credentials."""

    def __init__(
        self,
        profile: str | None = None,
        credentials: Credentials | None = None,
        config: Config | None = None,
    ) -> None:
        self.profile = profile
        self.credentials = credentials
        self._config = config
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], BaseClient] = {}

    @functools.cached_property
    def core(self) -> botocore.session.Session:
        """This identity's botocore session: the profile (checked now, as boto3 checks it), or
        the role's credentials; AWS_REGION as its region."""
        from botocore.exceptions import ProfileNotFound

        with _config_files_readable():
            core = _botocore_session()
            if self.credentials is not None:
                creds = self.credentials
                core.set_credentials(
                    creds.access_key_id, creds.secret_access_key, creds.session_token
                )
            elif self.profile is not None:
                core.set_config_variable("profile", self.profile)
                try:
                    core.get_scoped_config()
                except ProfileNotFound as exc:
                    raise UsageError(
                        f"AWS profile not found: {self.profile}",
                        "see `aws configure list-profiles`",
                    ) from exc
            region = env_region()
            if region is not None:
                core.set_config_variable("region", region)
        return core

    @functools.cached_property
    def session(self) -> boto3.Session:
        """A boto3 session on `core` (the same credentials, the same clients' configuration)."""
        import boto3

        return boto3.Session(botocore_session=self.core)

    def default_region(self) -> str | None:
        if self.credentials is None and (found := env_region() or profile_region(self.profile)):
            return found
        with _config_files_readable():
            region = env_region() or self.core.get_config_variable("region")
            return str(region) if region else None

    def regions(
        self, requested: list[str] | None = None, configured: list[str] | None = None
    ) -> list[str]:
        """--region wins, then the config's list, then the profile/env default."""
        regions = list(dict.fromkeys(requested or configured or []))
        if not regions:
            default = self.default_region()
            if not default:
                raise UsageError(
                    "no AWS region: set AWS_REGION, use --region, or add `regions` to the config"
                )
            regions = [default]
        return regions

    # one overload per service sessiontui calls, so each call site gets that service's typed client
    @overload
    def client(self, service: Literal["ssm"], region: str | None = None) -> SSMClient: ...
    @overload
    def client(self, service: Literal["ec2"], region: str | None = None) -> EC2Client: ...
    @overload
    def client(self, service: Literal["sts"], region: str | None = None) -> STSClient: ...
    @overload
    def client(self, service: Literal["iam"], region: str | None = None) -> IAMClient: ...
    @overload
    def client(self, service: Literal["rds"], region: str | None = None) -> RDSClient: ...
    @overload
    def client(
        self, service: Literal["elasticache"], region: str | None = None
    ) -> ElastiCacheClient: ...
    @overload
    def client(
        self, service: Literal["secretsmanager"], region: str | None = None
    ) -> SecretsManagerClient: ...
    @overload
    def client(
        self, service: Literal["resourcegroupstaggingapi"], region: str | None = None
    ) -> ResourceGroupsTaggingAPIClient: ...
    @overload
    def client(self, service: str, region: str | None = None) -> BaseClient: ...

    def client(self, service: str, region: str | None = None) -> BaseClient:
        from botocore.exceptions import NoRegionError

        region = region or self.default_region()
        key = (service, region or "")
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                try:
                    with _config_files_readable():
                        found = self.core.create_client(
                            service, region_name=region, config=self._config or retry_config()
                        )
                except NoRegionError as exc:
                    raise UsageError("no AWS region: set AWS_REGION or use --region") from exc
                self._clients[key] = found
            return found

    @overload
    def unsigned_client(self, service: Literal["sso"], region: str) -> SSOClient: ...
    @overload
    def unsigned_client(self, service: Literal["sso-oidc"], region: str) -> SSOOIDCClient: ...

    def unsigned_client(self, service: str, region: str) -> BaseClient:
        """A client whose calls are not signed: sso-oidc, and the sso portal (a bearer token)."""
        from botocore import UNSIGNED
        from botocore.config import Config

        key = (f"{service}:unsigned", region)
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                config = (self._config or retry_config()).merge(Config(signature_version=UNSIGNED))
                with _config_files_readable():
                    found = self.core.create_client(service, region_name=region, config=config)
                self._clients[key] = found
            return found

    def has_credentials(self) -> bool:
        try:
            return self.core.get_credentials() is not None
        except ConfigError:
            raise
        except Exception as exc:
            found = config_parse_error(exc)
            if found is not None:
                raise found from None  # a broken file is not "no credentials"
            return False

    def require_credentials(self) -> None:
        if not self.has_credentials():
            raise AuthError(NO_CREDENTIALS_HINT)

    def frozen_credentials(self) -> Credentials:
        """The base identity's keys as they are now, for a plugin run without a JIT role."""
        with _config_files_readable():
            found = self.core.get_credentials()
        if found is None:
            raise AuthError(NO_CREDENTIALS_HINT)
        frozen = found.get_frozen_credentials()
        if frozen.access_key is None or frozen.secret_key is None:
            raise AuthError(NO_CREDENTIALS_HINT)  # botocore types them optional; never seen so
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)

    def with_credentials(self, credentials: Credentials) -> ClientFactory:
        return ClientFactory(profile=None, credentials=credentials, config=self._config)
