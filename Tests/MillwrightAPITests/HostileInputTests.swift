import Foundation
import HTTPTypes
import HummingbirdTesting
import MillwrightCore
import MillwrightTesting
import Testing

/// Makes malformed and hostile request bodies from valid ones.
struct HostileBodies {
    var rng: SeededGenerator
    let seeds = [completion(id: "seed-1"), count(id: "seed-2"),
                 #"{"specversion":"1.0","id":"s3","source":"q","type":"mfg.quality.hold.placed.v1","data":{"hold":"H","reason":"r","lot":"L"}}"#]

    struct Case {
        var kind: String
        var contentType: String?
        var headers: [String: String] = [:]
        var body: [UInt8]
    }

    mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }

    mutating func randomJSON(depth: Int = 0) -> String {
        switch Int.random(in: 0..<(depth > 3 ? 4 : 7), using: &rng) {
        case 0: return pick(["null", "true", "false"])
        case 1: return pick(["0", "-1", "1e308", "-0.0", "123456789012345678901234567890", "1e-400", "3.14"])
        case 2: return "\"" + pick(["", "x", "WH/MO/1", "H87", "\\u0000", "é", "2026-11-22T10:15:00Z"]) + "\""
        case 3: return pick(["[]", "{}"])
        case 4: return "[" + (0..<Int.random(in: 0...3, using: &rng)).map { _ in randomJSON(depth: depth + 1) }.joined(separator: ",") + "]"
        default:
            return "{" + (0..<Int.random(in: 0...3, using: &rng)).map { _ in "\"\(pick(["data", "id", "type", "quantity", "uom", "k"]))\":\(randomJSON(depth: depth + 1))" }.joined(separator: ",") + "}"
        }
    }

    mutating func next(_ i: Int) -> Case {
        let seed = Array(pick(seeds).utf8)
        switch i % 14 {
        case 0:  // truncated
            return Case(kind: "truncated", contentType: "application/cloudevents+json", body: Array(seed.prefix(Int.random(in: 0..<seed.count, using: &rng))))
        case 1:  // random byte flips
            var body = seed
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                body[Int.random(in: 0..<body.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            return Case(kind: "flipped", contentType: "application/cloudevents+json", body: body)
        case 2:  // deep nesting
            let depth = Int.random(in: 60...20_000, using: &rng)
            let open = pick(["[", "{\"a\":"])
            let close = open == "[" ? "]" : "}"
            return Case(kind: "deep", contentType: "application/json", body: Array((String(repeating: open, count: depth) + "1" + String(repeating: close, count: depth)).utf8))
        case 3:  // huge numbers where quantities go
            let number = pick(["1e999999", String(repeating: "9", count: Int.random(in: 20...5000, using: &rng)), "-1e-999999", "0.\(String(repeating: "0", count: 400))1"])
            let text = String(decoding: seed, as: UTF8.self).replacingOccurrences(of: "\"quantity\":5", with: "\"quantity\":\(number)")
                .replacingOccurrences(of: "\"quantity\":12", with: "\"quantity\":\(number)")
            return Case(kind: "huge-number", contentType: "application/cloudevents+json", body: Array(text.utf8))
        case 4:  // wrong types for known fields
            let field = pick(["\"id\":", "\"source\":", "\"type\":", "\"data\":", "\"specversion\":", "\"time\":"])
            var text = String(decoding: seed, as: UTF8.self)
            if let range = text.range(of: field) {
                text.insert(contentsOf: randomJSON() + ",\"ignored\":", at: range.upperBound)
            }
            return Case(kind: "wrong-type", contentType: "application/cloudevents+json", body: Array(text.utf8))
        case 5:  // invalid UTF-8
            var body = seed
            let bad: [[UInt8]] = [[0xC3], [0xFF], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC0, 0x80]]
            body.insert(contentsOf: pick(bad), at: Int.random(in: 0...body.count, using: &rng))
            return Case(kind: "utf8", contentType: "application/cloudevents+json", body: body)
        case 6:  // oversized arrays
            let n = pick([1_001, 2_000, 12_000])
            if Int.random(in: 0..<4, using: &rng) > 0 {  // big arrays in data are costly to build: fewer of them
                return Case(kind: "big-batch", contentType: "application/cloudevents-batch+json", body: Array(("[" + Array(repeating: "{}", count: n).joined(separator: ",") + "]").utf8))
            }
            let lots = Array(repeating: #"{"lot":"L","quantity":1}"#, count: n).joined(separator: ",")
            return Case(kind: "big-array", contentType: "application/cloudevents+json", body: Array(completion(id: "big-\(i)").replacingOccurrences(of: #"[{"lot":"LOT-2026-0042","quantity":5}]"#, with: "[\(lots)]").utf8))
        case 7:  // content types
            return Case(kind: "content-type", contentType: pick([nil, "text/plain", "application/xml", "application/cloudevents-batch+json", "multipart/form-data", "application/json; charset=utf-8", ";;;", "application/cloudevents+json"]), body: seed)
        case 8:  // garbage
            return Case(kind: "garbage", contentType: "application/cloudevents+json", body: (0..<Int.random(in: 0...512, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        case 9:  // random JSON documents
            return Case(kind: "random-json", contentType: pick(["application/cloudevents+json", "application/cloudevents-batch+json"]), body: Array(randomJSON().utf8))
        case 10:  // duplicate keys, BOM, NUL
            let text = String(decoding: seed, as: UTF8.self)
            let variant = pick(["\u{FEFF}" + text, text.replacingOccurrences(of: "\"id\":", with: "\"id\":\"dup\",\"id\":"), text + "\u{0}", "\u{0}" + text])
            return Case(kind: "duplicate-key-bom-nul", contentType: "application/cloudevents+json", body: Array(variant.utf8))
        case 11:  // binary mode with hostile headers
            return Case(kind: "binary", contentType: pick(["application/json", "text/plain", "application/cloudevents+json"]),
                        headers: ["ce-specversion": pick(["1.0", "0.3", ""]), "ce-id": pick(["", "x\(i)", String(repeating: "i", count: 300)]),
                                  "ce-source": pick(["%ZZ", "mes", "%00"]), "ce-type": pick(["mfg.lot.created.v1", "x", ""]), "ce-sequence": pick(["1", "-1", "x"])],
                        body: Array(pick([#"{"lot":"L","product":"P"}"#, "[]", "nul", "{\"lot\":"]).utf8))
        case 12:  // a valid event with a fresh id: accepted
            return Case(kind: "valid", contentType: "application/cloudevents+json", body: Array(count(id: "fresh-\(i)").utf8))
        default:  // batches mixing the above
            let items = (0..<Int.random(in: 1...20, using: &rng)).map { _ in Bool.random(using: &rng) ? randomJSON() : count(id: "b\(i)-\(Int.random(in: 0...5, using: &rng))") }
            return Case(kind: "mixed-batch", contentType: "application/cloudevents-batch+json", body: Array(("[" + items.joined(separator: ",") + "]").utf8))
        }
    }
}

@Suite("Hostile input")
struct HostileInputTests {
    @Test("10,000 malformed or hostile bodies: never a 5xx, every error a problem")
    func neverCrashesAlwaysAProblem() async throws {
        try await withNode(durability: .normal) { client, store in
            var bodies = HostileBodies(rng: SeededGenerator(state: 20261126))
            var byStatus: [Int: Int] = [:]
            var timeByKind: [String: Duration] = [:]
            for i in 0..<10_000 {
                let c = bodies.next(i)
                let started = ContinuousClock.now
                defer { timeByKind[c.kind, default: .zero] += ContinuousClock.now - started }
                let response = try await client.send(.post, "/v1/events", contentType: c.contentType, headers: c.headers, bytes: c.body)
                let status = Int(response.status.code)
                byStatus[status, default: 0] += 1
                #expect(status < 500, "case \(i) (\(c.kind)) answered \(status): \(response.text.prefix(300))")
                if status >= 400 {
                    #expect(response.headers[.contentType] == "application/problem+json", "case \(i) (\(c.kind))")
                    let problem = response.json
                    #expect(problem?["status"] == .number(String(status)), "case \(i) (\(c.kind)): \(response.text.prefix(300))")
                    #expect(problem?["title"]?.stringValue?.isEmpty == false)
                }
            }
            print("hostile input: statuses \(byStatus.sorted { $0.key < $1.key }), time by kind \(timeByKind.sorted { $0.value > $1.value }.prefix(5))")
            // The generator must exercise both sides: plenty rejected, some accepted.
            #expect((byStatus[400] ?? 0) > 1_000 && (byStatus[422] ?? 0) > 500 && (byStatus[201] ?? 0) > 500, "\(byStatus)")
            #expect((byStatus[413] ?? 0) > 0 && (byStatus[415] ?? 0) > 0)
            // And the node still works afterwards.
            let after = try await client.send(.post, "/v1/events", body: completion(id: "after-fuzz"))
            #expect(after.status == .created)
            _ = store
        }
    }
}
