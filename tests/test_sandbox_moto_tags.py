"""The sandbox's lookup of an EC2 resource's tags answers as moto's own scan does."""

from __future__ import annotations

from typing import Any


def test_tag_lookup_equals_moto_scan(sandbox: Any) -> None:
    from moto.ec2.models import ec2_backends

    from sessiontui_sandbox.demo import DEMO_ACCOUNT

    backend = ec2_backends[DEMO_ACCOUNT][sandbox.regions[0]]
    instances = [i for r in backend.reservations.values() for i in r.instances]
    assert len(instances) > 10
    before = len(backend.tags)
    for instance in instances:
        scanned = backend.describe_tags(filters={"resource-id": [instance.id]})
        assert instance.get_tags() == scanned
        assert instance.get_tags(), instance.id  # the demo tags every instance
    for volume in list(backend.volumes.values())[:3]:  # untagged: nothing, and no entry made
        assert volume.get_tags() == backend.describe_tags(filters={"resource-id": [volume.id]})
    assert len(backend.tags) == before
