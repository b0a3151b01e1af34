import Foundation
import Logging
import Metrics
import MillwrightCore
import ServiceLifecycle
import Synchronization

/// Group commit: appends from many concurrent requests share one store transaction.
///
/// While one transaction is on its way to disk, new requests queue up; the next transaction takes
/// all of them (up to ``maxBatchEvents``). With `fsync` on every commit, this is what lets many
/// clients ingest far faster than one commit per event allows, and no request is acknowledged
/// before its commit.
///
/// `run()` is the commit loop. On graceful shutdown it stops accepting, commits what is queued, and returns.
public final class GroupCommitter: Service, Sendable {
    struct Job: Sendable {
        var events: [NewEvent]
        var continuation: CheckedContinuation<[AppendOutcome], any Error>
    }

    struct State: ~Copyable {
        var pending: [Job] = []
        var accepting = true
    }

    public let maxBatchEvents: Int
    let store: any Store
    let now: @Sendable () -> Date
    let logger: Logger
    let state = Mutex(State())
    let doorbell: AsyncStream<Void>
    let ring: AsyncStream<Void>.Continuation
    let batchSizes: Recorder
    let commitDuration: Metrics.Timer
    let commitFailures: Counter

    /// - Parameters:
    ///   - store: where events are appended.
    ///   - maxBatchEvents: the most events one transaction takes (a single request larger than this is still committed whole).
    ///   - now: the clock that stamps `received_at`.
    ///   - metricsFactory: where commit metrics go.
    ///   - logger: for commit failures.
    public init(
        store: any Store,
        maxBatchEvents: Int = 2_000,
        now: @escaping @Sendable () -> Date = { Date() },
        metricsFactory: any MetricsFactory,
        logger: Logger
    ) {
        self.store = store
        self.maxBatchEvents = max(1, maxBatchEvents)
        self.now = now
        self.logger = logger
        (doorbell, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        batchSizes = Recorder(label: "mw_store_commit_batch_events", factory: metricsFactory)
        commitDuration = Metrics.Timer(label: "mw_store_commit_duration_seconds", factory: metricsFactory)
        commitFailures = Counter(label: "mw_store_commit_failures_total", factory: metricsFactory)
    }

    /// Appends `events` durably, sharing a transaction with concurrent callers.
    /// Returns only after the transaction has committed.
    /// - Throws: ``CommitError`` when shutting down, or the store's error when the commit failed.
    public func append(_ events: [NewEvent]) async throws -> [AppendOutcome] {
        if events.isEmpty { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let accepted = state.withLock { state in
                guard state.accepting else { return false }
                state.pending.append(Job(events: events, continuation: continuation))
                return true
            }
            if accepted {
                ring.yield()
            } else {
                continuation.resume(throwing: CommitError(code: .shuttingDown, message: "Millwright is shutting down and accepts no new events; retry against a running node"))
            }
        }
    }

    /// Events accepted and waiting for the next transaction.
    public var queuedEvents: Int {
        state.withLock { $0.pending.reduce(0) { $0 + $1.events.count } }
    }

    public func run() async throws {
        for await _ in doorbell.cancelOnGracefulShutdown() {
            await commitPending()
        }
        // Graceful shutdown (or cancellation): refuse new work, then commit what was already accepted.
        state.withLock { $0.accepting = false }
        ring.finish()
        await commitPending()
    }

    /// Commits queued jobs, one transaction per round, until the queue is empty.
    func commitPending() async {
        while true {
            let jobs: [Job] = state.withLock { state in
                var taken = 0
                var count = 0
                for job in state.pending {
                    if count > 0 && count + job.events.count > maxBatchEvents { break }
                    count += job.events.count
                    taken += 1
                }
                let jobs = Array(state.pending.prefix(taken))
                state.pending.removeFirst(taken)
                return jobs
            }
            if jobs.isEmpty { return }
            let events = jobs.flatMap(\.events)
            let started = ContinuousClock.now
            do {
                let outcomes = try await store.append(events, receivedAt: now())
                commitDuration.recordInterval(since: started)
                batchSizes.record(events.count)
                var offset = 0
                for job in jobs {
                    job.continuation.resume(returning: Array(outcomes[offset..<(offset + job.events.count)]))
                    offset += job.events.count
                }
            } catch {
                commitFailures.increment()
                logger.error("commit failed; the requests in it are answered with an error and nothing of them was acknowledged", metadata: [
                    "mw.commit.events": "\(events.count)", "mw.error": "\(error)",
                ])
                for job in jobs { job.continuation.resume(throwing: error) }
            }
        }
    }
}

extension Metrics.Timer {
    /// Records the time elapsed since `start`.
    public func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// An error of the ingest path, with a stable code.
public struct CommitError: Error, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let shuttingDown = Code(rawValue: "MW-INGEST-0001")
    }

    public var code: Code
    public var message: String
    public var description: String { "\(code.rawValue): \(message)" }
}
