"""HTTP edges over a real socket: auth, content types, limits, malformed bodies,
pagination and graceful shutdown on SIGTERM."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from typing import Dict, List, Tuple

import pytest
import requests

from millwright_support import (
    PROBLEM,
    STRUCTURED,
    TIMEOUT,
    assert_problem,
    assert_stored,
    check_problem_body,
    describe,
    inventory_counted,
    production_completed,
    raw_request,
)


# -- unauthenticated -----------------------------------------------------------

@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_needs_no_token(server, path):
    resp = requests.get(server.url + path, timeout=TIMEOUT)
    assert resp.status_code == 200, describe(resp)


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic dXNlcjpwYXNz", "Bearer"])
def test_v1_without_valid_token_is_401(server, authorization):
    headers = {"Content-Type": STRUCTURED}
    if authorization is not None:
        headers["Authorization"] = authorization
    body = json.dumps(production_completed("unauth-1"))
    post = requests.post(server.url + "/v1/events", data=body, headers=headers, timeout=TIMEOUT)
    assert_problem(post, 401)
    get = requests.get(server.url + "/v1/events", headers=headers, timeout=TIMEOUT)
    assert_problem(get, 401)
    # Nothing was stored by the rejected POST.
    assert server.get_events(id="unauth-1").json()["items"] == []


# -- request bodies ------------------------------------------------------------

def test_text_plain_is_415(server):
    body = json.dumps(production_completed("text-plain-1"))
    resp = requests.post(server.url + "/v1/events", data=body,
                         headers={"Content-Type": "text/plain", **server.auth()}, timeout=TIMEOUT)
    assert_problem(resp, 415)


def test_two_mib_body_is_413(server):
    event = production_completed("too-big-1")
    event["data"]["note"] = "x" * (2 * 1024 * 1024)
    body = json.dumps(event).encode()
    headers = {"Content-Type": STRUCTURED, **server.auth()}
    # A raw socket, reading while writing: the server may answer before it has read
    # the whole body, and requests would then report a broken pipe instead of the answer.
    status, resp_headers, resp_body = raw_request(server.port, "POST", "/v1/events", headers, body)
    assert status == 413, (status, resp_headers, resp_body[:500])
    assert resp_headers.get("content-type", "").split(";")[0].strip() == PROBLEM, resp_headers
    check_problem_body(json.loads(resp_body), 413)
    # The server is still fine afterwards.
    assert_stored(server.post_event(production_completed("after-413")), 201)
    assert server.get_events(id="too-big-1").json()["items"] == []


def test_truncated_json_is_400(server):
    body = json.dumps(production_completed("truncated-1")).encode()
    resp = requests.post(server.url + "/v1/events", data=body[: len(body) // 2],
                         headers={"Content-Type": STRUCTURED, **server.auth()}, timeout=TIMEOUT)
    assert_problem(resp, 400)


def test_invalid_utf8_is_400(server):
    body = json.dumps(production_completed("bad-utf8-1")).encode()
    body = body.replace(b"FURN_8522", b"FURN_\xff\xfe22")
    resp = requests.post(server.url + "/v1/events", data=body,
                         headers={"Content-Type": STRUCTURED, **server.auth()}, timeout=TIMEOUT)
    assert_problem(resp, 400)


def test_unknown_type_is_422(server):
    event = production_completed("unknown-type-1")
    event["type"] = "mfg.no.such.type.v1"
    assert_problem(server.post_event(event), 422)


def test_same_id_other_content_is_409(server):
    first = assert_stored(server.post_event(production_completed("conflict-1", quantity=5)), 201)
    assert_problem(server.post_event(production_completed("conflict-1", quantity=6)), 409)
    # The stored event is untouched.
    items = server.get_events(id="conflict-1").json()["items"]
    assert [i["seq"] for i in items] == [first["seq"]]
    assert items[0]["event"]["data"]["quantity"] == 5


# -- pagination ----------------------------------------------------------------

def test_pagination_walks_250_events_in_three_pages(server):
    sent: List[Tuple[str, int]] = []
    session = server.session()
    try:
        for n in range(250):
            event = inventory_counted(f"page-{n:03d}", quantity=n + 1)
            body = assert_stored(server.post_event(event, session=session), 201)
            sent.append((event["id"], body["seq"]))
    finally:
        session.close()

    pages = []
    after = None
    for _ in range(10):  # bounded: 3 pages expected
        resp = server.get_events(limit=100, after=after)
        assert resp.status_code == 200, describe(resp)
        page = resp.json()
        pages.append(page)
        after = page["next_after"]
        if after is None:
            break
        assert after == page["items"][-1]["seq"], page["next_after"]

    assert [len(p["items"]) for p in pages] == [100, 100, 50]
    got = [(i["event"]["id"], i["seq"]) for p in pages for i in p["items"]]
    assert got == sent, "pages not in log order or events missing"
    seqs = [seq for _, seq in got]
    assert all(a < b for a, b in zip(seqs, seqs[1:]))


# -- graceful shutdown -----------------------------------------------------------

def test_sigterm_exits_zero_and_keeps_acknowledged_events(make_server):
    server = make_server()
    lock = threading.Lock()
    stop = threading.Event()
    acked: Dict[str, int] = {}
    other: List[str] = []

    def client(t: int) -> None:
        session = server.session()
        n = 0
        try:
            while not stop.is_set():
                event = inventory_counted(f"term-{t}-{n}", quantity=n + 1)
                n += 1
                try:
                    resp = server.post_event(event, session=session, timeout=(2.0, 10.0))
                except requests.RequestException:
                    if not server.running:
                        return
                    session.close()
                    session = server.session()
                    time.sleep(0.01)
                    continue
                with lock:
                    if resp.status_code in (200, 201):
                        acked[event["id"]] = resp.json()["seq"]
                    else:
                        other.append(describe(resp))
        finally:
            session.close()

    threads = [threading.Thread(target=client, args=(t,), daemon=True) for t in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with lock:
            if len(acked) >= 50:
                break
        time.sleep(0.01)

    server.terminate()  # requests are in flight now
    term_at = time.monotonic()
    try:
        code = server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        code = None
    exit_after = time.monotonic() - term_at
    stop.set()
    for t in threads:
        t.join(timeout=15)
    if server.running:
        server.kill9()  # it ignored SIGTERM

    assert code is not None, "server did not exit within 10 s of SIGTERM"
    assert code == 0, f"server exited with {code} after SIGTERM"
    assert exit_after <= 10.0
    with lock:
        acked_now = dict(acked)
        others = list(other)
    assert len(acked_now) >= 50, f"only {len(acked_now)} acknowledged before SIGTERM"
    # While shutting down the server may refuse new work (e.g. 503), but never 4xx/500.
    assert all(o.startswith("HTTP 503") for o in others), others[:5]

    server.start()
    stored = {i["event"]["id"]: i["seq"] for i in server.all_events(limit=1000)}
    missing = sorted(k for k in acked_now if k not in stored)
    assert not missing, f"{len(missing)} acknowledged events lost over SIGTERM: {missing[:10]}"
    moved = sorted(k for k in acked_now if stored[k] != acked_now[k])
    assert not moved, f"events stored under another seq than acknowledged: {moved[:10]}"
