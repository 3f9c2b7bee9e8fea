"""The cap on AWS calls in flight in one process, shared by every listing running in it."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sessiontui.aws.bad_answers import PARSE_ERRORS, parse_failure

# what an AWS call may raise that is about AWS (or what stands in its way), not about us
AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError, *PARSE_ERRORS)

# Calls in flight at once in this process, over every account and region listed together (one
# fleet across ten accounts and three regions is 60 region threads and 80 tag workers). AWS
# throttles per account and region, so the cap is the client's: the answers are parsed on one
# core, at about 0.3-0.5 ms a node. An SSM page of 50 nodes is then 15-25 ms of parsing against
# 0.2-0.3 s of AWS's latency, so about 16 calls in flight keep that core busy; more would only
# add sockets and threads waiting for the GIL. (docs/performance.md, organisation scale)
MAX_CALLS_IN_FLIGHT = 16
CALL_SLOTS = threading.BoundedSemaphore(MAX_CALLS_IN_FLIGHT)
# Of those, DescribeInstances pages: up to 1,000 instances each, 0.3-0.5 s of parsing here and
# seconds of the server's time. More than four at once only queue for the one parsing core
# (and starve the small SSM pages that bring rows to the screen first).
MAX_EC2_PAGES_IN_FLIGHT = 4
EC2_PAGE_SLOTS = threading.BoundedSemaphore(MAX_EC2_PAGES_IN_FLIGHT)


def pages_capped(
    pages: Iterable[Mapping[str, Any]], operation: str, heavy: threading.Semaphore | None = None
) -> Iterator[Mapping[str, Any]]:
    """A paginator's pages, each call under the caps on calls in flight, with botocore's parse
    failures named after the operation."""
    iterator = iter(pages)
    while True:
        try:
            with heavy or contextlib.nullcontext(), CALL_SLOTS:  # always in this order
                page = next(iterator)
        except StopIteration:
            return
        except PARSE_ERRORS as exc:
            raise parse_failure(operation, exc) from None
        yield page
