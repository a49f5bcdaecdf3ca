"""Shared set-up for the EC2 tests: a store with an ec2 host on the moto endpoint."""

from __future__ import annotations

import base64
from typing import Any

import boto3

from onetui.data import TEMPLATES
from onetui.engine.loop import Engine
from onetui.store import Store


def client(endpoint: str) -> Any:
    return boto3.client("ec2", region_name="us-east-1", endpoint_url=endpoint)


def ec2_host(store: Store, endpoint: str, **config: Any) -> int:
    cfg = {"region": "us-east-1", "endpoint_url": endpoint, "max_instances": 50,
           "max_cpu": 5000, "max_memory": 50 * 1700, **config}
    return store.hosts.add("ec2", "ec2", cfg).id


def seed(store: Store) -> None:
    for name in ("ec2.template", "sge-ec2.template"):
        store.templates.add(name.removesuffix(".template"), (TEMPLATES / name).read_text())


def instances(endpoint: str, **filters: str) -> list[dict[str, Any]]:
    flt = [{"Name": k, "Values": [v]} for k, v in filters.items()]
    pages = client(endpoint).get_paginator("describe_instances").paginate(Filters=flt)
    return [i for page in pages for r in page["Reservations"] for i in r["Instances"]
            if i["State"]["Name"] not in ("terminated", "shutting-down")]


def userdata(endpoint: str, instance_id: str) -> str:
    attr = client(endpoint).describe_instance_attribute(InstanceId=instance_id,
                                                        Attribute="userData")
    return base64.b64decode(attr["UserData"]["Value"]).decode()


def driver_calls(engine: Engine, host_id: int) -> Any:
    return engine.drivers.host(host_id).calls
