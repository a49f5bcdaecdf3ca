"""The grid through the API as a console reads it: the daemon's `[sge]` answers whoever
asks; without one, the answer says so and names the daemon's config file; a master whose
host key the daemon does not know answers with that key (type, base64, fingerprint), and
`sge.trust` pins it only for an admin and only if the master still presents the key the
admin saw."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w

from onetui import config
from onetui.access import Caller
from onetui.api.local import LocalTransport
from onetui.client import HOST_KEY_UNKNOWN, NOT_CONFIGURED, ApiError, Client
from onetui.integrations.sge.grid import Grid
from onetui.store import Store
from tests.api.conftest import Daemon
from tests.beds.sge import HOST_KEY, PORT

BOB = Caller(5005, 5005, 105, "bob", ("bob", "onetui-view"))  # a viewer
ROLES = {"roles": {"viewer": ["onetui-view"]}}


def fresh_known_hosts(sge_config: dict, tmp_path: Path) -> Path:
    """The daemon's config with a known_hosts that does not know the master yet."""
    empty = tmp_path / "fresh_known_hosts"
    cfg = {"sge": {**sge_config["sge"], "known_hosts": [str(empty)]}}
    config.config_path().write_text(tomli_w.dumps(cfg))
    return empty


def test_no_sge_table_is_said_with_the_daemons_config_file(daemon: Daemon) -> None:
    with pytest.raises(ApiError) as caught:
        daemon.client().call("sge.qstat")
    exc = caught.value
    assert (exc.status, exc.kind) == (422, NOT_CONFIGURED)
    assert exc.details == {"config": str(config.config_path())}
    assert str(exc) == ("no SGE master configured: add an [sge] table (host, user, "
                        f"key_file) to {config.config_path()}")


def test_an_unknown_master_key_is_trusted_only_as_seen_and_only_by_an_admin(
        daemon: Daemon, sge_config: dict, tmp_path: Path) -> None:
    empty = fresh_known_hosts(sge_config, tmp_path)
    admin = daemon.client()
    with pytest.raises(ApiError) as caught:
        admin.call("sge.qstat")
    exc = caught.value
    key_type, key, *_ = HOST_KEY.read_text().split()
    assert (exc.status, exc.kind) == (422, HOST_KEY_UNKNOWN)
    assert {k: exc.details[k] for k in ("host", "key_type", "key")} == {
        "host": f"[127.0.0.1]:{PORT}", "key_type": key_type, "key": key}
    seen = {k: exc.details[k] for k in ("key_type", "key", "fingerprint")}
    assert seen["fingerprint"].startswith("SHA256:") and seen["fingerprint"] in str(exc)

    # a fingerprint the admin did not see (another key's): refused, nothing written
    with pytest.raises(ApiError) as other:
        admin.call("sge.trust", **{**seen, "fingerprint": "SHA256:" + "A" * 43})
    assert other.value.status == 409 and "nothing trusted" in str(other.value)
    assert not empty.exists()
    # a viewer may not, whatever it sends
    with Store(daemon.store.path) as store:
        viewer = Client(LocalTransport(store, BOB, ROLES))
        with pytest.raises(ApiError) as refused:
            viewer.call("sge.trust", **seen)
        assert (refused.value.status, refused.value.needs) == (403, "admin")
        assert not empty.exists()

    done = admin.call("sge.trust", **seen)
    assert done == {"host": f"[127.0.0.1]:{PORT}", "known_hosts": str(empty)}
    assert empty.read_text() == f"[127.0.0.1]:{PORT} {key_type} {key}\n"
    grid = Grid.from_json(admin.call("sge.qstat")["grid"])
    assert grid.instance("all.q@node2") is not None
    assert admin.call("sge.trust", **seen)["known_hosts"] is None  # known: nothing written
    assert empty.read_text().count(key) == 1
    trusted = [e.message for e in daemon.store.events.tail(50) if "ssh trust" in e.message]
    me = daemon.store.events.tail(1)[0].user  # the test runs the daemon's own user
    fingerprint = seen["fingerprint"]
    assert trusted == [f"bob (viewer): refused ssh trust --fingerprint {fingerprint} (needs "
                       "admin)", f"{me} (admin): ssh trust --fingerprint {fingerprint}",
                       f"{me} (admin): ssh trust --fingerprint {fingerprint}"]
