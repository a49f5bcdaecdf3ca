"""A host, template, network or service is reached by its id or by its name, one or the
other: `3` is object 3, never an object named "3", and no object may be named so."""

from __future__ import annotations

import pytest

from onetui.data import TEMPLATES
from onetui.errors import NotFound, UserError
from onetui.store import Store


def test_digits_are_an_id_and_no_name_is_digits_only(store: Store) -> None:
    body = (TEMPLATES / "xen.local01").read_text()
    first = store.hosts.add("ursa03", "libvirt", {"uri": "test:///default"})
    for make in (lambda: store.hosts.add("3", "libvirt", {"uri": "test:///default"}),
                 lambda: store.templates.add("42", body),
                 lambda: store.networks.add("7", "127.0.5.10", "127.0.5.20"),
                 lambda: store.services.add("9", store.templates.add("web", body).id, None,
                                            1, 2, {})):
        with pytest.raises(UserError, match=r"name '\d+': expected at least one letter, "
                                            r"'\.', '_' or '-' \(digits alone are a"):
            make()
    assert [h.name for h in store.hosts.list()] == ["ursa03"]
    assert store.hosts.get(str(first.id)).name == "ursa03" == store.hosts.get("ursa03").name
    with pytest.raises(NotFound, match="no host '99'"):
        store.hosts.get("99")
    tpl = store.templates.get("web")
    assert store.templates.get(tpl.id).name == "web"
    assert store.templates.list()[0].name == "web"
