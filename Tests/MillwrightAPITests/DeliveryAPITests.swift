import Foundation
import HummingbirdTesting
import MillwrightAPI
import MillwrightCore
import MillwrightSQLite
import Testing

@Suite("Delivery API")
struct DeliveryAPITests {
    @Test func deadLettersAreListedReplayedAndAudited() async throws {
        try await withNode { client, store in
            #expect(try await client.send(.post, "/v1/events", body: completion(id: "c-1")).status == .created)
            #expect(try await client.send(.post, "/v1/events", body: completion(id: "c-2", order: "WH/MO/00043")).status == .created)
            let now = Date()
            try await store.enqueue([NewDelivery(flow: "f", eventSeq: 1, partition: "WH/MO/00042", priority: 0), NewDelivery(flow: "f", eventSeq: 2, partition: "WH/MO/00043", priority: 0)], cursor: 2, at: now)
            let claimed = try await store.claim(owner: "t", now: now, lease: 60, limit: 1, flows: nil, gaps: [:])
            let id = try #require(claimed.first?.id)
            let attempt = DeliveryAttempt(deliveryID: id, number: 1, startedAt: now, durationMicroseconds: 1200, outcome: .dead, errorCode: "MW-ODOO-0015", error: "product 'FURN_8522' is not in Odoo")
            #expect(try await store.complete(id, owner: "t", attempt: attempt, as: .dead(code: "MW-ODOO-0015", error: "product 'FURN_8522' is not in Odoo"), at: now))

            let dead = try await client.send(.get, "/v1/dead-letters", contentType: nil)
            #expect(dead.status == .ok)
            #expect(dead.json?["items"]?.arrayValue?.count == 1)
            #expect(dead.json?["items"]?.arrayValue?.first?["last_error"]?.stringValue == "product 'FURN_8522' is not in Odoo")

            let pending = try await client.send(.get, "/v1/deliveries?state=pending", contentType: nil)
            #expect(pending.json?["items"]?.arrayValue?.count == 1)
            let byKey = try await client.send(.get, "/v1/deliveries?key=WH/MO/00043", contentType: nil)
            #expect(byKey.json?["items"]?.arrayValue?.first?["event_seq"] == .number("2"))
            #expect(try await client.send(.get, "/v1/deliveries?state=lost", contentType: nil).status == .badRequest)
            #expect(try await client.send(.get, "/v1/deliveries?colour=red", contentType: nil).status == .badRequest)

            let detail = try await client.send(.get, "/v1/deliveries/\(id)", contentType: nil)
            #expect(detail.json?["attempts"]?.arrayValue?.first?["error_code"]?.stringValue == "MW-ODOO-0015")
            #expect(try await client.send(.get, "/v1/deliveries/999", contentType: nil).status == .notFound)

            let story = try await client.send(.get, "/v1/messages?key=WH/MO/00042", contentType: nil)
            #expect(story.status == .ok)
            let items = try #require(story.json?["items"]?.arrayValue)
            #expect(items.count == 1)
            #expect(items.first?["deliveries"]?.arrayValue?.first?["state"]?.stringValue == "dead")
            #expect(try await client.send(.get, "/v1/messages", contentType: nil).status == .badRequest)

            let dry = try await client.send(.post, "/v1/replays", contentType: "application/json", body: #"{"flow":"f"}"#)
            #expect(dry.json?["dry_run"] == .bool(true))
            #expect(dry.json?["matched"] == .number("1"))
            #expect(try await client.send(.post, "/v1/replays", contentType: "application/json", body: #"{"flow":"f","dryrun":false}"#).status == .unprocessableContent)
            #expect(try await client.send(.get, "/v1/deliveries?state=dead", contentType: nil).json?["items"]?.arrayValue?.count == 1, "a dry run changes nothing")

            let replay = try await client.send(.post, "/v1/dead-letters/\(id)/replay", contentType: nil)
            #expect(replay.status == .ok)
            #expect(replay.json?["state"]?.stringValue == "pending")
            #expect(try await client.send(.post, "/v1/dead-letters/\(id)/replay", contentType: nil).status == .conflict, "only dead letters replay")
            let audit = try await client.send(.get, "/v1/audit", contentType: nil)
            #expect(audit.json?["items"]?.arrayValue?.contains { $0["action"]?.stringValue == "delivery.replay" && $0["target"]?.stringValue == "delivery/\(id)" } == true)

            let bulk = try await client.send(.post, "/v1/replays", contentType: "application/json", body: #"{"key":"WH/MO/00042","dry_run":false}"#)
            #expect(bulk.json?["replayed"] == .number("0"), "already pending: nothing dead left to replay")

            let flows = try await client.send(.get, "/v1/flows", contentType: nil)
            #expect(flows.status == .ok)
            #expect(flows.json?["items"]?.arrayValue != nil)
        }
    }
}

extension DeliveryAPITests {
    @Test func aBulkReplayCanNeedASecondPerson() async throws {
        try await withNode(configure: { $0.api.approvals = ApprovalPolicy(required: ["delivery.replay.bulk"]) }) { client, store in
            #expect(try await client.send(.post, "/v1/events", body: completion(id: "c-1")).status == .created)
            let now = Date()
            try await store.enqueue([NewDelivery(flow: "f", eventSeq: 1, partition: "WH/MO/00042", priority: 0)], cursor: 1, at: now)
            let id = try #require(try await store.claim(owner: "t", now: now, lease: 60, limit: 1, flows: nil, gaps: [:]).first?.id)
            let attempt = DeliveryAttempt(deliveryID: id, number: 1, startedAt: now, durationMicroseconds: 1, outcome: .dead, errorCode: "MW-ODOO-0015", error: "x")
            _ = try await store.complete(id, owner: "t", attempt: attempt, as: .dead(code: "MW-ODOO-0015", error: "x"), at: now)

            let asked = try await client.send(.post, "/v1/replays", contentType: "application/json", body: #"{"flow":"f","dry_run":false}"#)
            #expect(asked.status == .accepted, "\(asked.text)")
            let approval = try #require(asked.json?["id"]?.stringValue)
            #expect(try await store.delivery(id: id)?.state == .dead, "nothing replayed before the approval")
            let alice = try await ApprovalTests.secondAdmin(store)
            let approved = try await client.send(.post, "/v1/approvals/\(approval)/approve", token: alice, contentType: nil)
            #expect(approved.status == .ok, "\(approved.text)")
            #expect(approved.json?["result"]?["replayed"] == .number("1"))
            #expect(try await store.delivery(id: id)?.state == .pending)
        }
    }
}

extension DeliveryAPITests {
    @Test func crossReferencesLoadFromCSVAndJSON() async throws {
        try await withNode { client, store in
            let csv = "system,kind,external_id,value\nmes,order,LINE4-JOB-17,WH/MO/00042\r\nscada,equipment,\"M,07\",CNC-07\n"
            let put = try await client.send(.put, "/v1/xrefs", contentType: "text/csv", body: csv)
            #expect(put.status == .ok, "\(put.text)")
            #expect(put.json?["stored"] == .number("2"))
            #expect(try await store.xref(system: "scada", kind: "equipment", externalID: "M,07") == "CNC-07")
            let json = try await client.send(.put, "/v1/xrefs", contentType: "application/json", body: #"[{"system":"mes","kind":"order","external_id":"LINE4-JOB-17","value":"WH/MO/00043"}]"#)
            #expect(json.status == .ok)
            #expect(try await store.xref(system: "mes", kind: "order", externalID: "LINE4-JOB-17") == "WH/MO/00043", "replaced")
            let listed = try await client.send(.get, "/v1/xrefs?system=mes", contentType: nil)
            #expect(listed.json?["items"]?.arrayValue?.count == 1)

            let badLine = try await client.send(.put, "/v1/xrefs", contentType: "text/csv", body: "system,kind,external_id,value\nmes,order,X\n")
            #expect(badLine.status == .unprocessableContent)
            #expect(badLine.json?["errors"]?.arrayValue?.first?["pointer"] == "/line/2")
            let badHeader = try await client.send(.put, "/v1/xrefs", contentType: "text/csv", body: "a,b\n")
            #expect(badHeader.status == .unprocessableContent)
            let badJSON = try await client.send(.put, "/v1/xrefs", contentType: "application/json", body: #"[{"system":"mes"}]"#)
            #expect(badJSON.json?["errors"]?.arrayValue?.first?["pointer"] == "/0/kind")
            #expect(try await client.send(.put, "/v1/xrefs", contentType: "text/plain", body: "x").status == .unsupportedMediaType)

            #expect(try await client.send(.delete, "/v1/xrefs/mes/order/LINE4-JOB-17", contentType: nil).status == .ok)
            #expect(try await client.send(.delete, "/v1/xrefs/mes/order/LINE4-JOB-17", contentType: nil).status == .notFound)
            let audit = try await client.send(.get, "/v1/audit", contentType: nil)
            let actions = audit.json?["items"]?.arrayValue?.compactMap { $0["action"]?.stringValue } ?? []
            #expect(actions.filter { $0 == "xref.put" }.count == 2)
            #expect(actions.contains("xref.delete"))
        }
    }
}
