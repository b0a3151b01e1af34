import Foundation
import MillwrightCore
import Testing

@testable import MillwrightOdoo

/// Every error recorded from real Odoo 19 (both recording files) maps to the kind the connector acts on.
@Suite struct OdooErrorTests {
    struct Recording {
        var name: String
        var status: Int
        var contentType: String
        var body: JSONValue
    }

    static func recordings() throws -> [Recording] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        // recordings.jsonl is a copy of shared/data/odoo19/recordings.jsonl; recordings-extra.jsonl was recorded for this project.
        let files = ["recordings.jsonl", "recordings-extra.jsonl"].map { root.appendingPathComponent("Fixtures/odoo19/" + $0) }
        var result: [Recording] = []
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for line in text.split(separator: "\n") where !line.isEmpty {
                let value = try JSONParser(maxDepth: 512).parse(String(line))
                guard let name = value["name"]?.stringValue, let response = value["response"],
                    case .number(let status)? = response["status"], let status = Int(status)
                else { continue }
                result.append(Recording(name: name, status: status, contentType: response["content_type"]?.stringValue ?? "", body: response["body"] ?? .null))
            }
        }
        return result
    }

    /// The kind each recorded error must map to.
    static let expected: [String: OdooError.Kind] = [
        "auth.wrong-key": .authentication, "auth.no-authorization": .authentication,
        "error.unknown-model": .unknownMethod, "error.unknown-method": .unknownMethod, "error.private-method": .unknownMethod,
        "error.get-method": .unknownMethod,
        "error.invalid-field": .badRequest, "error.wrong-type": .badRequest, "error.bad-json": .badRequest,
        "error.unexpected-argument": .badRequest, "error.model-method-with-ids": .badRequest, "error.missing-argument": .badRequest,
        "error.missing-record": .missingRecord, "error.required-field": .validation, "lot.create.duplicate": .validation,
        "maint.request.create.bad-equipment": .validation, "mo.button_mark_done.done.backorder-context": .validation,
        "serial.mo.button_mark_done.duplicate-serial": .userError, "mo.action_cancel.done": .userError,
        "error.access.unlink-quant": .accessDenied, "access.read.mrp.production": .accessDenied,
        "access.create.mrp.production": .accessDenied, "access.button_mark_done": .accessDenied, "access.write.product": .accessDenied,
        "error.serialization-failure": .conflict, "auth.wrong-database-header": .unknownDatabase,
        "jsonrpc.wrong-password": .authentication, "jsonrpc.unknown-model": .unknownMethod, "jsonrpc.validation": .badRequest,
        "jsonrpc.access-error": .accessDenied,
    ]

    @Test func everyRecordedErrorHasItsKind() throws {
        let recordings = try Self.recordings()
        var seen = Set<String>()
        for r in recordings {
            let error: OdooError?
            if r.name.hasPrefix("jsonrpc."), let e = r.body["error"] {
                error = OdooError.fromOdooPayload(e["data"] ?? e, httpStatus: nil, call: r.name, login: "mes-bridge")
            } else if r.status != 200 {
                if case .string(let html) = r.body {
                    let http = OdooHTTP(client: .shared, baseURL: "http://odoo", database: "nope")
                    error = http.classifyUnparsable(.init(status: r.status, contentType: r.contentType, retryAfter: nil, body: Array(html.utf8)), call: r.name)
                } else {
                    error = OdooError.fromOdooPayload(r.body, httpStatus: r.status, call: r.name, login: "mes-bridge")
                }
            } else {
                error = nil
            }
            guard let error else { continue }
            seen.insert(r.name)
            let want = try #require(Self.expected[r.name], "recorded error \(r.name) (\(error.kind)) has no expectation: add it")
            #expect(error.kind == want, "\(r.name)")
            #expect(!error.message.contains("Traceback"), "\(r.name): the traceback stays out of the message")
        }
        #expect(Set(Self.expected.keys).subtracting(seen).isEmpty, "expectations without a recording: \(Set(Self.expected.keys).subtracting(seen))")
    }

    @Test func accessErrorsSayWhatToDo() throws {
        let recording = try #require(try Self.recordings().first { $0.name == "access.write.product" })
        let error = OdooError.fromOdooPayload(recording.body, httpStatus: 403, call: "product.product/write", login: "mes-bridge")
        #expect(error.message == "user 'mes-bridge' lacks write access on product.product; in Odoo, add the user to one of the groups: Products/Create")
        #expect(!error.retryable)
        #expect(error.code == "MW-ODOO-0002")
    }

    @Test func retryableKinds() {
        for kind in OdooError.Kind.allCases {
            let retryable = [.conflict, .server, .timeout, .connection, .overloaded].contains(kind)
            #expect(OdooError(kind, "x").retryable == retryable, "\(kind)")
        }
        #expect(Set(OdooError.Kind.allCases.map { OdooError($0, "").code }).count == OdooError.Kind.allCases.count, "codes are unique")
    }

    @Test func proxyOverloadCarriesRetryAfter() {
        let http = OdooHTTP(client: .shared, baseURL: "http://odoo", database: "mfg")
        let error = http.classifyUnparsable(.init(status: 503, contentType: "text/html", retryAfter: 7, body: Array("<html>busy</html>".utf8)), call: "x/y")
        #expect(error.kind == .overloaded)
        #expect(error.retryAfter == 7)
        #expect(error.retryable)
    }
}

@Suite struct OdooUnitsTests {
    static let units = OdooUnits(records: [
        OdooRecord(["id": 1, "name": "Units", "factor": .number("1.0"), "parent_path": "1/", "rounding": .number("0.01")]),
        OdooRecord(["id": 3, "name": "Dozens", "factor": .number("12.0"), "parent_path": "1/3/", "rounding": .number("0.01")]),
        OdooRecord(["id": 15, "name": "g", "factor": .number("1.0"), "parent_path": "15/", "rounding": .number("0.01")]),
        OdooRecord(["id": 16, "name": "kg", "factor": .number("1000.0"), "parent_path": "15/16/", "rounding": .number("0.01")]),
    ])

    @Test func convertsWithinATree() throws {
        let u = Self.units
        #expect(try u.convert(Decimal(string: "0.25")!, from: u.unit(for: UnitCode("DZN")), to: u.unit(for: UnitCode("H87"))) == 3)
        #expect(try u.convert(1500, from: u.unit(for: UnitCode("GRM")), to: u.unit(for: UnitCode("KGM"))) == Decimal(string: "1.5")!)
        #expect(try u.convert(1, from: u.unit(for: UnitCode("GRM")), to: u.unit(for: UnitCode("KGM"))) == 0, "rounded to kg's 0.01 like Odoo")
    }

    @Test func refusesADimensionMismatch() throws {
        let u = Self.units
        #expect { try u.convert(1, from: u.unit(for: UnitCode("KGM")), to: u.unit(for: UnitCode("H87"))) } throws: { ($0 as? OdooError)?.kind == .dataProblem }
        #expect { try u.unit(for: UnitCode("XYZ")) } throws: { ($0 as? OdooError)?.kind == .dataProblem }
    }
}

@Suite struct OdooThrottleTests {
    /// A clock that only moves when someone sleeps.
    final class ManualClock: Sendable {
        let now = Mutex(Duration.zero)
        func read() -> Duration { now.withLock { $0 } }
        func sleep(_ d: Duration) { now.withLock { $0 += d } }
    }

    @Test func rateLimitSpacesCallsWithoutRealWaiting() async {
        let clock = ManualClock()
        let throttle = OdooThrottle(maxConcurrent: 4, ratePerSecond: 10, burst: 2, now: { clock.read() }, sleep: { clock.sleep($0) })
        var starts: [Duration] = []
        for _ in 0..<6 {
            starts.append(await throttle.run { clock.read() })
        }
        // Burst of 2 at t=0, then one every 100 ms.
        #expect(starts[0] == .zero && starts[1] == .zero)
        for i in 2..<6 {
            let gap = starts[i] - starts[i - 1]
            #expect(gap >= .milliseconds(99) && gap <= .milliseconds(101), "gap \(i): \(gap)")
        }
    }

    @Test func concurrencyIsBounded() async {
        let throttle = OdooThrottle(maxConcurrent: 2, ratePerSecond: nil)
        let peak = Peak()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    await throttle.run {
                        peak.enter()
                        await Task.yield()
                        peak.leave()
                    }
                }
            }
        }
        #expect(peak.highest <= 2)
        #expect(peak.highest >= 1)
        #expect(await throttle.callsInFlight == 0)
    }
}

import Synchronization

final class Peak: Sendable {
    private let state = Mutex((current: 0, highest: 0))
    func enter() { state.withLock { $0.current += 1; $0.highest = max($0.highest, $0.current) } }
    func leave() { state.withLock { $0.current -= 1 } }
    var highest: Int { state.withLock { $0.highest } }
}
