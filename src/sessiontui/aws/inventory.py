"""The fleet: every node SSM manages, merged with EC2 and hybrid tags, region by region.

API floor for N nodes: ceil(N/1000) DescribeInstanceProperties (or, where an identity may not call
it, ceil(N/50) DescribeInstanceInformation, learnt once a process) + ceil(N_ec2/1000) DescribeInstances
+ ceil(N_tagged_hybrid/100) GetResources (Tagging API) where a region has hybrid nodes, or one
ListTagsForResource per hybrid node where the identity may not call GetResources (`hybrid_tags`). Rows stream out as pages arrive; callers get upserts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from sessiontui.aws import lean_answers
from sessiontui.aws.bad_answers import (
    PARSE_ERRORS,
    BadAnswer,
    check_page,
    client_error_text,
    one_line,
    parse_failure,
)
from sessiontui.aws.call_slots import (
    AWS_ERRORS,
    CALL_SLOTS,
    EC2_PAGE_SLOTS,
    pages_capped,
)
from sessiontui.aws.clients import NO_CREDENTIALS_HINT, ClientFactory
from sessiontui.aws.fleet_result import FleetResult, RegionError
from sessiontui.aws.hybrid_tags import HybridTags, tag_dict
from sessiontui.aws.metering import CallMeter
from sessiontui.core.errors import AuthError, SessiontuiError
from sessiontui.core.node import EC2, HYBRID, Node

if TYPE_CHECKING:
    from mypy_boto3_ssm.type_defs import PaginatorConfigTypeDef


SSM_PAGE = 1000  # DescribeInstanceProperties' maximum
INFORMATION_PAGE = 50  # DescribeInstanceInformation's
EC2_PAGE = 1000  # DescribeInstances' maximum
TAG_WORKERS = 8
LIVE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]
AUTH_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "AuthFailure",
    "SignatureDoesNotMatch",
}

OnNodes = Callable[[str, list[Node]], None]
OnError = Callable[[str, str], None]


def describe_error(exc: BaseException) -> tuple[str, bool]:
    """Plain words for an AWS failure, and whether it is about identity (exit 3)."""
    if isinstance(exc, NoCredentialsError):
        return NO_CREDENTIALS_HINT, True
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", "Error"))
        msg = str(err.get("Message", "")).strip()
        text = client_error_text(exc.operation_name, code, msg)
        if code in ("ExpiredToken", "ExpiredTokenException"):
            text += " (credentials expired: re-authenticate)"
        if "scoped to a valid region" in msg:
            return text + " (no such region?)", False  # the region's name, not the identity
        return text, code in AUTH_CODES
    if isinstance(exc, BadAnswer):
        return str(exc), False
    if isinstance(exc, PARSE_ERRORS):
        return str(parse_failure("AWS call", exc)), False
    if isinstance(exc, BotoCoreError):
        return one_line(str(exc)), False
    return one_line(f"{type(exc).__name__}: {exc}"), False


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float):  # lean answers keep JSON's epoch seconds
        return datetime.fromtimestamp(value, UTC).isoformat()
    return str(value) if value else ""


@dataclass
class Ec2Info:
    tags: dict[str, str]
    state: str
    private_ip: str
    platform: str


def ec2_info(inst: Mapping[str, Any]) -> Ec2Info:
    """What one DescribeInstances instance adds to its SSM record."""
    return Ec2Info(
        tags=tag_dict(inst.get("Tags")),
        state=str(inst.get("State", {}).get("Name", "")),
        private_ip=str(inst.get("PrivateIpAddress") or ""),
        platform="Windows" if inst.get("Platform") == "windows" else "Linux",
    )


def node_from_ssm(item: dict[str, Any], region: str) -> Node:
    rtype = str(
        item.get("ResourceType") or (HYBRID if item["InstanceId"].startswith("mi-") else EC2)
    )
    return Node(
        id=item["InstanceId"],
        region=region,
        name=str(item.get("Name") or ""),
        ping_status=str(item.get("PingStatus") or ""),
        platform=str(item.get("PlatformType") or ""),
        platform_name=str(item.get("PlatformName") or ""),
        platform_version=str(item.get("PlatformVersion") or ""),
        resource_type=rtype,
        private_ip=str(item.get("IPAddress") or ""),
        agent_version=str(item.get("AgentVersion") or ""),
        iam_role=str(item.get("IamRole") or ""),
        last_ping=_iso(item.get("LastPingDateTime")),
        computer_name=str(item.get("ComputerName") or ""),
        managed=True,
    )


def merge_ec2(node: Node, info: Ec2Info | None) -> Node:
    if info is None:
        return node
    return node.with_updates(
        name=info.tags.get("Name", node.name),
        tags=info.tags,
        state=info.state,
        private_ip=info.private_ip or node.private_ip,
        platform=node.platform or info.platform,
    )


def unmanaged_node(instance_id: str, region: str, info: Ec2Info) -> Node:
    return Node(
        id=instance_id,
        region=region,
        name=info.tags.get("Name", ""),
        tags=info.tags,
        state=info.state,
        private_ip=info.private_ip,
        platform=info.platform,
        resource_type=EC2,
        managed=False,
    )


# Codes with which an SSM endpoint refuses DescribeInstanceProperties while it may still answer
# DescribeInstanceInformation: a policy written before the call existed (AWS's quickstart
# policies name only the older one), or an endpoint that does not know it.
PROPERTIES_REFUSED = {"AccessDeniedException", "AccessDenied", "InvalidAction", "UnknownOperation"}


@dataclass(frozen=True)
class SsmListing:
    """Which SSM call lists a region's nodes, with its page size and the answer's list."""

    method: Literal["describe_instance_properties", "describe_instance_information"]
    operation: str
    page_size: int
    key: str


PROPERTIES = SsmListing(
    "describe_instance_properties", "DescribeInstanceProperties", SSM_PAGE, "InstanceProperties"
)
INFORMATION = SsmListing(
    "describe_instance_information",
    "DescribeInstanceInformation",
    INFORMATION_PAGE,
    "InstanceInformationList",
)

# (credentials' key, region) that refused DescribeInstanceProperties: asked once a process
_refused_properties: set[tuple[str, str]] = set()
_refused_lock = threading.Lock()


def _credentials_key(factory: ClientFactory) -> str:
    creds = factory.credentials
    return creds.access_key_id if creds is not None else f"profile:{factory.profile or ''}"


class _RegionLister:
    """One region: SSM pages in this thread, EC2 in a helper thread, hybrid tags in a pool."""

    def __init__(
        self,
        factory: ClientFactory,
        region: str,
        on_nodes: OnNodes | None,
        tag_pool: ThreadPoolExecutor,
        meter: CallMeter | None,
        cancel: threading.Event | None = None,
        first_page: int | None = None,
    ) -> None:
        self.region = region
        # with `first_page`, the first SSM page is that small and EC2 waits for it: a TUI with
        # nothing cached to show paints these rows while the big pages are still being made
        self.first_page = first_page
        self.first_done = threading.Event()
        if not first_page:
            self.first_done.set()
        self.cancel = cancel if cancel is not None else threading.Event()  # the caller's
        self.stop = threading.Event()  # this region's own: its SSM side failed
        self.on_nodes = on_nodes
        self.tag_pool = tag_pool
        self.factory = factory
        self.meter = meter
        self.ssm = factory.client("ssm", region)
        self.credentials_key = _credentials_key(factory)
        if meter:
            meter.attach(self.ssm)
        lean_answers.attach(self.ssm)
        self._lock = threading.Lock()
        self.nodes: dict[str, Node] = {}
        self.tags = HybridTags(
            factory,
            region,
            self.ssm,
            tag_pool,
            meter,
            self._stopping,
            self._apply_tags,
            self._tags_unreadable,
        )
        self.ec2_info: dict[str, Ec2Info] | None = None
        self.ec2_error: BaseException | None = None  # AWS trouble: the region lists without names
        self.ec2_crash: BaseException | None = None  # anything else: the region fails

    def _stopping(self) -> bool:
        return self.stop.is_set() or self.cancel.is_set()

    def _emit(self, nodes: list[Node]) -> None:
        """Called with `_lock` held: the caller keeps the last version of a node it was sent,
        so versions must leave in the order they were made. Emitted after the lock, an SSM page
        built before the EC2 merge could be sent after it, and the node lost its name and
        state until the next refresh."""
        if nodes and self.on_nodes:
            self.on_nodes(self.region, nodes)

    def _list_ec2(self) -> None:
        """In its own thread: every way out is recorded, none prints a traceback."""
        try:
            self._list_ec2_pages()
        except BaseException as exc:  # the caller's on_nodes gave up, or a bug: the region fails
            self.ec2_crash = exc
            self.stop.set()

    def _list_ec2_pages(self) -> None:
        info: dict[str, Ec2Info] = {}
        self.first_done.wait()
        # made here, not before the SSM side's first call: botocore's EC2 model is the biggest
        # it loads (1.0 s measured under load, against 0.18 s for a first SSM page of 50)
        ec2 = self.factory.client("ec2", self.region)
        if self.meter:
            self.meter.attach(ec2)
        lean_answers.attach(ec2)
        try:
            pages = ec2.get_paginator("describe_instances").paginate(
                Filters=[{"Name": "instance-state-name", "Values": LIVE_STATES}],
                PaginationConfig={"PageSize": EC2_PAGE},
            )
            for page in pages_capped(pages, "DescribeInstances", EC2_PAGE_SLOTS):
                if self._stopping():
                    return
                for reservation in page.get("Reservations", []):
                    for inst in reservation.get("Instances", []):
                        info[inst["InstanceId"]] = ec2_info(inst)
        except AWS_ERRORS as exc:
            self.ec2_error = exc
        with self._lock:
            self.ec2_info = info
            merged = [
                merge_ec2(n, info.get(nid)) for nid, n in self.nodes.items() if not n.is_hybrid
            ]
            for m in merged:
                self.nodes[m.id] = m
            self._emit(merged)

    def _apply_tags(self, tags: dict[str, dict[str, str]]) -> None:
        with self._lock:
            updated = []
            for node_id, node_tags in tags.items():
                node = self.nodes.get(node_id)
                if node is None:
                    continue
                node = node.with_updates(tags=node_tags, name=node_tags.get("Name", node.name))
                self.nodes[node_id] = node
                updated.append(node)
            self._emit(updated)  # tagless nodes too: their rows learn there is nothing to wait for

    def _tags_unreadable(self, node_ids: list[str], why: str) -> None:
        with self._lock:
            updated = []
            for node_id in node_ids:
                node = self.nodes.get(node_id)
                if node is not None:
                    node = node.with_updates(tags_unreadable=why)
                    self.nodes[node_id] = node
                    updated.append(node)
            self._emit(updated)

    def _list_ssm(self) -> None:
        key = (self.credentials_key, self.region)
        with _refused_lock:
            listing = INFORMATION if key in _refused_properties else PROPERTIES
        try:
            self._list_ssm_pages(listing)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if listing is INFORMATION or code not in PROPERTIES_REFUSED or self.nodes:
                raise
            with _refused_lock:
                _refused_properties.add(key)
            self._list_ssm_pages(INFORMATION)

    def _list_ssm_pages(self, listing: SsmListing) -> None:
        config: PaginatorConfigTypeDef = {"PageSize": listing.page_size}
        if not self.first_done.is_set():
            with CALL_SLOTS:
                head = getattr(self.ssm, listing.method)(MaxResults=self.first_page)
            check_page(listing.operation, head, listing.key)
            self._take_page(listing, head)
            self.first_done.set()
            if not head.get("NextToken"):
                return
            # a paginator's StartingToken is botocore's own encoding of the service's token, not
            # the token itself: a service token that decodes as botocore's (base64 JSON, as the
            # sandbox's does) was read as request parameters, and the cold listing failed after
            # its first page in every region
            from botocore.paginate import TokenEncoder  # here: the TUI imports this module

            config["StartingToken"] = TokenEncoder().encode({"NextToken": head["NextToken"]})
        pages = self.ssm.get_paginator(listing.method).paginate(PaginationConfig=config)
        for page in pages_capped(pages, listing.operation):
            check_page(listing.operation, page, listing.key)
            self._take_page(listing, page)

    def _take_page(self, listing: SsmListing, page: Mapping[str, Any]) -> None:
        if self.cancel.is_set():
            raise ListingCancelled(self.region)
        batch: list[Node] = []
        with self._lock:
            for item in page.get(listing.key, []):
                node = node_from_ssm(item, self.region)
                if not node.is_hybrid and self.ec2_info is not None:
                    node = merge_ec2(node, self.ec2_info.get(node.id))
                self.nodes[node.id] = node
                batch.append(node)
            self._emit(batch)
        self.tags.add([n.id for n in batch if n.is_hybrid])

    def run(self) -> list[Node]:
        ec2_thread = threading.Thread(target=self._list_ec2, name=f"ec2-{self.region}", daemon=True)
        ec2_thread.start()
        try:
            self._list_ssm()
        except BaseException:
            # the EC2 side and queued tag calls stop at their next page instead of running on
            self.stop.set()
            self.tags.cancel()
            raise
        finally:
            self.first_done.set()
            ec2_thread.join()
            self.tags.wait()
        if self.ec2_crash is not None:
            raise self.ec2_crash
        with self._lock:
            extra = [
                unmanaged_node(iid, self.region, info)
                for iid, info in (self.ec2_info or {}).items()
                if iid not in self.nodes
            ]
            for n in extra:
                self.nodes[n.id] = n
            result = list(self.nodes.values())
            self._emit(extra)
        return result


def list_region(
    factory: ClientFactory,
    region: str,
    on_nodes: OnNodes | None = None,
    meter: CallMeter | None = None,
    tag_pool: ThreadPoolExecutor | None = None,
    cancel: threading.Event | None = None,
    first_page: int | None = None,
) -> list[Node]:
    """All nodes in one region. Raises botocore errors from SSM; EC2 trouble only loses names."""
    own_pool = tag_pool is None
    pool = tag_pool or ThreadPoolExecutor(max_workers=TAG_WORKERS, thread_name_prefix="tags")
    try:
        lister = _RegionLister(factory, region, on_nodes, pool, meter, cancel, first_page)
        nodes = lister.run()
        if lister.ec2_error is not None:
            raise _PartialRegion(nodes, lister.ec2_error)
        return nodes
    finally:
        if own_pool:
            pool.shutdown(wait=True)


class ListingCancelled(Exception):
    """The caller set `cancel`: the listing stopped at a page boundary."""


class _PartialRegion(Exception):
    def __init__(self, nodes: list[Node], cause: BaseException) -> None:
        super().__init__(str(cause))
        self.nodes = nodes
        self.cause = cause


def list_fleet(
    factory: ClientFactory,
    regions: list[str],
    on_nodes: OnNodes | None = None,
    on_error: OnError | None = None,
    meter: CallMeter | None = None,
    cancel: threading.Event | None = None,
    first_page: int | None = None,
) -> FleetResult:
    """Every region concurrently; a failing region is reported and the others are kept.

    Setting `cancel` stops every region at its next page (at most one call in flight each), so an
    operator quitting mid-listing does not wait for the rest of a large fleet.
    """
    cancel = cancel if cancel is not None else threading.Event()
    start = time.perf_counter()
    result = FleetResult()
    lock = threading.Lock()

    def fail(region: str, text: str, auth: bool) -> None:
        err = RegionError(region, text, auth)
        with lock:
            result.errors.append(err)
        if on_error:
            try:
                on_error(region, text)
            except Exception:  # the caller's reporting failed: the error is in the result anyway
                cancel.set()

    def one(region: str) -> None:
        """One region's thread; it records every failure and never dies with a traceback."""
        try:
            listed(region)
        except Exception as exc:  # a bug on the way: this region fails, and the listing stops
            cancel.set()
            fail(region, *describe_error(exc))

    def listed(region: str) -> None:
        if cancel.is_set():
            return
        try:
            nodes = list_region(factory, region, on_nodes, meter, tag_pool, cancel, first_page)
        except _PartialRegion as partial:
            nodes = partial.nodes
            text, auth = describe_error(partial.cause)
            fail(region, f"names and states missing: {text}", auth)
        except ListingCancelled:
            result.cancelled = True
            return
        except Exception as exc:
            if not isinstance(exc, AWS_ERRORS):
                # the caller's on_nodes gave up (or a bug): the other regions stop as well
                cancel.set()
            fail(region, *describe_error(exc))
            return
        with lock:
            result.nodes.extend(nodes)

    # Regions run in daemon threads and we wait in short slices: once `cancel` is set we return at
    # once, leaving at most one call per region in flight to finish (or die with the process).
    # Executor threads would be joined at exit, making a quitting operator wait for AWS.
    tag_pool = ThreadPoolExecutor(max_workers=TAG_WORKERS, thread_name_prefix="tags")
    threads = [
        threading.Thread(target=one, args=(r,), name=f"region-{r}", daemon=True) for r in regions
    ]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive() and not cancel.is_set():
                t.join(timeout=0.05)
    finally:
        tag_pool.shutdown(wait=not cancel.is_set(), cancel_futures=cancel.is_set())
    if cancel.is_set():
        with lock:
            return FleetResult(
                nodes=list(result.nodes),
                errors=sorted(result.errors, key=lambda e: e.region),
                seconds=time.perf_counter() - start,
                cancelled=True,
            )
    result.errors.sort(key=lambda e: e.region)
    result.seconds = time.perf_counter() - start
    return result


def raise_if_failed(result: FleetResult) -> None:
    """Every region failed: on identity an authentication problem (exit 3), else a plain error.

    One or more regions answering is not a failure: callers warn about the others.
    """
    if not result.errors or result.nodes:
        return
    if all(e.auth for e in result.errors):
        raise AuthError(result.errors[0].message)
    raise SessiontuiError(
        "listing failed in every region: "
        + "; ".join(f"{e.region}: {e.message}" for e in result.errors)
    )
