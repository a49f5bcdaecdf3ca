"""Elasticity rules: metrics from a real nginx's stub_status under real (loopback) load, a
rule firing once, and its cooldown holding."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

from onetui.data import node_uri
from onetui.errors import UserError
from onetui.integrations.nginx import LoadBalancer
from onetui.integrations.sge.grid import parse_qstat
from onetui.managers.elasticity import (
    Rule,
    RuleState,
    check_rule,
    evaluate,
    grid_metrics,
    parse_stub_status,
)
from onetui.runtime.compose import build_engine
from onetui.store import Store
from tests.beds.nginx import Client
from tests.managers.test_services import WEB, Tier, converge

FIX = Path(__file__).parent.parent / "integrations" / "fixtures"


def test_stub_status_grid_metrics_and_rule_timing() -> None:
    page = ("Active connections: 3 \nserver accepts handled requests\n 10 10 42 \n"
            "Reading: 0 Writing: 1 Waiting: 2 \n")
    assert parse_stub_status(page) == (3, 42)
    with pytest.raises(UserError):
        parse_stub_status("<html>not it</html>")
    grid = parse_qstat((FIX / "qstat-busy.xml").read_text())
    now = datetime.fromisoformat("2026-11-24T00:05:24").timestamp()
    assert grid_metrics(grid, now) == {"PENDING_JOBS": 3.0, "OLDEST_PENDING_S": 60.0,
                                       "IDLE_HOSTS": 0.0}
    rule, state = Rule("PENDING_JOBS > 2", 10, 1, 60), RuleState()
    assert not evaluate(rule, state, {"PENDING_JOBS": 3}, 100.0)  # holds, not long enough
    assert evaluate(rule, state, {"PENDING_JOBS": 3}, 110.0)
    expected = "PENDING_JOBS > 2 holds (PENDING_JOBS = 3) for 10 of 10 s → +1"
    assert state.describe(rule, {"PENDING_JOBS": 3}, 110.0) == expected
    assert not evaluate(rule, state, {"PENDING_JOBS": 1}, 111.0) and state.since is None
    with pytest.raises(UserError, match="--when 'ACTIVE >': column"):
        check_rule("ACTIVE >", 10, 1, 60)
    with pytest.raises(UserError, match="non-zero"):
        check_rule("ACTIVE > 1", 10, 0, 60)


@pytest.mark.slow
def test_a_rule_fires_from_real_load_and_its_cooldown_holds(
        store: Store, nginx: tuple[LoadBalancer, str]) -> None:
    lb, url = nginx
    store.hosts.add("ursa03", "libvirt", {"uri": node_uri("ursa03")})
    store.networks.add("webnet", "127.0.1.10", "127.0.1.40")
    store.templates.add("web", WEB)
    status = url + "nginx_status"
    svc = store.services.add("web", store.templates.get("web").id, None, 1, 4,
                             {"port": 8081, "lb": {"conf": lb.conf, "nginx": lb.nginx,
                                                   "prefix": lb.prefix, "status_url": status},
                              "rules": [check_rule("REQUESTS_PER_S > 20", 1, 1, 600)
                                        .to_dict()]})
    engine = build_engine(store, {})
    assert engine.lead()
    tier = Tier(store)
    try:
        converge(engine, tier, lambda: len(lb.servers()) == 1)
        assert store.services.get(svc.id).desired == 1  # idle: nothing fires
        with Client(url):
            converge(engine, tier, lambda: store.services.get(svc.id).desired == 2, 30)
            fired = time.monotonic()
            while time.monotonic() - fired < 3:  # load goes on; the cooldown holds
                engine.run_pass()
                tier.sync()
                time.sleep(0.2)
            state = store.services.get(svc.id).config["rule_state"][0]
        assert store.services.get(svc.id).desired == 2
        assert state.startswith("REQUESTS_PER_S > 20 holds (REQUESTS_PER_S = ")
        decisions = [e.message for e in store.events.recent(limit=300, kind="service")
                     if "desired size" in e.message]
        assert len(decisions) == 1
        assert "desired size 1 → 2 (rule REQUESTS_PER_S > 20 holds (REQUESTS_PER_S = " \
            in decisions[0]
    finally:
        for httpd in tier.up.values():
            httpd.shutdown()
        engine.close()
