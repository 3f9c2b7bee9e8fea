"""A region's hybrid (`mi-`) nodes' tags: SSM's DescribeInstanceInformation has none of them.

One Resource Groups Tagging API GetResources page brings the tags of 100 managed instances
(`ssm:managed-instance`); SSM's ListTagsForResource brings one node's. At 1,000 hybrid nodes that
is 10 calls instead of 1,000, and most of the listing's client CPU was botocore's work per call
(docs/performance.md). An identity whose policies do not allow `tag:GetResources`, or any other
failure of it, falls back to one ListTagsForResource per node, as before; a node whose tags cannot
be read is still listed, without them. When both are refused (the SSO guide's permission sets
grant neither), the nodes are marked with why (`unreadable`) and no further call is made: rows
and facets say the tags are not readable with this access instead of showing none.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from sessiontui.aws.bad_answers import check_page
from sessiontui.aws.call_slots import AWS_ERRORS, CALL_SLOTS, pages_capped
from sessiontui.aws.clients import ClientFactory
from sessiontui.aws.metering import CallMeter

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

MANAGED_INSTANCE = "ssm:managed-instance"
DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
PAGE = 100  # GetResources' ResourcesPerPage maximum

Tags = dict[str, str]


def tag_dict(pairs: Iterable[Mapping[str, object]] | None) -> Tags:
    return {str(t.get("Key", "")): str(t.get("Value", "")) for t in pairs or [] if t.get("Key")}


class HybridTags:
    """Fed the hybrid node ids as DescribeInstanceInformation pages bring them; hands their tags
    to `apply` ({node id: tags}), from a worker of `pool`, as they are known."""

    def __init__(
        self,
        factory: ClientFactory,
        region: str,
        ssm: SSMClient,
        pool: ThreadPoolExecutor,
        meter: CallMeter | None,
        stopping: Callable[[], bool],
        apply: Callable[[dict[str, Tags]], None],
        unreadable: Callable[[list[str], str], None] | None = None,
    ) -> None:
        self.factory = factory
        self.region = region
        self.ssm = ssm
        self.pool = pool
        self.meter = meter
        self.stopping = stopping
        self.apply = apply
        self.unreadable = unreadable
        self._region_refusal = ""  # GetResources' refusal code, when it was refused
        self.denied = ""  # why neither call may read tags: every node is then marked, not asked
        self._lock = threading.Lock()
        self._jobs: list[Future[None]] = []
        self._waiting: list[str] = []  # ids seen while the region's tags are being fetched
        self._known: dict[str, Tags] | None = None  # the region's tags, once fetched
        self._one_by_one = False  # GetResources failed: ListTagsForResource per node

    def add(self, node_ids: list[str]) -> None:
        if not node_ids:
            return
        with self._lock:
            denied = self.denied
        if denied:
            self._mark(node_ids, denied)
            return
        with self._lock:
            if self._known is not None:
                known = self._known
                ready = {i: known.get(i, {}) for i in node_ids}
            else:
                ready = None
                if self._one_by_one:
                    self._submit(self._one, *node_ids)
                else:
                    if not self._jobs:
                        self._submit(self._region)
                    self._waiting += node_ids
        if ready is not None:
            self.apply(ready)

    def _submit(self, call: Callable[..., None], *node_ids: str) -> None:
        """Queue `call` (once per id, or once without): under the lock."""
        try:
            if node_ids:
                self._jobs += [self.pool.submit(call, i) for i in node_ids]
            else:
                self._jobs.append(self.pool.submit(call))
        except RuntimeError:
            pass  # the pool is shut: the listing was cancelled

    def cancel(self) -> None:
        with self._lock:
            for job in self._jobs:
                job.cancel()

    def wait(self) -> None:
        """Until every call made or queued is done (jobs may queue more: the fallback)."""
        done = 0
        while True:
            with self._lock:
                jobs = self._jobs[done:]
                done = len(self._jobs)
            if not jobs:
                return
            for job in jobs:
                with contextlib.suppress(CancelledError):
                    job.result()

    def _region(self) -> None:
        if self.stopping():
            return
        try:
            client = self.factory.client("resourcegroupstaggingapi", self.region)
            if self.meter:
                self.meter.attach(client)
            pages = client.get_paginator("get_resources").paginate(
                ResourceTypeFilters=[MANAGED_INSTANCE], PaginationConfig={"PageSize": PAGE}
            )
            known: dict[str, Tags] = {}
            for page in pages_capped(pages, "GetResources"):
                check_page("GetResources", page, "ResourceTagMappingList")
                if self.stopping():
                    return
                for item in page.get("ResourceTagMappingList", []):
                    arn = str(item.get("ResourceARN", ""))
                    known[arn.rpartition("/")[2]] = tag_dict(item.get("Tags"))
        except AWS_ERRORS as exc:
            with self._lock:
                self._region_refusal = _code(exc)
                self._one_by_one = True
                waiting, self._waiting = self._waiting, []
                self._submit(self._one, *waiting)
            return
        with self._lock:
            self._known = known
            waiting, self._waiting = self._waiting, []
        self.apply({i: known.get(i, {}) for i in waiting})

    def _mark(self, node_ids: list[str], why: str) -> None:
        if self.unreadable is not None:
            self.unreadable(node_ids, why)

    def _one(self, node_id: str) -> None:
        if self.stopping():
            return
        with self._lock:
            denied = self.denied
        if denied:
            self._mark([node_id], denied)
            return
        try:
            with CALL_SLOTS:
                resp = self.ssm.list_tags_for_resource(
                    ResourceType="ManagedInstance", ResourceId=node_id
                )
            check_page("ListTagsForResource", resp, "TagList")
        except AWS_ERRORS as exc:
            with self._lock:
                if _code(exc) in DENIED and self._region_refusal in DENIED:
                    self.denied = (
                        f"tag:GetResources ({self._region_refusal}) and "
                        f"ssm:ListTagsForResource ({_code(exc)}) are refused"
                    )
                denied = self.denied
            if denied:
                self._mark([node_id], denied)
            return  # a node without readable tags is still listed
        self.apply({node_id: tag_dict(resp.get("TagList"))})


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))
