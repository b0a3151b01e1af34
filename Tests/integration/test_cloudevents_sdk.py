"""Interop with the CloudEvents Python SDK: events built by the SDK, sent in
structured and binary HTTP modes, read back and parsed by the SDK again."""

from __future__ import annotations

import json
from typing import Any, Dict, Tuple

import pytest
import requests

try:  # cloudevents >= 2: the 1.x API lives under cloudevents.v1
    from cloudevents.v1.conversion import to_binary, to_structured
    from cloudevents.v1.http import CloudEvent, from_dict, from_json
except ImportError:  # cloudevents 1.x
    from cloudevents.conversion import to_binary, to_structured
    from cloudevents.http import CloudEvent, from_dict, from_json

from millwright_support import (
    TIMEOUT,
    Server,
    assert_problem,
    assert_stored,
    check_problem_body,
    describe,
    error_pointers,
    production_completed,
)


def sdk_event(event_id: str, **kwargs: Any) -> CloudEvent:
    envelope = production_completed(event_id, **kwargs)
    data = envelope.pop("data")
    return CloudEvent(envelope, data)


def as_dict(event: CloudEvent) -> Dict[str, Any]:
    """The structured-mode JSON of an SDK event, as a dict."""
    _, body = to_structured(event)
    return json.loads(body)


def send(server: Server, event: CloudEvent, mode: str) -> requests.Response:
    encode = {"structured": to_structured, "binary": to_binary}[mode]
    headers, body = encode(event)
    headers = {**headers, **server.auth()}
    return requests.post(server.url + "/v1/events", data=body, headers=headers, timeout=TIMEOUT)


def same_event(event: CloudEvent) -> Tuple[Dict[str, Any], Any]:
    attrs = dict(event.get_attributes())
    return attrs, event.get_data()


@pytest.mark.parametrize("first,second", [("structured", "binary"), ("binary", "structured")])
def test_same_event_in_other_mode_is_a_duplicate(server, first, second):
    event = sdk_event(f"sdk-dup-{first}")

    created = assert_stored(send(server, event, first), 201)
    assert created["event"] == as_dict(event), created

    again = send(server, event, second)
    duplicate = assert_stored(again, 200)
    assert duplicate["seq"] == created["seq"]
    assert duplicate == created, "a duplicate must answer with the identical body"

    # And the same mode once more: still the same answer.
    assert assert_stored(send(server, event, first), 200) == created


@pytest.mark.parametrize("mode", ["structured", "binary"])
def test_negative_quantity_is_422_pointing_at_data_quantity(server, mode):
    event = sdk_event(f"sdk-negative-{mode}", quantity=-5)
    problem = assert_problem(send(server, event, mode), 422)
    assert "/data/quantity" in error_pointers(problem), problem

    # Nothing was stored.
    resp = server.get_events(id=event["id"])
    assert resp.status_code == 200, describe(resp)
    assert resp.json()["items"] == []


def test_batch_of_three_with_one_invalid(server):
    good1 = sdk_event("sdk-batch-1", order="WH/MO/00201", sequence="1")
    good2 = sdk_event("sdk-batch-2", order="WH/MO/00201", sequence="2")
    bad = sdk_event("sdk-batch-3", order="WH/MO/00201", sequence="3", quantity=-1)

    resp = server.post_batch([as_dict(good1), as_dict(good2), as_dict(bad)])
    assert resp.status_code == 200, describe(resp)
    results = resp.json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2], results
    assert [r["status"] for r in results] == ["created", "created", "rejected"], results

    for result, event in zip(results[:2], (good1, good2)):
        assert isinstance(result["seq"], int), result
        assert result["event"] == as_dict(event), result
    assert results[0]["seq"] < results[1]["seq"], "batch items stored out of input order"

    problem = results[2]["problem"]
    check_problem_body(problem, status=None)
    assert problem.get("status", 422) == 422, problem
    # The pointer may be relative to the item (/data/quantity) or to the batch (/2/data/quantity).
    assert any(p and p.endswith("/data/quantity") for p in error_pointers(problem)), problem

    # The valid items were stored, the invalid one was not.
    for result, event in zip(results[:2], (good1, good2)):
        items = server.get_events(id=event["id"]).json()["items"]
        assert [i["seq"] for i in items] == [result["seq"]], items
    assert server.get_events(id=bad["id"]).json()["items"] == []

    # Sending the same batch again: the valid items are duplicates with the same seq.
    resp = server.post_batch([as_dict(good1), as_dict(good2), as_dict(bad)])
    assert resp.status_code == 200, describe(resp)
    again = resp.json()["results"]
    assert [r["status"] for r in again] == ["duplicate", "duplicate", "rejected"], again
    assert [r["seq"] for r in again[:2]] == [r["seq"] for r in results[:2]]


def test_query_by_order_and_parse_back_with_sdk(server):
    order_a, order_b = "WH/MO/00101", "WH/MO/00102"
    a1 = sdk_event("sdk-order-a1", order=order_a, sequence="1", quantity=3)
    a2 = sdk_event("sdk-order-a2", order=order_a, sequence="2", quantity=2, final=True)
    b1 = sdk_event("sdk-order-b1", order=order_b, sequence="1", quantity=7)

    seq_a1 = assert_stored(send(server, a1, "structured"), 201)["seq"]
    seq_b1 = assert_stored(send(server, b1, "structured"), 201)["seq"]
    seq_a2 = assert_stored(send(server, a2, "binary"), 201)["seq"]
    assert seq_a1 < seq_b1 < seq_a2

    resp = server.get_events(order=order_a)
    assert resp.status_code == 200, describe(resp)
    page = resp.json()
    assert page["next_after"] is None, page
    items = page["items"]
    assert [i["seq"] for i in items] == [seq_a1, seq_a2], items

    for item, original in zip(items, (a1, a2)):
        via_dict = from_dict(item["event"])
        via_json = from_json(json.dumps(item["event"]))
        assert same_event(via_dict) == same_event(original), item
        assert same_event(via_json) == same_event(original), item
        assert via_dict == original

    items_b = server.get_events(order=order_b).json()["items"]
    assert [i["seq"] for i in items_b] == [seq_b1], items_b
    assert from_dict(items_b[0]["event"]) == b1
