"""Outbound webhooks from the real binary to a Python receiver, verified by the reference
`standardwebhooks` package (PyPI): signature, retries on the subscription's schedule, the delivery
log, and replay once the receiver is back. The schedule's timing, disabling after the limit and
re-enabling are tested with an injected clock in Tests/MillwrightWebhooksTests."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List

import requests
from standardwebhooks.webhooks import Webhook

from millwright_support import TIMEOUT, assert_problem, assert_stored, error_pointers, free_port, production_completed


class Receiver:
    """A webhook receiver on loopback that records every request and answers `status`."""

    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        self.status = 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                    status = receiver.status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def received(self) -> List[Dict[str, Any]]:
        with self.lock:
            return list(self.requests)

    def wait_for(self, count: int, timeout: float = 15.0) -> List[Dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received()
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"the receiver got {len(self.received())} requests, expected {count}")

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def subscribe(server, url: str, **extra: Any) -> Dict[str, Any]:
    body = {"url": url, "types": ["mfg.production.*"], "description": "integration test", **extra}
    resp = requests.post(f"{server.url}/v1/subscriptions", json=body, headers=server.auth(), timeout=TIMEOUT)
    assert resp.status_code == 201, resp.text
    return resp.json()


def verify(secret: str, request: Dict[str, Any]) -> Dict[str, Any]:
    """The reference implementation's check: raises unless the signature and timestamp are right."""
    return Webhook(secret).verify(request["body"], request["headers"])


def delivery_log(server, subscription_id: str) -> List[Dict[str, Any]]:
    resp = requests.get(f"{server.url}/v1/subscriptions/{subscription_id}/deliveries", headers=server.auth(), timeout=TIMEOUT)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def wait_for_state(server, subscription_id: str, state: str, timeout: float = 15.0) -> Dict[str, Any]:
    deadline = time.monotonic() + timeout
    items: List[Dict[str, Any]] = []
    while time.monotonic() < deadline:
        items = delivery_log(server, subscription_id)
        if items and items[-1]["state"] == state:
            return items[-1]
        time.sleep(0.1)
    raise AssertionError(f"delivery not {state}: {json.dumps(items, indent=1)}")


def test_signed_delivery_verifies_with_the_reference_library(server):
    receiver = Receiver()
    try:
        created = subscribe(server, receiver.url, headers={"x-plant": "north"})
        assert created["secret"].startswith("whsec_")
        assert created["retry_schedule_seconds"] == [0, 5, 300, 1800, 7200, 18000, 36000]
        assert_stored(server.post_event(production_completed("wh-1", order="WH/MO/00042")), 201)
        request = receiver.wait_for(1)[0]
        payload = verify(created["secret"], request)
        assert payload["id"] == "wh-1" and payload["type"] == "mfg.production.completed.v1"
        assert payload["data"]["order"] == "WH/MO/00042"
        assert request["headers"]["content-type"] == "application/cloudevents+json"
        assert request["headers"]["x-plant"] == "north"
        # A wrong secret does not verify.
        try:
            verify("whsec_" + "A" * 43 + "=", request)
            raise AssertionError("a wrong secret verified")
        except Exception as exc:  # the package raises WebhookVerificationError
            assert "verif" in type(exc).__name__.lower() or "signature" in str(exc).lower()
        done = wait_for_state(server, created["id"], "done")
        assert done["attempts_detail"][0]["status_code"] == 200
        # The secret is never shown again.
        read = requests.get(f"{server.url}/v1/subscriptions/{created['id']}", headers=server.auth(), timeout=TIMEOUT).json()
        assert "secret" not in read
    finally:
        receiver.close()


def test_receiver_down_retries_on_schedule_then_replay_when_back(server):
    receiver = Receiver()
    receiver.status = 503
    try:
        created = subscribe(server, receiver.url, retry_schedule_seconds=[0, 1, 1])
        assert_stored(server.post_event(production_completed("wh-2", order="WH/MO/00043")), 201)
        requests_seen = receiver.wait_for(3)
        dead = wait_for_state(server, created["id"], "dead")
        attempts = dead["attempts_detail"]
        assert [a["status_code"] for a in attempts] == [503, 503, 503]
        assert "gave up after 3 attempts" in dead["last_error"]
        # The schedule was kept: at least 1 s between attempts (the server's own clock).
        for before, after in zip(attempts, attempts[1:]):
            assert after["started_at"] > before["started_at"]
        ids = {r["headers"]["webhook-id"] for r in requests_seen}
        assert len(ids) == 1, "webhook-id is stable across retries"

        receiver.status = 204
        resp = requests.post(f"{server.url}/v1/subscriptions/{created['id']}/replay", json={"event_id": "wh-2"},
                             headers=server.auth(), timeout=TIMEOUT)
        assert resp.status_code == 200, resp.text
        assert resp.json()["replayed"] == 1
        replayed = receiver.wait_for(4)[3]
        assert replayed["headers"]["webhook-id"] in ids
        assert verify(created["secret"], replayed)["id"] == "wh-2"
        assert wait_for_state(server, created["id"], "done")["attempts_detail"][-1]["status_code"] == 204

        # The whole story is the engine's: /v1/deliveries knows the subscription's flow.
        flow = f"subscription/{created['id']}"
        listed = requests.get(f"{server.url}/v1/deliveries", params={"flow": flow}, headers=server.auth(), timeout=TIMEOUT).json()
        assert [d["flow"] for d in listed["items"]] == [flow]
        audit = requests.get(f"{server.url}/v1/audit", headers=server.auth(), timeout=TIMEOUT).json()
        actions = [e["action"] for e in audit["items"] if e["target"] == flow]
        assert actions == ["subscription.create", "subscription.replay"]
    finally:
        receiver.close()


def test_invalid_subscription_is_a_problem_with_field_paths(server):
    resp = requests.post(f"{server.url}/v1/subscriptions", json={"url": "file:///etc/passwd", "types": []},
                         headers=server.auth(), timeout=TIMEOUT)
    problem = assert_problem(resp, 422)
    assert set(error_pointers(problem)) == {"/url", "/types"}


def test_cli_creates_lists_enables_and_replays(server):
    import subprocess

    from millwright_support import binary_path

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(binary_path()), "subscriptions", *args, "--url", server.url, "--token", server.token],
                              capture_output=True, text=True, timeout=60)

    receiver = Receiver()
    try:
        created = cli("create", "--endpoint", receiver.url, "--type", "mfg.production.*", "--description", "from the CLI")
        assert created.returncode == 0, created.stderr
        subscription_id = created.stdout.split()[1]
        secret = next(word for word in created.stdout.split() if word.startswith("whsec_"))
        listed = cli("list")
        assert listed.returncode == 0 and subscription_id in listed.stdout and "enabled" in listed.stdout
        assert secret not in listed.stdout

        assert_stored(server.post_event(production_completed("cli-1")), 201)
        assert verify(secret, receiver.wait_for(1)[0])["id"] == "cli-1"
        replayed = cli("replay", subscription_id, "--event-id", "cli-1")
        assert replayed.returncode == 0 and "matched 1 events, 1 due again" in replayed.stdout, replayed.stdout + replayed.stderr
        assert verify(secret, receiver.wait_for(2)[1])["id"] == "cli-1"
        enabled = cli("enable", subscription_id)
        assert enabled.returncode == 0 and "is enabled" in enabled.stdout
        wrong = cli("replay", subscription_id)
        assert wrong.returncode != 0 and "exactly one of" in wrong.stderr
    finally:
        receiver.close()


FILE_CONFIG = """
files:
  erp:
    folder: %(folder)s
    format: csv
    columns:
      order: /data/order
      quantity: /data/quantity
flows:
  directory: %(flows)s
"""

FILE_FLOW = """
name: completions-to-erp
match: {types: [mfg.production.completed.v1]}
sink: file
operation: erp
"""


def test_file_sink_writes_whole_files_once(make_server, tmp_path):
    folder = tmp_path / "exchange"
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "erp.yaml").write_text(FILE_FLOW)
    config = tmp_path / "millwright.yaml"
    config.write_text(FILE_CONFIG % {"folder": folder, "flows": flows})
    server = make_server(start=False)
    server.extra_args = ["--config", str(config)]
    server.start()
    assert_stored(server.post_event(production_completed("f-1", order="WH/MO/00050", quantity=3)), 201)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not (folder.exists() and any(folder.iterdir())):
        time.sleep(0.05)
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["erp-1.csv"], files
    assert (folder / "erp-1.csv").read_bytes() == b"order,quantity\r\nWH/MO/00050,3\r\n"
    # A duplicate submission is not a new event; the next event is the next file, and no temporary
    # file is ever left in the folder.
    assert server.post_event(production_completed("f-1", order="WH/MO/00050", quantity=3)).status_code == 200
    assert_stored(server.post_event(production_completed("f-2", order="WH/MO/00051", quantity=1)), 201)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not (folder / "erp-2.csv").exists():
        time.sleep(0.05)
    assert sorted(p.name for p in folder.iterdir()) == ["erp-1.csv", "erp-2.csv"]


def test_webhook_deliveries_match_the_published_schemas(server):
    """Deliveries with attempts, as every delivery route answers them, against /openapi.json."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    document = requests.get(f"{server.url}/openapi.json", timeout=TIMEOUT).json()
    registry = Registry().with_resource("urn:openapi", Resource.from_contents({"$schema": "https://json-schema.org/draft/2020-12/schema", **document}))

    def check(schema_name: str, value: Any) -> None:
        validator = Draft202012Validator({"$ref": f"urn:openapi#/components/schemas/{schema_name}"}, registry=registry)
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(value)]
        assert not errors, f"{schema_name}: {errors}"

    receiver = Receiver()
    receiver.status = 500
    try:
        created = subscribe(server, receiver.url, retry_schedule_seconds=[0, 1])
        check("SubscriptionWithSecret", created)
        assert_stored(server.post_event(production_completed("sch-1", order="WH/MO/00060")), 201)
        wait_for_state(server, created["id"], "dead")
        page = requests.get(f"{server.url}/v1/subscriptions/{created['id']}/deliveries", headers=server.auth(), timeout=TIMEOUT).json()
        check("SubscriptionDeliveryPage", page)
        delivery_id = page["items"][0]["id"]
        detail = requests.get(f"{server.url}/v1/deliveries/{delivery_id}", headers=server.auth(), timeout=TIMEOUT).json()
        assert len(detail["attempts"]) == 2
        check("DeliveryDetail", detail)
        story = requests.get(f"{server.url}/v1/messages", params={"key": "WH/MO/00060"}, headers=server.auth(), timeout=TIMEOUT).json()
        check("MessageStory", story)
        listed = requests.get(f"{server.url}/v1/subscriptions", headers=server.auth(), timeout=TIMEOUT).json()
        for item in listed["items"]:
            check("Subscription", item)
    finally:
        receiver.close()
