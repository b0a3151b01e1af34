import Foundation
import Logging
import Metrics
import MillwrightCore
import MillwrightEngine
import MillwrightSQLite
import MillwrightTesting
import Synchronization
import Testing

/// A store whose first append waits until the test opens the gate, and that records each append's size.
final class GatedStore: Store {
    let inner: any Store
    let sizes = Mutex<[Int]>([])
    let entered: AsyncStream<Void>
    let enteredContinuation: AsyncStream<Void>.Continuation
    let gate: AsyncStream<Void>
    let gateContinuation: AsyncStream<Void>.Continuation

    init(_ inner: any Store) {
        self.inner = inner
        (entered, enteredContinuation) = AsyncStream.makeStream()
        (gate, gateContinuation) = AsyncStream.makeStream()
    }

    func append(_ events: [NewEvent], receivedAt: Date) async throws -> [AppendOutcome] {
        let isFirst = sizes.withLock { sizes in
            sizes.append(events.count)
            return sizes.count == 1
        }
        if isFirst {
            enteredContinuation.yield()
            for await _ in gate { break }
        }
        return try await inner.append(events, receivedAt: receivedAt)
    }

    func events(_ query: EventQuery) async throws -> [StoredEvent] { try await inner.events(query) }
    func conflicts(source: String, id: String) async throws -> [ConflictRecord] { try await inner.conflicts(source: source, id: id) }
    func insertToken(_ token: TokenRecord) async throws { try await inner.insertToken(token) }
    func token(hash: String) async throws -> TokenRecord? { try await inner.token(hash: hash) }
    func tokenCount() async throws -> Int { try await inner.tokenCount() }
    func statistics() async throws -> StoreStatistics { try await inner.statistics() }
    func close() async throws { try await inner.close() }
    func tokens(account: String?) async throws -> [TokenRecord] { try await inner.tokens(account: account) }
    func updateToken(id: String, expiresAt: Date?, revokedAt: Date?) async throws { try await inner.updateToken(id: id, expiresAt: expiresAt, revokedAt: revokedAt) }
    func createServiceAccount(_ account: ServiceAccount) async throws -> Bool { try await inner.createServiceAccount(account) }
    func serviceAccounts() async throws -> [ServiceAccount] { try await inner.serviceAccounts() }
    func appendAudit(_ draft: AuditDraft, hasher: AuditHasher) async throws -> AuditEntry { try await inner.appendAudit(draft, hasher: hasher) }
    func auditEntries(after: Int64?, limit: Int) async throws -> [AuditEntry] { try await inner.auditEntries(after: after, limit: limit) }
    func recordHookReceipt(source: String, id: String, now: Date, until: Date) async throws -> Bool {
        try await inner.recordHookReceipt(source: source, id: id, now: now, until: until)
    }
    func forgetHookReceipt(source: String, id: String) async throws { try await inner.forgetHookReceipt(source: source, id: id) }
    func insertApproval(_ approval: ApprovalRecord) async throws { try await inner.insertApproval(approval) }
    func approval(id: String) async throws -> ApprovalRecord? { try await inner.approval(id: id) }
    func approvals(status: ApprovalRecord.Status?, limit: Int) async throws -> [ApprovalRecord] { try await inner.approvals(status: status, limit: limit) }
    func decideApproval(id: String, status: ApprovalRecord.Status, by: String, at: Date, outcome: JSONValue?) async throws -> Bool {
        try await inner.decideApproval(id: id, status: status, by: by, at: at, outcome: outcome)
    }
    func recordApprovalOutcome(id: String, status: ApprovalRecord.Status, outcome: JSONValue?) async throws {
        try await inner.recordApprovalOutcome(id: id, status: status, outcome: outcome)
    }
}

@Suite("Group commit")
struct GroupCommitTests {
    func makeStore() throws -> (SQLiteStore, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mw-gc-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return (try SQLiteStore(path: dir + "/m.sqlite", durability: .normal), dir)
    }

    @Test func requestsThatArriveDuringACommitShareTheNextOne() async throws {
        let (sqlite, dir) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = GatedStore(sqlite)
        let committer = GroupCommitter(store: store, metricsFactory: NOOPMetricsHandler.instance, logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await committer.run() }
            // The first request starts a commit that the gate holds open…
            group.addTask { _ = try await committer.append([EventFixtures.count(id: "first")]) }
            for await _ in store.entered { break }
            // …while 20 more arrive from concurrent callers.
            let outcomes = try await withThrowingTaskGroup(of: [AppendOutcome].self) { callers in
                for i in 0..<20 {
                    callers.addTask { try await committer.append([EventFixtures.count(id: "e\(i)")]) }
                }
                var spins = 0
                while committer.queuedEvents < 20 && spins < 1_000_000 {
                    await Task.yield()
                    spins += 1
                }
                store.gateContinuation.yield()
                var all: [AppendOutcome] = []
                for try await result in callers { all += result }
                return all
            }
            #expect(store.sizes.withLock { $0 } == [1, 20], "one transaction for the first, one shared by the 20 others")
            #expect(outcomes.count == 20)
            group.cancelAll()
        }
        #expect(try await sqlite.statistics().events == 21)
    }

    @Test func aRequestLargerThanTheBatchLimitIsCommittedWhole() async throws {
        let (sqlite, dir) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let committer = GroupCommitter(store: sqlite, maxBatchEvents: 10, metricsFactory: NOOPMetricsHandler.instance, logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await committer.run() }
            let outcomes = try await committer.append((0..<25).map { EventFixtures.count(id: "big\($0)") })
            #expect(outcomes.count == 25)
            group.cancelAll()
        }
    }

    @Test func afterShutdownNewEventsAreRefusedNotLost() async throws {
        let (sqlite, dir) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let committer = GroupCommitter(store: sqlite, metricsFactory: NOOPMetricsHandler.instance, logger: Logger(label: "test"))
        let runner = Task { try await committer.run() }
        defer { runner.cancel() }
        _ = try await committer.append([EventFixtures.count(id: "before")])
        runner.cancel()
        _ = try? await runner.value
        await #expect(throws: CommitError.self) { try await committer.append([EventFixtures.count(id: "after")]) }
        #expect(try await sqlite.events(EventQuery()).map(\.id) == ["before"])
    }
}
