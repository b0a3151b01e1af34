import Foundation
import MillwrightCore

/// The contract every ``Store`` must pass. A store's test target runs each check against a fresh store:
///
/// ```swift
/// @Test(arguments: StoreConformance.checks)
/// func conformance(_ check: StoreConformance.Check) async throws {
///     try await check.run(on: makeFreshStore())
/// }
/// ```
///
/// Checks throw ``ConformanceFailure`` with a message; they import no test framework, so any
/// runner can use them.
public enum StoreConformance {
    public struct Check: Sendable, CustomStringConvertible {
        public let name: String
        let body: @Sendable (any Store) async throws -> Void

        public var description: String { name }

        /// Runs the check on a fresh, empty store.
        public func run(on store: any Store) async throws { try await body(store) }
    }

    public static let checks: [Check] = [
        Check(name: "append assigns increasing positions", body: appendAssignsIncreasingSeq),
        Check(name: "same source and id with same content is a duplicate", body: duplicateIsIdempotent),
        Check(name: "same source and id with different content is a conflict, kept, stored event unchanged", body: conflictKeepsOriginal),
        Check(name: "duplicates inside one append see earlier items", body: duplicatesWithinOneAppend),
        Check(name: "same id from different sources are different events", body: idIsScopedBySource),
        Check(name: "query filters by type, source, id, subject", body: queryFilters),
        Check(name: "query filters by business keys, nested ones included", body: queryByBusinessKeys),
        Check(name: "query filters by time", body: queryByTime),
        Check(name: "pagination with after and limit walks the log in order", body: pagination),
        Check(name: "newest-first query returns the newest in log order", body: newestFirst),
        Check(name: "tokens are stored and found by hash", body: tokens),
        Check(name: "statistics count events and conflicts", body: statistics),
        Check(name: "hook receipts refuse a replay inside the window and forget it after", body: hookReceipts),
        Check(name: "approvals are stored, listed, and decided once", body: approvals),
    ]
}

public struct ConformanceFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw ConformanceFailure(message()) }
}

/// Builds valid events for tests.
public enum EventFixtures {
    /// A valid `mfg.production.completed.v1` event for `order`.
    public static func completion(id: String, source: String = "mes/plant-1", order: String = "WH/MO/00042", quantity: Int = 5, time: String = "2026-11-22T10:15:00Z", consumed: String = "FURN_7800") -> NewEvent {
        let json: JSONValue = [
            "specversion": "1.0", "id": .string(id), "source": .string(source), "type": "mfg.production.completed.v1",
            "subject": .string("production-order/\(order)"), "time": .string(time), "partitionkey": .string(order),
            "data": [
                "order": .string(order), "product": "FURN_8522", "quantity": .number(String(quantity)), "uom": "H87",
                "lots": [["lot": "LOT-1", "quantity": .number(String(quantity))]],
                "consumed": [["product": .string(consumed), "quantity": 2, "uom": "H87"]],
            ],
        ]
        return decode(json)
    }

    /// A valid `mfg.inventory.counted.v1` event.
    public static func count(id: String, source: String = "wms/1", product: String = "FURN_7023", quantity: Int = 12, time: String = "2026-11-22T10:15:00Z") -> NewEvent {
        decode([
            "specversion": "1.0", "id": .string(id), "source": .string(source), "type": "mfg.inventory.counted.v1", "time": .string(time),
            "data": ["product": .string(product), "location": "WH/Stock", "quantity": .number(String(quantity)), "uom": "H87"],
        ])
    }

    public static func decode(_ json: JSONValue) -> NewEvent {
        do {
            return try EventDecoder().decode(json)
        } catch {
            preconditionFailure("fixture is invalid: \(error.errors)")
        }
    }
}

extension StoreConformance {
    static let t0 = Date(timeIntervalSince1970: 1_795_000_000)

    static func appendAssignsIncreasingSeq(_ store: any Store) async throws {
        let outcomes = try await store.append((1...5).map { EventFixtures.count(id: "c\($0)") }, receivedAt: t0)
        let seqs = outcomes.map(\.stored.seq)
        try expect(outcomes.allSatisfy { if case .created = $0 { true } else { false } }, "all new events are created: \(outcomes)")
        try expect(seqs == seqs.sorted() && Set(seqs).count == 5, "positions increase: \(seqs)")
        let more = try await store.append([EventFixtures.count(id: "c6")], receivedAt: t0)
        try expect((more.first?.stored.seq ?? 0) > (seqs.last ?? 0), "a later append gets a later position")
    }

    static func duplicateIsIdempotent(_ store: any Store) async throws {
        let event = EventFixtures.completion(id: "e1")
        let first = try await store.append([event], receivedAt: t0)
        let second = try await store.append([event], receivedAt: t0.addingTimeInterval(60))
        guard case .created(let a) = first.first, case .duplicate(let b) = second.first else {
            throw ConformanceFailure("expected created then duplicate, got \(first) and \(second)")
        }
        try expect(a == b, "a duplicate returns the stored event unchanged (received_at included)")
        let all = try await store.events(EventQuery())
        try expect(all.count == 1, "a duplicate is not stored twice")
    }

    static func conflictKeepsOriginal(_ store: any Store) async throws {
        let original = EventFixtures.completion(id: "e1", quantity: 5)
        let changed = EventFixtures.completion(id: "e1", quantity: 6)
        _ = try await store.append([original], receivedAt: t0)
        let outcome = try await store.append([changed], receivedAt: t0)
        guard case .conflict(let existing, let conflictID) = outcome.first else {
            throw ConformanceFailure("expected a conflict, got \(outcome)")
        }
        try expect(existing.envelope == original.canonicalText, "the stored event is unchanged")
        let kept = try await store.conflicts(source: "mes/plant-1", id: "e1")
        try expect(kept.count == 1 && kept.first?.conflictID == conflictID && kept.first?.envelope == changed.canonicalText,
                   "the conflicting content is kept for inspection")
        let stored = try await store.events(EventQuery())
        try expect(stored.count == 1 && stored.first?.envelope == original.canonicalText, "the log holds the original only")
    }

    static func duplicatesWithinOneAppend(_ store: any Store) async throws {
        let a = EventFixtures.count(id: "x")
        let b = EventFixtures.count(id: "x", quantity: 13)
        let outcomes = try await store.append([a, a, b], receivedAt: t0)
        guard outcomes.count == 3, case .created = outcomes[0], case .duplicate = outcomes[1], case .conflict = outcomes[2] else {
            throw ConformanceFailure("expected created, duplicate, conflict; got \(outcomes)")
        }
    }

    static func idIsScopedBySource(_ store: any Store) async throws {
        let outcomes = try await store.append([EventFixtures.count(id: "1", source: "a"), EventFixtures.count(id: "1", source: "b")], receivedAt: t0)
        try expect(outcomes.allSatisfy { if case .created = $0 { true } else { false } }, "(source, id) identifies an event: \(outcomes)")
    }

    static func queryFilters(_ store: any Store) async throws {
        _ = try await store.append([
            EventFixtures.completion(id: "p1", order: "WH/MO/1"),
            EventFixtures.count(id: "c1"),
            EventFixtures.completion(id: "p2", source: "mes/plant-2", order: "WH/MO/2"),
        ], receivedAt: t0)
        var q = EventQuery()
        q.type = "mfg.inventory.counted.v1"
        try expect(try await store.events(q).map(\.id) == ["c1"], "type filter")
        q = EventQuery()
        q.source = "mes/plant-2"
        try expect(try await store.events(q).map(\.id) == ["p2"], "source filter")
        q = EventQuery()
        q.id = "p1"
        try expect(try await store.events(q).map(\.id) == ["p1"], "id filter")
        q = EventQuery()
        q.subject = "production-order/WH/MO/2"
        try expect(try await store.events(q).map(\.id) == ["p2"], "subject filter")
    }

    static func queryByBusinessKeys(_ store: any Store) async throws {
        _ = try await store.append([
            EventFixtures.completion(id: "p1", order: "WH/MO/1", consumed: "COMP_A"),
            EventFixtures.completion(id: "p2", order: "WH/MO/2", consumed: "COMP_B"),
            EventFixtures.count(id: "c1", product: "COMP_A"),
        ], receivedAt: t0)
        var q = EventQuery()
        q.keys = [BusinessKey(.order, "WH/MO/2")]
        try expect(try await store.events(q).map(\.id) == ["p2"], "order key")
        q.keys = [BusinessKey(.product, "COMP_A")]
        try expect(try await store.events(q).map(\.id) == ["p1", "c1"], "product key, nested in consumed[] too")
        q.keys = [BusinessKey(.product, "COMP_A"), BusinessKey(.order, "WH/MO/1")]
        try expect(try await store.events(q).map(\.id) == ["p1"], "several keys all match")
        q = EventQuery()
        q.anyKey = "COMP_B"
        try expect(try await store.events(q).map(\.id) == ["p2"], "any key")
        q.anyKey = "LOT-1"
        try expect(try await store.events(q).count == 2, "lots are keys")
    }

    static func queryByTime(_ store: any Store) async throws {
        _ = try await store.append([
            EventFixtures.count(id: "early", time: "2026-11-22T08:00:00Z"),
            EventFixtures.count(id: "late", time: "2026-11-22T12:00:00+02:00"),
        ], receivedAt: t0)
        var q = EventQuery()
        q.since = RFC3339.parse("2026-11-22T09:00:00Z")
        try expect(try await store.events(q).map(\.id) == ["late"], "since is inclusive and offsets count (12:00+02:00 is 10:00Z)")
        q = EventQuery()
        q.until = RFC3339.parse("2026-11-22T10:00:00Z")
        try expect(try await store.events(q).map(\.id) == ["early"], "until is exclusive")
    }

    static func pagination(_ store: any Store) async throws {
        for chunk in stride(from: 0, to: 250, by: 50) {
            _ = try await store.append((chunk..<(chunk + 50)).map { EventFixtures.count(id: "n\($0)") }, receivedAt: t0)
        }
        var seen: [String] = []
        var q = EventQuery()
        q.limit = 100
        var pages = 0
        while true {
            let page = try await store.events(q)
            if page.isEmpty { break }
            pages += 1
            seen += page.map(\.id)
            q.after = page.last?.seq
        }
        try expect(pages == 3 && seen == (0..<250).map { "n\($0)" }, "3 pages, every event once, in order (got \(pages) pages, \(seen.count) events)")
    }

    static func newestFirst(_ store: any Store) async throws {
        _ = try await store.append((0..<20).map { EventFixtures.count(id: "n\($0)") }, receivedAt: t0)
        var q = EventQuery()
        q.limit = 3
        q.newestFirst = true
        try expect(try await store.events(q).map(\.id) == ["n17", "n18", "n19"], "the newest three, oldest of them first")
    }

    static func tokens(_ store: any Store) async throws {
        try expect(try await store.tokenCount() == 0, "a new store has no tokens")
        let record = TokenRecord(id: "t1", name: "mes-bridge", prefix: "mw_00000001", hash: "abc", scopes: ["events:publish:mfg.*", "events:read"], createdAt: t0, expiresAt: t0.addingTimeInterval(3600))
        try await store.insertToken(record)
        let found = try await store.token(hash: "abc")
        try expect(found?.name == "mes-bridge" && found?.scopes == record.scopes && found?.expiresAt == record.expiresAt, "found by hash with its scopes: \(String(describing: found))")
        try expect(try await store.token(hash: "nope") == nil, "an unknown hash finds nothing")
        try expect(try await store.tokenCount() == 1, "one token")
    }

    static func statistics(_ store: any Store) async throws {
        _ = try await store.append([EventFixtures.count(id: "a"), EventFixtures.count(id: "b"), EventFixtures.count(id: "b", quantity: 99)], receivedAt: t0)
        let stats = try await store.statistics()
        try expect(stats.events == 2 && stats.conflicts == 1 && stats.lastSeq >= 2 && stats.sizeBytes > 0, "statistics: \(stats)")
    }

    static func hookReceipts(_ store: any Store) async throws {
        let window = t0.addingTimeInterval(300)
        try expect(try await store.recordHookReceipt(source: "s", id: "msg_1", now: t0, until: window), "a first receipt is new")
        try expect(!(try await store.recordHookReceipt(source: "s", id: "msg_1", now: t0.addingTimeInterval(299), until: window)), "the same id inside its window is a replay")
        try expect(try await store.recordHookReceipt(source: "other", id: "msg_1", now: t0, until: window), "ids are scoped by hook source")
        try expect(try await store.recordHookReceipt(source: "s", id: "msg_1", now: t0.addingTimeInterval(300), until: t0.addingTimeInterval(600)), "after the window the id is forgotten")
        try await store.forgetHookReceipt(source: "s", id: "msg_1")
        try expect(try await store.recordHookReceipt(source: "s", id: "msg_1", now: t0.addingTimeInterval(301), until: t0.addingTimeInterval(600)), "a forgotten receipt can be recorded again")
    }

    static func approvals(_ store: any Store) async throws {
        let a = ApprovalRecord(
            id: "ap-1", action: "token.create", target: "mes-bridge", request: ["scopes": ["events:read"]], requestedBy: "mw_1 (alice)",
            requesterAccount: "alice", origin: "10.0.0.1", requestedAt: t0, expiresAt: t0.addingTimeInterval(3600)
        )
        try await store.insertApproval(a)
        try await store.insertApproval(ApprovalRecord(
            id: "ap-2", action: "token.revoke", target: "mw_2", request: [:], requestedBy: "b", requesterAccount: "b", origin: "local",
            requestedAt: t0.addingTimeInterval(1), expiresAt: t0.addingTimeInterval(3600)))
        try expect(try await store.approval(id: "ap-1") == a, "read back as stored")
        try expect(try await store.approvals(status: nil, limit: 10).map(\.id) == ["ap-2", "ap-1"], "newest first")
        try expect(try await store.decideApproval(id: "ap-1", status: .approved, by: "mw_3 (bob)", at: t0.addingTimeInterval(60), outcome: nil), "a pending approval is decided")
        try expect(!(try await store.decideApproval(id: "ap-1", status: .rejected, by: "mw_4 (carol)", at: t0.addingTimeInterval(61), outcome: nil)), "only once")
        try await store.recordApprovalOutcome(id: "ap-1", status: .approved, outcome: ["token": "mw_5"])
        let decided = try await store.approval(id: "ap-1")
        try expect(decided?.status == .approved && decided?.decidedBy == "mw_3 (bob)" && decided?.outcome == ["token": "mw_5"], "the decision and outcome: \(String(describing: decided))")
        try expect(try await store.approvals(status: .pending, limit: 10).map(\.id) == ["ap-2"], "filtered by status")
        try expect(try await store.approval(id: "nope") == nil, "an unknown id finds nothing")
    }
}
