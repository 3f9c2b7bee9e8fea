"""`--list --json` against an endpoint it has never seen: only AWS_ENDPOINT_URL, region and keys.

The sandbox runs in another process with the `large` fleet (different ids, names, ~10% hybrid),
and sessiontui gets no sandbox config at all: what any moto-based endpoint would offer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.listing import sandbox_process


def test_lists_an_unknown_fleet_completely(tmp_path: Path) -> None:
    with sandbox_process(700) as sb_env:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "AWS_ENDPOINT_URL": sb_env["AWS_ENDPOINT_URL"],
            # the keys the sandbox printed: it refuses any other, as AWS does
            "AWS_ACCESS_KEY_ID": sb_env["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": sb_env["AWS_SECRET_ACCESS_KEY"],
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        truth: dict[str, dict[str, Any]] = {}
        for region in ("us-east-1", "eu-west-1"):
            ssm = boto3.client(
                "ssm",
                region_name=region,
                endpoint_url=env["AWS_ENDPOINT_URL"],
                aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            )
            for page in ssm.get_paginator("describe_instance_information").paginate():
                for item in page["InstanceInformationList"]:
                    truth[item["InstanceId"]] = {**item, "region": region}
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "sessiontui",
                "--list",
                "--json",
                "--region",
                "us-east-1",
                "--region",
                "eu-west-1",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr
        nodes = {n["id"]: n for n in json.loads(out.stdout)}
        assert set(truth) <= set(nodes), "every managed node is listed, across pages and regions"
        assert len(truth) >= 600
        for node_id, item in truth.items():
            node = nodes[node_id]
            assert node["region"] == item["region"]
            assert node["ping_status"] == item["PingStatus"]
            assert node["resource_type"] == item["ResourceType"]
            if node_id.startswith("mi-"):
                ssm = boto3.client(
                    "ssm",
                    region_name=item["region"],
                    endpoint_url=env["AWS_ENDPOINT_URL"],
                    aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                )
                tags = ssm.list_tags_for_resource(
                    ResourceType="ManagedInstance", ResourceId=node_id
                )["TagList"]
                assert node["tags"] == {t["Key"]: t["Value"] for t in tags}
                break  # one hybrid checked against SSM directly is enough; all are counted below
        hybrids = [n for n in nodes.values() if n["id"].startswith("mi-")]
        assert hybrids and all(n["tags"] for n in hybrids)
