"""The token and audit CLI against a running server's data directory: issue, use, revoke, tamper, verify."""

from __future__ import annotations

import sqlite3
import subprocess
import time

import requests

from millwright_support import binary_path


def cli(*args: str, data) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary_path()), *args, "--data", str(data)], capture_output=True, text=True, timeout=60)


def test_cli_tokens_work_while_the_server_runs(server):
    created = cli("tokens", "create", "--name", "mes-bridge", "--scope", "events:read", "--expires-in", "1d", data=server.data_dir)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("mw_")

    resp = requests.get(f"{server.url}/v1/events", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert resp.status_code == 200, resp.text
    forbidden = requests.get(f"{server.url}/v1/schemas", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert forbidden.status_code == 403
    assert forbidden.json()["missing_scope"] == "schemas:read"

    listed = cli("tokens", "list", data=server.data_dir)
    assert listed.returncode == 0 and "mes-bridge" in listed.stdout and token not in listed.stdout

    prefix = "_".join(token.split("_")[:2])
    revoked = cli("tokens", "revoke", prefix, data=server.data_dir)
    assert revoked.returncode == 0, revoked.stderr
    # Another process changed the store: the server's token cache lets it through for at most a second.
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        status = requests.get(f"{server.url}/v1/events", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code
        if status == 401:
            break
        time.sleep(0.1)
    assert status == 401

    bad = cli("tokens", "create", "--name", "x", "--scope", "evnts:read", data=server.data_dir)
    assert bad.returncode != 0 and "unknown scope 'evnts:read'" in bad.stderr


def test_audit_verify_names_a_tampered_entry(server):
    for name in ("a", "b"):
        assert cli("tokens", "create", "--name", name, "--scope", "events:read", data=server.data_dir).returncode == 0
    ok = cli("audit", "verify", data=server.data_dir)
    assert ok.returncode == 0 and "intact" in ok.stdout, ok.stdout + ok.stderr

    db = sqlite3.connect(server.data_dir / "millwright.sqlite", timeout=10)
    db.execute("UPDATE audit SET target = 'mw_forged' WHERE seq = 3")
    db.commit()
    db.close()
    broken = cli("audit", "verify", data=server.data_dir)
    assert broken.returncode == 1
    assert "BROKEN at entry 3" in broken.stdout, broken.stdout
