"""`millwright demo` against the Odoo simulator: the whole loop, within a minute, and its summary is Odoo's state."""

from __future__ import annotations

import os
import re
import subprocess
import time

from millwright_support import REPO_ROOT, binary_path


def test_the_demo_runs_the_whole_loop_within_a_minute():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILLWRIGHT_ODOO_")}  # the simulator, not a real Odoo
    started = time.monotonic()
    run = subprocess.run([str(binary_path()), "demo", "--orders", "4"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=90)
    took = time.monotonic() - started
    out = run.stdout
    print(out)
    assert run.returncode == 0, out + run.stderr
    assert took < 60, f"the demo took {took:.1f} s"
    # The loop, in order of cause: planned in Odoo → released through change capture → signed webhook → plant → flows → Odoo.
    assert len(re.findall(r"planner: WH/MO/\d+ for 4 × FURN_\d+ created and confirmed in Odoo", out)) == 4
    assert len(re.findall(r"plant: received WH/MO/\d+ released .* signature verified", out)) == 4
    assert "odoo-production-completed →" in out and "backorder" in out
    assert "odoo-downtime-maintenance → maintenance request" in out
    rows = re.findall(r"^\| (WH/MO/\d+) \| (FURN_\d+) \| (\d+) \| (\d+) \| (.*) \| (yes|NO) \|$", out, re.M)
    assert len(rows) == 4, out
    for order, product, reported, produced, states, match in rows:
        assert (reported, produced, match) == ("4", "4", "yes"), (order, product, reported, produced, states)
        assert states.count("done") == 2, states  # the partial order and its backorder
    # Drawers are made on the BoM with operations: each of their work orders is read back from Odoo, done,
    # with the half of the order it took and the plant's minutes (30 for the first half, 40 for the second).
    assert "odoo-operation-completed → " in out
    work_orders = re.findall(r"^\| (WH/MO/\d+-00[12]) \| (Packing|Testing|Long time assembly) \| (\w+) \| ([\d.]+) \| ([\d.]+) \|$", out, re.M)
    assert len(work_orders) == 2 * 3 * 2, out  # two drawer orders, two chain members each, three operations
    for member, operation, state, done, minutes in work_orders:
        assert (state, done) == ("done", "2"), (member, operation, state, done)
        assert minutes == ("30" if member.endswith("-001") else "40"), (member, operation, minutes)
    assert "dead letters: 0" in out
    assert "maintenance requests for the downtime in Odoo: 1" in out
    assert "Odoo shows exactly what the plant reported." in out
