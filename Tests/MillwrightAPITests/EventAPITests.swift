import Foundation
import HTTPTypes
import HummingbirdTesting
import MillwrightCore
import MillwrightSQLite
import Testing

@Suite("Event API")
struct EventAPITests {
    @Test func createdThenDuplicateThenConflict() async throws {
        try await withNode { client, store in
            let created = try await client.send(.post, "/v1/events", body: completion(id: "e1"))
            #expect(created.status == .created)
            #expect(created.headers[.contentType] == "application/json")
            let seq = try #require(created.json?["seq"])
            #expect(seq == .number("1"))
            #expect(created.headers[.location] == "/v1/events/1")
            #expect(created.json?["event"]?["data"]?["order"] == "WH/MO/00042")

            let duplicate = try await client.send(.post, "/v1/events", body: completion(id: "e1"))
            #expect(duplicate.status == .ok)
            #expect(duplicate.text == created.text)

            let conflict = try await client.send(.post, "/v1/events", body: completion(id: "e1", quantity: "6"))
            #expect(conflict.status == .conflict)
            #expect(conflict.headers[.contentType] == "application/problem+json")
            #expect(conflict.json?["existing_seq"] == .number("1"))
            #expect(conflict.json?["code"] == "MW-API-0007")
            let kept = try await store.conflicts(source: "mes/plant-1", id: "e1")
            #expect(kept.count == 1 && kept.first?.envelope.contains("\"quantity\":6") == true)

            let one = try await client.send(.get, "/v1/events/1", contentType: nil)
            #expect(one.text == created.text)
            let all = try await client.send(.get, "/v1/events", contentType: nil)
            #expect(all.json?["items"]?.arrayValue?.count == 1)
        }
    }

    @Test func binaryModeIsTheSameEventAsStructured() async throws {
        try await withNode { client, _ in
            let binary = try await client.send(.post, "/v1/events", contentType: "application/json", headers: [
                "ce-specversion": "1.0", "ce-id": "b1", "ce-source": "mes/plant-1", "ce-type": "mfg.lot.created.v1",
                "ce-time": "2026-11-22T10:15:00Z", "ce-partitionkey": "LOT-7",
            ], body: #"{"lot":"LOT-7","product":"FURN_8855"}"#)
            #expect(binary.status == .created)
            let structured = try await client.send(.post, "/v1/events", body: """
                {"specversion":"1.0","id":"b1","source":"mes/plant-1","type":"mfg.lot.created.v1","time":"2026-11-22T10:15:00Z",
                 "partitionkey":"LOT-7","data":{"product":"FURN_8855","lot":"LOT-7"}}
                """)
            #expect(structured.status == .ok)
            #expect(structured.json?["seq"] == binary.json?["seq"])

            let badBinary = try await client.send(.post, "/v1/events", contentType: "application/json", headers: [
                "ce-specversion": "1.0", "ce-id": "b2", "ce-source": "mes", "ce-type": "mfg.lot.created.v1",
            ], body: #"{"lot":"L"}"#)
            #expect(badBinary.status == .unprocessableContent)
            #expect(badBinary.json?["errors"]?.arrayValue?.first?["pointer"] == "/data/product")
        }
    }

    @Test func batchAcceptsValidItemsAndReportsEachInOrder() async throws {
        try await withNode { client, store in
            _ = try await client.send(.post, "/v1/events", body: count(id: "c0"))
            let body = "[" + [
                count(id: "c1"),
                count(id: "c2", quantity: "-1"),
                count(id: "c0"),
                count(id: "c0", quantity: "99"),
                #"{"specversion":"1.0","id":"u","source":"s","type":"mfg.unknown.v1","data":{}}"#,
                "42",
                count(id: "c3"),
            ].joined(separator: ",") + "]"
            let response = try await client.send(.post, "/v1/events", contentType: "application/cloudevents-batch+json", body: body)
            #expect(response.status == .ok)
            let results = try #require(response.json?["results"]?.arrayValue)
            #expect(results.map { $0["status"]?.stringValue ?? "" } == ["created", "rejected", "duplicate", "conflict", "rejected", "rejected", "created"])
            #expect(results.map { $0["index"] } == (0..<7).map { .number(String($0)) })
            #expect(results[1]["problem"]?["errors"]?.arrayValue?.first?["pointer"] == "/data/quantity")
            #expect(results[4]["problem"]?["code"] == "MW-API-0005")
            #expect(results[2]["seq"] == .number("1"))
            let ids = try await store.events(EventQuery()).map(\.id)
            #expect(ids == ["c0", "c1", "c3"])
        }
    }

    @Test func batchOverTheLimitIs413() async throws {
        try await withNode(configure: { $0.api.maxBatchEvents = 3 }) { client, _ in
            let body = "[" + (1...4).map { count(id: "x\($0)") }.joined(separator: ",") + "]"
            let response = try await client.send(.post, "/v1/events", contentType: "application/cloudevents-batch+json", body: body)
            #expect(response.status == .contentTooLarge)
            #expect(response.json?["code"] == "MW-API-0012")
        }
    }

    @Test func plantStreamFixture() async throws {
        let lines = try fixture("plant-stream.jsonl").split(separator: "\n").map(String.init)
        try await withNode(durability: .normal) { client, store in
            let response = try await client.send(.post, "/v1/events", contentType: "application/cloudevents-batch+json", body: "[" + lines.joined(separator: ",") + "]")
            let results = try #require(response.json?["results"]?.arrayValue)
            let statuses = results.map { $0["status"]?.stringValue ?? "" }
            #expect(statuses.count == 107)
            #expect(statuses.filter { $0 == "created" }.count == 104)
            #expect(statuses.filter { $0 == "duplicate" }.count == 2, "the stream repeats two events exactly")
            #expect(statuses.filter { $0 == "rejected" }.count == 1)
            #expect(results[106]["problem"]?["errors"]?.arrayValue?.first?["pointer"] == "/data/quantity", "the negative scrap quantity")
            #expect(try await store.statistics().events == 104)
        }
    }

    @Test func errorsAreProblems() async throws {
        try await withNode(configure: { $0.api.maxBodyBytes = 2048 }) { client, _ in
            let textPlain = try await client.send(.post, "/v1/events", contentType: "text/plain", body: completion(id: "x"))
            #expect(textPlain.status == .unsupportedMediaType)
            #expect(textPlain.headers[.contentType] == "application/problem+json")
            let noType = try await client.send(.post, "/v1/events", contentType: nil, body: completion(id: "x"))
            #expect(noType.status == .unsupportedMediaType)

            let big = try await client.send(.post, "/v1/events", body: "[" + String(repeating: "1,", count: 2000) + "1]")
            #expect(big.status == .contentTooLarge)
            #expect(big.json?["code"] == "MW-API-0003")

            let truncated = try await client.send(.post, "/v1/events", body: "{\"specversion\":\n\"1.0\",")
            #expect(truncated.status == .badRequest)
            #expect(truncated.json?["line"] == .number("2"))
            #expect(truncated.json?["code"] == "MW-API-0001")

            let utf8 = try await client.send(.post, "/v1/events", bytes: Array("{\"id\":\"".utf8) + [0xC3, 0x28] + Array("\"}".utf8))
            #expect(utf8.status == .badRequest)
            #expect(utf8.json?["title"] == "Invalid UTF-8")

            let unknown = try await client.send(.post, "/v1/events", body: #"{"specversion":"1.0","id":"1","source":"s","type":"mfg.nope.v1","data":{}}"#)
            #expect(unknown.status == .unprocessableContent)
            #expect(unknown.json?["errors"]?.arrayValue?.first?["pointer"] == "/type")

            let invalid = try await client.send(.post, "/v1/events", body: #"{"specversion":"1.0","id":"1","source":"s","type":"mfg.stock.moved.v1","data":{"product":"P","quantity":0,"uom":"KG","from_location":"A"}}"#)
            #expect(invalid.status == .unprocessableContent)
            let pointers = Set(invalid.json?["errors"]?.arrayValue?.compactMap { $0["pointer"]?.stringValue } ?? [])
            #expect(pointers == ["/data/quantity", "/data/uom", "/data/to_location"])

            let notFound = try await client.send(.get, "/v1/nothing", contentType: nil)
            #expect(notFound.status == .notFound)
            #expect(notFound.headers[.contentType] == "application/problem+json")
        }
    }

    @Test func listFiltersAndPages() async throws {
        try await withNode(durability: .normal) { client, _ in
            let batch = "[" + (0..<250).map { count(id: "n\($0)", product: $0 % 2 == 0 ? "EVEN" : "ODD", time: $0 < 100 ? "2026-11-22T08:00:00Z" : "2026-11-22T12:00:00Z") }.joined(separator: ",") + "]"
            _ = try await client.send(.post, "/v1/events", contentType: "application/cloudevents-batch+json", body: batch)
            _ = try await client.send(.post, "/v1/events", body: completion(id: "p1", order: "WH/MO/00042"))

            var after = "0"
            var pages: [Int] = []
            var ids: [String] = []
            while true {
                let page = try await client.send(.get, "/v1/events?type=mfg.inventory.counted.v1&limit=100&after=\(after)", contentType: nil)
                let items = try #require(page.json?["items"]?.arrayValue)
                pages.append(items.count)
                ids += items.compactMap { $0["event"]?["id"]?.stringValue }
                guard case .number(let next)? = page.json?["next_after"] else { break }
                after = next
            }
            #expect(pages == [100, 100, 50])
            #expect(ids == (0..<250).map { "n\($0)" })

            let byOrder = try await client.send(.get, "/v1/events?order=WH%2FMO%2F00042", contentType: nil)
            #expect(byOrder.json?["items"]?.arrayValue?.count == 1)
            let byKey = try await client.send(.get, "/v1/events?key=FURN_7800", contentType: nil)
            #expect(byKey.json?["items"]?.arrayValue?.count == 1, "a consumed component is a key of the completion")
            let odd = try await client.send(.get, "/v1/events?product=ODD&limit=1000", contentType: nil)
            #expect(odd.json?["items"]?.arrayValue?.count == 125)
            let since = try await client.send(.get, "/v1/events?type=mfg.inventory.counted.v1&since=2026-11-22T10:00:00Z&limit=1000", contentType: nil)
            #expect(since.json?["items"]?.arrayValue?.count == 150)
            let last = try await client.send(.get, "/v1/events?type=mfg.inventory.counted.v1&last=3", contentType: nil)
            #expect(last.json?["items"]?.arrayValue?.compactMap { $0["event"]?["id"]?.stringValue } == ["n247", "n248", "n249"])

            let bad = try await client.send(.get, "/v1/events?ordr=1&limit=0&since=yesterday", contentType: nil)
            #expect(bad.status == .badRequest)
            #expect(Set(bad.json?["errors"]?.arrayValue?.compactMap { $0["pointer"]?.stringValue } ?? []) == ["/ordr", "/limit", "/since"])
        }
    }

    @Test func schemas() async throws {
        try await withNode { client, _ in
            let list = try await client.send(.get, "/v1/schemas", contentType: nil)
            #expect(list.json?["items"]?.arrayValue?.count == Catalogue.v1.types.count && Catalogue.v1.types.count == 22)
            let one = try await client.send(.get, "/v1/schemas/mfg.production.completed.v1", contentType: nil)
            #expect(one.status == .ok)
            #expect(one.headers[.contentType] == "application/schema+json")
            #expect(one.json?["$schema"] == "https://json-schema.org/draft/2020-12/schema")
            let missing = try await client.send(.get, "/v1/schemas/mfg.nope.v1", contentType: nil)
            #expect(missing.status == .notFound)
        }
    }

    @Test func metricsCountWhatHappened() async throws {
        try await withNode { client, _ in
            _ = try await client.send(.post, "/v1/events", body: completion(id: "m1"))
            _ = try await client.send(.post, "/v1/events", body: completion(id: "m1"))
            _ = try await client.send(.post, "/v1/events", body: completion(id: "m2", quantity: "-1"))
            let metrics = try await client.send(.get, "/metrics", token: nil, contentType: nil)
            #expect(metrics.status == .ok)
            let text = metrics.text
            #expect(text.contains(#"mw_events_ingested_total{type="mfg.production.completed.v1",outcome="created"} 1"#))
            #expect(text.contains(#"mw_events_ingested_total{type="mfg.production.completed.v1",outcome="duplicate"} 1"#))
            #expect(text.contains(#"mw_events_ingested_total{type="mfg.production.completed.v1",outcome="rejected"} 1"#))
            #expect(text.contains("mw_store_commit_batch_events_count"))
            #expect(text.contains("mw_http_request_duration_seconds_bucket"))
            #expect(text.contains("mw_store_size_bytes"))
        }
    }

    @Test func metricsCanRequireAToken() async throws {
        try await withNode(configure: { $0.api.metricsRequireToken = true }) { client, _ in
            let anonymous = try await client.send(.get, "/metrics", token: nil, contentType: nil)
            #expect(anonymous.status == .unauthorized)
            let authorized = try await client.send(.get, "/metrics", contentType: nil)
            #expect(authorized.status == .ok)
        }
    }
}
