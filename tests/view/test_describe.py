"""What `vm show`, `host show` and the console's event detail print for records written
through a real store."""

from __future__ import annotations

import pytest

from onetui.errors import NotFound
from onetui.store import Store
from onetui.view.describe import event_text, host_text, vm_text
from onetui.view.rows import stamp

BODY = 'CPU=0.5\nMEMORY=1536\nDISK=[IMAGE="base.qcow2", TARGET=vda]\nNAME="web server"\n'


def _vm(store: Store, name: str = "web-0", **spec: object) -> int:
    (vid,) = store.vms.create([{"name": name, "body": BODY, "cpu": 0.5, "memory": 1536,
                                **spec}])
    return vid


def fields(text: str) -> dict[str, str]:
    """The `KEY : value` lines of the first block."""
    head = text.split("\n\n")[0].splitlines()[1:]
    return {k.strip(): v for k, _, v in (line.partition(" : ") for line in head)}


def section(text: str, title: str) -> list[str]:
    """The lines under a section title, up to the next blank line."""
    lines = text.splitlines()
    start = lines.index(title) + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


def test_a_pending_vm_says_where_it_is_not_yet(store: Store) -> None:
    vid = _vm(store)
    title, text = vm_text(store, vid)
    assert title == f"VM {vid} web-0"
    assert text.startswith(f"VIRTUAL MACHINE {vid} INFORMATION\n")
    f = fields(text)
    assert {k: f[k] for k in ("NAME", "TEMPLATE ID", "STATE", "LCM STATE", "SHORT STATE",
                              "PENDING ACTION", "HOST", "DEPLOY ID", "CPU", "MEMORY", "IP",
                              "START TIME", "STOP TIME", "LAST POLL", "MESSAGE")} == {
        "NAME": "web-0", "TEMPLATE ID": "-1", "STATE": "PENDING", "LCM STATE": "LCM_INIT",
        "SHORT STATE": "pend", "PENDING ACTION": "-", "HOST": "-", "DEPLOY ID": "-",
        "CPU": "0.5", "MEMORY": "1536 MB", "IP": "-", "START TIME": "-", "STOP TIME": "-",
        "LAST POLL": "-", "MESSAGE": "-"}
    assert f["CREATED"] != "-"
    assert "WHY PENDING" not in text
    assert vm_text(store, "web-0") == (title, text)


def test_a_vm_from_a_template_names_the_template(store: Store) -> None:
    tpl = store.templates.add("small", BODY)
    vid = _vm(store, template_id=tpl.id)
    assert fields(vm_text(store, vid)[1])["TEMPLATE ID"] == str(tpl.id)


def test_a_placed_vm_shows_its_host_addresses_and_pending_action(store: Store) -> None:
    host = store.hosts.add("ursa03", "libvirt", {"uri": "test:///default"})
    vid = _vm(store)
    store.vms.transition(vid, "runn", host_id=host.id, deploy_id="one-7", ip="10.1.1.5",
                         mac="02:00:0a:01:01:05")
    store.vms.update(vid, intent="shutdown")
    f = fields(vm_text(store, vid)[1])
    assert (f["STATE"], f["LCM STATE"], f["HOST"], f["DEPLOY ID"]) == (
        "ACTIVE", "RUNNING", "ursa03", "one-7")
    assert (f["IP"], f["MAC"], f["PENDING ACTION"]) == ("10.1.1.5", "02:00:0a:01:01:05",
                                                        "shutdown")
    assert f["START TIME"] != "-"
    assert f["STOP TIME"] == "-"


def test_why_pending_lists_each_host_and_its_reason(store: Store) -> None:
    vid = _vm(store)
    store.vms.update(vid, message="no host fits", sched=[
        {"host": "ursa03", "reason": "not enough memory"},
        {"host": "lyra", "reason": "disabled"}])
    text = vm_text(store, vid)[1]
    assert fields(text)["MESSAGE"] == "no host fits"
    assert section(text, "WHY PENDING") == ["HOST   REASON", "ursa03 not enough memory",
                                            "lyra   disabled"]


def test_the_template_prints_vectors_as_key_value_lists(store: Store) -> None:
    text = vm_text(store, _vm(store))[1]
    assert section(text, "....: Template :....") == [
        "CPU    : 0.5", "MEMORY : 1536", "DISK   : IMAGE=base.qcow2,TARGET=vda",
        "NAME   : web server"]


def test_an_ec2_vm_shows_only_the_cloud_facts_it_has(store: Store) -> None:
    vid = _vm(store, info={"guest_instance_state": "running", "guest_public_ip": "3.4.5.6",
                           "vpn_ip": "10.8.0.3", "guest_private_ip": ""})
    f = fields(vm_text(store, vid)[1])
    assert (f["INSTANCE STATE"], f["PUBLIC IP"], f["VPN IP"]) == ("running", "3.4.5.6",
                                                                 "10.8.0.3")
    for absent in ("PRIVATE IP", "PUBLIC DNS", "INSTANCE TYPE", "VPN HOSTNAME", "LAUNCH"):
        assert absent not in f
    assert "INSTANCE STATE" not in fields(vm_text(store, _vm(store, "plain"))[1])


def test_events_are_the_vms_own_ten_latest_oldest_first(store: Store) -> None:
    vid, other = _vm(store), _vm(store, "web-1")
    for i in range(12):
        store.events.add("vm", vid, f"step {i}")
    store.events.add("vm", other, "not mine")
    events = section(vm_text(store, vid)[1], "EVENTS")
    assert [line.split("  ", 1)[1] for line in events] == [f"step {i}" for i in range(2, 12)]


def test_an_unknown_vm_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        vm_text(store, 99)


def test_a_host_never_monitored_shows_dashes_and_no_vms(store: Store) -> None:
    host = store.hosts.add("ursa03", "libvirt", {"uri": "test:///default"})
    title, text = host_text(store, host.id)
    assert title == f"Host {host.id} ursa03"
    f = fields(text)
    assert (f["DRIVER"], f["URI"], f["STATE"], f["ERROR"], f["LAST MONITORED"]) == (
        "libvirt", "test:///default", "init", "-", "-")
    shares = section(text, "HOST SHARES")
    assert "TOTAL CPU        : -" in shares
    assert "TOTAL MEMORY     : -" in shares
    assert "RUNNING VMS      : 0" in shares
    assert "ATTRIBUTES" not in text
    assert section(text, "VIRTUAL MACHINES") == ["ID NAME STAT CPU MEM HOSTNAME TIME"]


def test_a_monitored_host_shows_its_shares_attributes_and_live_vms(store: Store) -> None:
    host = store.hosts.add("ursa03", "libvirt", {"uri": "test:///default"})
    elsewhere = store.hosts.add("lyra", "libvirt", {"uri": "test:///default"})
    store.hosts.set_monitor(host.id, "on", {"TCPU": 800, "FCPU": 750, "TMEM": 16384,
                                            "FMEM": 1740.8, "RVM": 1, "HYPERVISOR": "kvm"})
    store.hosts.update_attrs("ursa03", {"rack": "b2", "arch": "x86_64"})
    mine, gone, theirs = _vm(store), _vm(store, "old"), _vm(store, "far")
    store.vms.transition(mine, "runn", host_id=host.id)
    store.vms.transition(gone, "done", host_id=host.id)
    store.vms.transition(theirs, "runn", host_id=elsewhere.id)
    text = host_text(store, "ursa03")[1]
    assert fields(text)["LAST MONITORED"] != "-"
    shares = section(text, "HOST SHARES")
    for line in ("TOTAL CPU        : 800", "FREE CPU         : 750",
                 "TOTAL MEMORY     : 16G", "FREE MEMORY      : 1.7G",
                 "AVAILABLE MEMORY : -", "RUNNING VMS      : 1", "HYPERVISOR       : kvm"):
        assert line in shares
    assert section(text, "ATTRIBUTES") == ["ARCH : x86_64", "RACK : b2"]
    vms = section(text, "VIRTUAL MACHINES")[1:]
    assert [line.split()[:3] for line in vms] == [[str(mine), "web-0", "runn"]]
    assert vms[0].split()[4:6] == ["1.5G", "ursa03"]


def test_a_host_in_error_says_why(store: Store) -> None:
    host = store.hosts.add("ursa03", "libvirt", {"uri": "test:///default"})
    store.hosts.set_monitor(host.id, "err", {}, error="cannot connect to the hypervisor")
    f = fields(host_text(store, host.id)[1])
    assert (f["STATE"], f["ERROR"]) == ("err", "cannot connect to the hypervisor")


def test_an_event_in_full_names_its_time_object_and_whole_message(store: Store) -> None:
    vid = _vm(store)
    store.events.add("vm", vid, "a long message " * 20 + "the end", level="error")
    event = store.events.recent(limit=1)[0]
    title, text = event_text(event)
    assert title == f"Event {event.id}"
    f = fields(text)
    assert (f["OBJECT"], f["LEVEL"], f["TIME"]) == (f"vm {vid}", "error", stamp(event.at))
    assert text.endswith("MESSAGE\n" + "a long message " * 20 + "the end")
    assert (f["USER"], f["PID"]) == ("-", "-")


def test_an_event_of_a_request_names_its_user_and_pid(store: Store) -> None:
    from onetui.store.events import acting

    with acting("olga", 4242):
        store.events.add("vm", 5, "olga (operator): vm shutdown 5")
    f = fields(event_text(store.events.recent(limit=1)[0])[1])
    assert (f["USER"], f["PID"]) == ("olga", "4242")


def test_without_secrets_user_data_and_passwords_are_hidden(store: Store) -> None:
    """What a caller who is not an admin sees of `vm show` and `host show`: every value
    named like a secret is (hidden), the rest as it is."""
    body = (BODY + 'USERDATA=[ROOT_PW="hunter2", VPN_KEY="k3y"]\n'
            'CONTEXT=[ROOT_PW="hunter3", HOSTNAME="web"]\nADMIN_PASSWORD="s3cret"\n')
    (vid,) = store.vms.create([{"name": "web-1", "body": body, "cpu": 0.5, "memory": 1536}])
    shown = vm_text(store, vid)[1]
    assert "hunter2" in shown and "s3cret" in shown  # an admin's own view
    hidden = vm_text(store, vid, secrets=False)[1]
    for secret in ("hunter2", "hunter3", "k3y", "s3cret"):
        assert secret not in hidden
    template = section(hidden, "....: Template :....")
    assert any(line.startswith("USERDATA") and line.endswith("(hidden)") for line in template)
    assert any("HOSTNAME=web" in line and "ROOT_PW=(hidden)" in line for line in template)

    host = store.hosts.add("aws1", "ec2", {"region": "eu-west-1",
                                           "userdata": {"ROOT_PW": "hunter4"},
                                           "secret_access_key": "AKIAX"})
    assert "hunter4" in host_text(store, host.id)[1]
    text = host_text(store, host.id, secrets=False)[1]
    assert "hunter4" not in text and "AKIAX" not in text
    f = fields(text)
    assert (f["REGION"], f["USERDATA"], f["SECRET_ACCESS_KEY"]) == ("eu-west-1", "(hidden)",
                                                                    "(hidden)")
