"""Inbound webhooks against the real binary, signed by the reference `standardwebhooks` package (PyPI)."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime, timedelta, timezone

import requests
from standardwebhooks.webhooks import Webhook

from millwright_support import TIMEOUT, assert_problem, assert_stored

CONFIG = """
hooks:
  supplier:
    kind: standard-webhooks
    secret: env:SUPPLIER_WEBHOOK_SECRET
    map:
      type: mfg.inventory.counted.v1
      subject: product/{/product}
  odoo-prod:
    kind: odoo
    secret: file:%(odoo_secret_file)s
    allow: [127.0.0.0/8, "::1"]
"""

COUNT = {"product": "FURN_7023", "location": "WH/Stock", "quantity": 12, "uom": "H87"}


def start(make_server, tmp_path):
    key = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    odoo_secret = "odoo-" + secrets.token_urlsafe(24)
    secret_file = tmp_path / "odoo-hook.secret"
    secret_file.write_text(odoo_secret + "\n")
    config = tmp_path / "millwright.yaml"
    config.write_text(CONFIG % {"odoo_secret_file": secret_file})
    server = make_server(start=False)
    server.extra_args = ["--config", str(config)]
    server.extra_env = {"SUPPLIER_WEBHOOK_SECRET": key}
    server.start()
    return server, key, odoo_secret


def send(server, hook, payload: str, msg_id: str, when: datetime, key: str):
    signature = Webhook(key).sign(msg_id, when, payload)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
    }
    return requests.post(f"{server.url}/v1/hooks/{hook}", data=payload.encode(), headers=headers, timeout=TIMEOUT)


def test_standard_webhooks_signed_by_the_reference_library(make_server, tmp_path):
    server, key, _ = start(make_server, tmp_path)
    now = datetime.now(tz=timezone.utc)
    payload = json.dumps(COUNT)

    created = assert_stored(send(server, "supplier", payload, "msg_it_1", now, key), 201)
    event = created["event"]
    assert event["id"] == "msg_it_1" and event["source"] == "hooks/supplier"
    assert event["type"] == "mfg.inventory.counted.v1" and event["subject"] == "product/FURN_7023"
    assert event["data"] == COUNT

    # The event is in the log like any other.
    found = requests.get(f"{server.url}/v1/events", params={"source": "hooks/supplier"}, headers=server.auth(), timeout=TIMEOUT).json()
    assert [e["event"]["id"] for e in found["items"]] == ["msg_it_1"]

    # Replayed inside the window: refused.
    problem = assert_problem(send(server, "supplier", payload, "msg_it_1", now, key), 409)
    assert problem["code"] == "MW-API-0018"

    # Wrong key, stale timestamp, tampered body: 401 with no more than which check failed.
    other = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    problem = assert_problem(send(server, "supplier", payload, "msg_it_2", now, other), 401)
    assert problem["code"] == "MW-API-0017" and problem["detail"] == "Webhook verification failed: signature mismatch."
    problem = assert_problem(send(server, "supplier", payload, "msg_it_3", now - timedelta(minutes=10), key), 401)
    assert problem["detail"] == "Webhook verification failed: timestamp outside tolerance."
    when = now
    signature = Webhook(key).sign("msg_it_4", when, payload)
    tampered = requests.post(
        f"{server.url}/v1/hooks/supplier", data=payload.replace("12", "13").encode(), timeout=TIMEOUT,
        headers={"Content-Type": "application/json", "webhook-id": "msg_it_4",
                 "webhook-timestamp": str(int(when.timestamp())), "webhook-signature": signature})
    assert_problem(tampered, 401)
    # A bearer token does not stand in for a signature.
    assert_problem(requests.post(f"{server.url}/v1/hooks/supplier", data=payload, headers={**server.auth(), "Content-Type": "application/json"}, timeout=TIMEOUT), 401)
    assert_problem(send(server, "nobody", payload, "msg_it_5", now, key), 404)

    # What the reference library sends is what it would itself accept.
    headers = {"webhook-id": "msg_x", "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(key).sign("msg_x", now, payload)}
    assert Webhook(key).verify(payload, headers) == COUNT


def test_replay_window_survives_a_restart(make_server, tmp_path):
    server, key, _ = start(make_server, tmp_path)
    now = datetime.now(tz=timezone.utc)
    payload = json.dumps(COUNT)
    assert_stored(send(server, "supplier", payload, "msg_restart", now, key), 201)
    server.stop()
    server.start()
    assert_problem(send(server, "supplier", payload, "msg_restart", now, key), 409)


def test_odoo_base_automation_webhook(make_server, tmp_path):
    server, _, odoo_secret = start(make_server, tmp_path)
    payload = {"_action": "Send Webhook Notification(#7)", "_id": 42, "_model": "mrp.production", "state": "confirmed"}
    resp = requests.post(f"{server.url}/v1/hooks/odoo-prod/{odoo_secret}", json=payload, timeout=TIMEOUT)
    event = assert_stored(resp, 201)["event"]
    assert event["type"] == "mw.odoo.record_changed.v1" and event["subject"] == "odoo/mrp.production/42"
    assert event["data"] == {"model": "mrp.production", "record_id": 42, "action": "Send Webhook Notification(#7)", "fields": ["state"]}
    assert_problem(requests.post(f"{server.url}/v1/hooks/odoo-prod/wrong-{odoo_secret}", json=payload, timeout=TIMEOUT), 401)
    assert_problem(requests.post(f"{server.url}/v1/hooks/odoo-prod", json=payload, timeout=TIMEOUT), 404)
    # The path secret never reaches the logs.
    server.stop()
    assert odoo_secret not in server.logs()
