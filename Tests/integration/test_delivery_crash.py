"""Crash safety of delivery to Odoo: kill -9 `millwright serve` while it posts completions to the Odoo
simulator (a separate process), restart it, let it finish. Every order must end with exactly the produced
quantity the plant reported: nothing lost, no Odoo effect twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from millwright_support import BATCH, REPO_ROOT, TIMEOUT

# MILLWRIGHT_CRASH_ORDERS / _STEPS make it bigger (1000 × 10 is the 10,000-event run of BENCHMARKS.md).
ORDERS = int(os.environ.get("MILLWRIGHT_CRASH_ORDERS", "30"))
STEPS = int(os.environ.get("MILLWRIGHT_CRASH_STEPS", "4"))  # completions of 1 unit per order; the last one is final


def sim_binary() -> Path:
    raw = os.environ.get("MILLWRIGHT_ODOO_SIM_BIN", ".build/debug/millwright-odoo-sim")
    path = Path(raw)
    return path if path.is_absolute() else REPO_ROOT / path


class Odoo:
    """JSON-2 calls to the simulator, the way a test would call real Odoo."""

    def __init__(self, info: dict):
        self.url = info["url"]
        self.headers = {"Authorization": "bearer " + info["api_key"], "X-Odoo-Database": info["database"]}

    def __call__(self, model: str, method: str, **kwargs):
        resp = requests.post(f"{self.url}/json/2/{model}/{method}", json=kwargs, headers=self.headers, timeout=TIMEOUT)
        assert resp.status_code == 200, f"{model}/{method}: {resp.status_code} {resp.text[:300]}"
        return resp.json()


@pytest.fixture
def simulator():
    if not sim_binary().exists():
        pytest.fail(f"{sim_binary()} not found: build it (swift build --product millwright-odoo-sim)")
    proc = subprocess.Popen([str(sim_binary())], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        line = proc.stdout.readline()
        yield json.loads(line)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def chain_totals(odoo: Odoo, names):
    totals = {}
    for name in names:
        rows = odoo("mrp.production", "search_read", domain=[["production_group_id.name", "=", name]], fields=["name", "state", "qty_produced"])
        totals[name] = (sum(r["qty_produced"] for r in rows), sorted(r["state"] for r in rows), len(rows))
    return totals


def test_kill9_during_delivery_changes_odoo_once(make_server, simulator, monkeypatch):
    odoo = Odoo(simulator)
    product = odoo("product.product", "search_read", domain=[["default_code", "=", "FURN_7023"]], fields=["id"])[0]["id"]
    for code in ("FURN_7111", "FURN_8111"):
        pid = odoo("product.product", "search_read", domain=[["default_code", "=", code]], fields=["id"])[0]["id"]
        odoo("stock.quant", "create", vals_list=[{"product_id": pid, "location_id": 5, "inventory_quantity_auto_apply": 100000}], context={"inventory_mode": True})
    names = []
    for _ in range(ORDERS):
        mo = odoo("mrp.production", "create", vals_list=[{"product_id": product, "product_qty": STEPS}])[0]
        odoo("mrp.production", "action_confirm", ids=[mo])
        names.append(odoo("mrp.production", "read", ids=[mo], fields=["name"])[0]["name"])

    monkeypatch.setenv("MILLWRIGHT_ODOO_URL", simulator["url"])
    monkeypatch.setenv("MILLWRIGHT_ODOO_DB", simulator["database"])
    monkeypatch.setenv("MILLWRIGHT_ODOO_LOGIN", simulator["login"])
    monkeypatch.setenv("MILLWRIGHT_ODOO_API_KEY", simulator["api_key"])
    monkeypatch.setenv("MILLWRIGHT_DELIVERY_LEASE_SECONDS", "2")
    server = make_server()

    events = []
    for step in range(STEPS):
        for i, name in enumerate(names):
            data = {"order": name, "quantity": 1, "uom": "H87"}
            if step == STEPS - 1:
                data["final"] = True
            events.append({"specversion": "1.0", "id": f"done-{i}-{step}", "source": "mes/crash", "type": "mfg.production.completed.v1", "data": data})
    for start in range(0, len(events), 500):
        chunk = events[start:start + 500]
        resp = requests.post(server.url + "/v1/events", data=json.dumps(chunk), headers={**server.auth(), "Content-Type": BATCH}, timeout=TIMEOUT)
        assert resp.status_code in (200, 207), resp.text[:300]

    # Kill while deliveries are under way.
    deadline = time.monotonic() + 60
    done = 0
    target = min(len(events) // 3, 900)
    while time.monotonic() < deadline:
        page = requests.get(server.url + "/v1/deliveries?state=done&limit=1000", headers=server.auth(), timeout=TIMEOUT).json()
        done = len(page["items"])
        if done >= target:
            break
        time.sleep(0.05)
    assert 0 < done < len(events), f"the kill must land mid-run (done={done})"
    in_flight = len(requests.get(server.url + "/v1/deliveries?state=in_flight", headers=server.auth(), timeout=TIMEOUT).json()["items"])
    server.kill9()
    print(f"killed with {done} of {len(events)} deliveries done and {in_flight} in flight")

    server.start()
    deadline = time.monotonic() + 120 + len(events) / 2
    while time.monotonic() < deadline:
        flows = requests.get(server.url + "/v1/flows", headers=server.auth(), timeout=TIMEOUT).json()["items"]
        backlog = sum(f["health"]["backlog"] for f in flows)
        if backlog == 0:
            break
        time.sleep(0.2)
    assert backlog == 0, "everything drained after the restart"

    dead = requests.get(server.url + "/v1/dead-letters", headers=server.auth(), timeout=TIMEOUT).json()["items"]
    assert dead == [], dead
    totals = chain_totals(odoo, names)
    wrong = {n: t for n, t in totals.items() if t != (STEPS, ["done"] * STEPS, STEPS)}
    assert not wrong, f"orders with a wrong outcome (produced, states, chain length): {wrong}"
