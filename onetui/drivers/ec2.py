"""The EC2 driver: workers on Amazon EC2 through boto3 (or any endpoint that speaks its API,
such as moto's server in the tests: the same code path, `endpoint_url` set).

Costs money when it goes wrong, so: every launch carries a ClientToken and its tags
(`onetui:store`, `onetui:launch`, `onetui:vm`, `Name`) in TagSpecifications, atomic with the
launch; the engine writes a launch record before calling `launch`, and finds instances
again by those tags. Polling is one paginated, tag-filtered DescribeInstances per pass.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from onetui.drivers.base import (
    GUEST_OFF,
    GUEST_RUNNING,
    DriverError,
    Guest,
    HostInfo,
    HostUnreachable,
    Placement,
)
from onetui.template import Template, Vector

TAG_STORE, TAG_LAUNCH, TAG_VM = "onetui:store", "onetui:launch", "onetui:vm"
BUSY_CODES = frozenset({
    "RequestLimitExceeded", "Throttling", "ThrottlingException", "InsufficientInstanceCapacity",
    "InsufficientCapacity", "InsufficientHostCapacity", "ServiceUnavailable", "Unavailable",
    "InternalError", "InsufficientAddressCapacity",
})
GUEST_BOOTING = "booting"
_STATES = {"pending": GUEST_BOOTING, "running": GUEST_RUNNING, "stopping": GUEST_OFF,
           "stopped": GUEST_OFF}  # shutting-down / terminated: gone
MAX_TAG = 255
SG_TTL = 300.0
DEFAULT_TYPE = "m1.small"


# EC2 API calls made by this process, by action (RunInstances, DescribeInstances, …), over
# every driver it made: a driver is remade when its host changes, a total must not go back.
_calls: Counter[str] = Counter()
_calls_lock = threading.Lock()


def api_calls() -> dict[str, int]:
    """EC2 API calls this process made so far, by action (`serve --metrics` reports them)."""
    with _calls_lock:
        return dict(_calls)


class CloudBusy(DriverError):
    """Throttling or no capacity: nothing was launched; try again later."""


def _error(exc: Exception) -> DriverError:
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        code, message = err.get("Code", "Error"), err.get("Message", str(exc))
        cls = CloudBusy if code in BUSY_CODES else DriverError
        return cls(f"{code}: {message}")
    if isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.
                  PartialCredentialsError | botocore.exceptions.ProfileNotFound):
        return HostUnreachable(f"AWS credentials: {exc}")
    if isinstance(exc, botocore.exceptions.ConnectionError |
                  botocore.exceptions.HTTPClientError):
        # refused, timed out, or closed before the answer: the call may have gone through,
        # so the launcher looks for what it made before it calls again
        return HostUnreachable(str(exc))
    return DriverError(str(exc))


def compact_ids(ids: list[int]) -> str:
    """VM ids in launch-index order as runs: [5, 6, 7, 9] → "5-7,9" (fits one tag value
    even for a thousand VMs made together)."""
    runs: list[list[int]] = []
    for i in ids:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ",".join(f"{a}-{b}" if a != b else str(a) for a, b in runs)


def expand_ids(text: str) -> list[int]:
    out: list[int] = []
    for part in filter(None, text.split(",")):
        a, _, b = part.partition("-")
        try:
            out += list(range(int(a), int(b or a) + 1))
        except ValueError:
            return []
    return out


def parse_ports(text: str) -> list[tuple[int, int]]:
    """AUTHORIZED_PORTS: "22-25", "22-25,80" → [(22, 25), (80, 80)]."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        lo, _, hi = part.partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise DriverError(f"EC2 AUTHORIZED_PORTS {text!r}: expected ports or ranges like "
                              "22-25,80") from None
        if not (1 <= a <= b <= 65535):
            raise DriverError(f"EC2 AUTHORIZED_PORTS {text!r}: {part} is not a port range "
                              "within 1-65535")
        out.append((a, b))
    return sorted(set(out))


def ec2_section(tpl: Template) -> Vector:
    section = tpl.get("EC2")
    if not isinstance(section, Vector) or not section.get("AMI"):
        raise DriverError("EC2: expected a vector attribute EC2 = [ AMI = …, … ] with an AMI")
    return section


def launch_key(tpl: Template) -> str:
    """VMs whose templates agree on this may share one RunInstances call."""
    section = ec2_section(tpl)
    keys = ("AMI", "INSTANCETYPE", "KEYPAIR", "AUTHORIZED_PORTS", "SUBNET",
            "AVAILABILITY_ZONE", "TAGS", "USERDATA")
    return "|".join(f"{k}={section.get(k) or ''}" for k in keys)


class Ec2Driver:
    def __init__(self, store_id: str, config: dict[str, Any]) -> None:
        self.store_id = store_id
        self.config = config
        self._client: Any = None
        self._lock = threading.Lock()
        self._groups: dict[tuple[Any, ...], tuple[str, float]] = {}
        self._group_keys: dict[str, tuple[Any, ...]] = {}  # group id → (ports, subnet)
        self.calls: Counter[str] = Counter()  # API calls by operation (bench/ reports them)

    # -- connection ---------------------------------------------------------------------

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                try:
                    session = boto3.Session(profile_name=self.config.get("profile"),
                                            region_name=self.config.get("region"))
                    self._client = session.client(
                        "ec2", endpoint_url=self.config.get("endpoint_url"),
                        config=Config(retries={"mode": "standard", "max_attempts": 3},
                                      connect_timeout=5, read_timeout=30))
                except Exception as exc:  # boto3 raises many kinds here; all mean "cannot"
                    raise _error(exc) from None
                self._client.meta.events.register("before-call", self._count)
            return self._client

    def _count(self, model: Any = None, **_: Any) -> None:
        """botocore's `before-call`: every API call (each page of a paginated one) passes
        here once; botocore's own retries of a call are not counted again."""
        action = getattr(model, "name", "?")
        self.calls[action] += 1
        with _calls_lock:
            _calls[action] += 1

    def _call(self, name: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, name)(**kwargs)
        except botocore.exceptions.BotoCoreError as exc:
            raise _error(exc) from None
        except botocore.exceptions.ClientError as exc:
            raise _error(exc) from None

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # -- monitoring -----------------------------------------------------------------------

    def monitor(self) -> HostInfo:
        """EC2 has no fixed size: the host's capacity is the limits its admin configured."""
        limit = int(self.config.get("max_instances", 20))
        tcpu = int(self.config.get("max_cpu", limit * 100))
        tmem = int(self.config.get("max_memory", limit * 1700))
        return HostInfo(tcpu=tcpu, tmem=tmem, fcpu=tcpu, fmem=tmem, hypervisor="ec2",
                        extra={"MAX_INSTANCES": str(limit)})

    def _describe(self, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        try:
            pages = self.client.get_paginator("describe_instances").paginate(
                Filters=filters, PaginationConfig={"PageSize": 1000})
            for page in pages:
                for reservation in page["Reservations"]:
                    out += reservation["Instances"]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise _error(exc) from None
        return out

    def _ours(self, extra: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        live = ["pending", "running", "stopping", "stopped", "shutting-down"]
        return self._describe([{"Name": f"tag:{TAG_STORE}", "Values": [self.store_id]},
                               {"Name": "instance-state-name", "Values": live},
                               *(extra or [])])

    def guests(self) -> dict[str, Guest]:
        """Every instance tagged with this store: one paginated DescribeInstances."""
        out = {}
        for inst in self._ours():
            state = inst["State"]["Name"]
            if state not in _STATES:
                continue
            tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
            out[inst["InstanceId"]] = Guest(
                deploy_id=inst["InstanceId"], name=tags.get("Name", ""), state=_STATES[state],
                ip=inst.get("PublicDnsName") or inst.get("PublicIpAddress") or "",
                info={"instance_state": state, "public_dns": inst.get("PublicDnsName", ""),
                      "public_ip": inst.get("PublicIpAddress", ""),
                      "private_ip": inst.get("PrivateIpAddress", ""),
                      "instance_type": inst.get("InstanceType", ""),
                      "launch": tags.get(TAG_LAUNCH, ""),
                      "launch_index": str(inst.get("AmiLaunchIndex", 0)),
                      "vm": self._vm_of(tags.get(TAG_VM, ""), inst.get("AmiLaunchIndex", 0))})
        return out

    @staticmethod
    def _vm_of(tag: str, index: int) -> str:
        ids = expand_ids(tag)
        return str(ids[index]) if 0 <= index < len(ids) else ""

    # -- launching ------------------------------------------------------------------------

    def security_group(self, ports: list[tuple[int, int]], subnet: str | None) -> str:
        """A group onetui owns with exactly these TCP ingress ranges (created or repaired;
        checked again after SG_TTL seconds, so a burst of launches costs one look)."""
        key = (tuple(ports), subnet)
        cached = self._groups.get(key)
        if cached and time.monotonic() - cached[1] < SG_TTL:
            return cached[0]
        group_id = self._security_group(ports, subnet)
        self._groups[key] = (group_id, time.monotonic())
        self._group_keys[group_id] = key
        return group_id

    def _security_group(self, ports: list[tuple[int, int]], subnet: str | None) -> str:
        name = f"onetui-{self.store_id[:8]}-" + "_".join(
            f"{a}-{b}" if a != b else str(a) for a, b in ports)
        filters = [{"Name": "group-name", "Values": [name]}]
        vpc = None
        if subnet:
            subnets = self._call("describe_subnets", SubnetIds=[subnet])["Subnets"]
            vpc = subnets[0]["VpcId"]
            filters.append({"Name": "vpc-id", "Values": [vpc]})
        found = self._call("describe_security_groups", Filters=filters)["SecurityGroups"]
        if found:
            group = found[0]
        else:
            kwargs = {"GroupName": name,
                      "Description": "onetui: TCP ports from AUTHORIZED_PORTS",
                      **({"VpcId": vpc} if vpc else {})}
            group = {"GroupId": self._call("create_security_group", **kwargs)["GroupId"],
                     "IpPermissions": []}
        self._exact_rules(group, ports)
        return group["GroupId"]

    def _exact_rules(self, group: dict[str, Any], ports: list[tuple[int, int]]) -> None:
        want = {(a, b) for a, b in ports}
        have = {(p.get("FromPort"), p.get("ToPort")) for p in group.get("IpPermissions", [])
                if p.get("IpProtocol") == "tcp"}
        others = [p for p in group.get("IpPermissions", [])
                  if p.get("IpProtocol") != "tcp" or (p.get("FromPort"), p.get("ToPort"))
                  not in want]
        if others:
            self._call("revoke_security_group_ingress", GroupId=group["GroupId"],
                       IpPermissions=others)
        missing = sorted(want - have)
        if missing:
            self._call("authorize_security_group_ingress", GroupId=group["GroupId"],
                       IpPermissions=[{"IpProtocol": "tcp", "FromPort": a, "ToPort": b,
                                       "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
                                      for a, b in missing])

    def launch_params(self, token: str, placements: list[Placement],
                      userdata: str) -> dict[str, Any]:
        """RunInstances arguments for these VMs (all of one template): computed once, stored
        in the launch record, and reused unchanged by any retry."""
        section = ec2_section(placements[0].template)
        vm_tag = compact_ids([p.vm_id for p in placements])
        if len(vm_tag) > MAX_TAG:
            raise DriverError(f"a launch of {len(placements)} VMs does not fit one tag")
        name = (placements[0].name if len(placements) == 1
                else f"{placements[0].name}…{placements[-1].name}")
        tags = [{"Key": TAG_STORE, "Value": self.store_id}, {"Key": TAG_LAUNCH, "Value": token},
                {"Key": TAG_VM, "Value": vm_tag}, {"Key": "Name", "Value": name[:MAX_TAG]}]
        for pair in filter(None, (section.get("TAGS") or "").split(",")):
            key, sep, value = pair.partition("=")
            if not sep or not key.strip() or key.strip().startswith(("onetui:", "aws:")):
                raise DriverError(f"EC2 TAGS {section.get('TAGS')!r}: expected KEY=VALUE,… "
                                  "(keys not starting with onetui: or aws:)")
            tags.append({"Key": key.strip(), "Value": value.strip()})
        params: dict[str, Any] = {
            "ImageId": section.get("AMI"), "InstanceType": section.get("INSTANCETYPE")
            or DEFAULT_TYPE, "MinCount": len(placements), "MaxCount": len(placements),
            "ClientToken": token, "UserData": section.get("USERDATA") or userdata,
            "TagSpecifications": [{"ResourceType": "instance", "Tags": tags}],
        }
        if section.get("KEYPAIR"):
            params["KeyName"] = section.get("KEYPAIR")
        if section.get("SUBNET"):
            params["SubnetId"] = section.get("SUBNET")
        if section.get("AVAILABILITY_ZONE"):
            params["Placement"] = {"AvailabilityZone": section.get("AVAILABILITY_ZONE")}
        if section.get("AUTHORIZED_PORTS"):
            ports = parse_ports(section.get("AUTHORIZED_PORTS") or "")
            params["SecurityGroupIds"] = [self.security_group(ports, section.get("SUBNET"))]
        return params

    def launch(self, params: dict[str, Any]) -> list[str]:
        """One RunInstances for the whole batch; instance ids in launch-index order. A
        security group deleted behind onetui's back (InvalidGroup.NotFound: nothing was
        launched) is made again and the call tried once more, with the same ClientToken."""
        try:
            result = self._call("run_instances", **params)
        except DriverError as exc:
            if not str(exc).startswith("InvalidGroup.NotFound"):
                raise
            fresh = self._regroup(params)
            if fresh is None:
                raise
            result = self._call("run_instances", **fresh)
        ordered = sorted(result["Instances"], key=lambda i: i.get("AmiLaunchIndex", 0))
        return [i["InstanceId"] for i in ordered]

    def _regroup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """`params` with each security group looked up (or made) anew; None when a group
        is not one this driver made (then there is nothing to repair)."""
        groups = []
        for gid in params.get("SecurityGroupIds", []):
            key = self._group_keys.pop(gid, None)
            if key is None:
                return None
            self._groups.pop(key, None)
            groups.append(self.security_group(*key))
        return {**params, "SecurityGroupIds": groups}

    def find_launch(self, token: str) -> dict[int, str]:
        """Instances of a launch, by launch index (after a crash: what did the call make?)."""
        found = self._ours([{"Name": f"tag:{TAG_LAUNCH}", "Values": [token]}])
        return {i.get("AmiLaunchIndex", 0): i["InstanceId"] for i in found}

    # -- after boot, and the end ---------------------------------------------------------

    def finish(self, deploy_id: str, tpl: Template) -> str:
        """Associate the template's Elastic IP once the instance runs. Returns a problem to
        show on the VM ("" when all is well); the instance stays up either way."""
        section = tpl.get("EC2")
        address = section.get("ELASTICIP") if isinstance(section, Vector) else None
        if not address:
            return ""
        try:
            found = self._call("describe_addresses", PublicIps=[address])["Addresses"]
        except DriverError as exc:
            if "InvalidAddress.NotFound" not in str(exc):
                return f"Elastic IP {address}: {exc}"
            found = []
        if not found:
            return f"Elastic IP {address} is not allocated to this account"
        kwargs = ({"AllocationId": found[0]["AllocationId"]} if found[0].get("AllocationId")
                  else {"PublicIp": address})
        try:
            self._call("associate_address", InstanceId=deploy_id, **kwargs)
        except DriverError as exc:
            return f"Elastic IP {address}: {exc}"
        return ""

    def terminate(self, instance_ids: list[str]) -> None:
        if instance_ids:
            self._call("terminate_instances", InstanceIds=instance_ids)

    def shutdown(self, deploy_id: str) -> None:
        """EC2 workers are disposable: shutting one down terminates it (as OpenNebula)."""
        self.terminate([deploy_id])

    def reboot(self, deploy_id: str, hard: bool) -> None:
        """EC2 has one reboot: it asks the guest, and hard-resets it if it does not go."""
        self._call("reboot_instances", InstanceIds=[deploy_id])

    def power_off(self, deploy_id: str, hard: bool) -> None:
        """Stop the instance (EBS-backed: its disk stays, compute billing stops)."""
        self._call("stop_instances", InstanceIds=[deploy_id], Force=hard)

    def power_on(self, deploy_id: str) -> None:
        self._call("start_instances", InstanceIds=[deploy_id])

    def cancel(self, deploy_id: str) -> None:
        try:
            self.terminate([deploy_id])
        except DriverError as exc:
            if "InvalidInstanceID.NotFound" not in str(exc):
                raise

    def prolog(self, placement: Placement) -> Template:
        ec2_section(placement.template)
        return placement.template

    def epilog(self, placement: Placement) -> None:
        return None

    def find(self, placement: Placement) -> str | None:
        return None  # EC2 guests are found by launch (find_launch), not by VM

    def deploy(self, placement: Placement) -> str:
        raise DriverError("EC2 VMs are launched in batches by the engine")
