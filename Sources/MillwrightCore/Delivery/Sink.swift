import Foundation

/// What a sink did with one event.
public enum SinkOutcome: Sendable, Hashable {
    /// The sink changed the target system.
    case applied(String)
    /// The target already had this effect: nothing changed (a redelivery or a replay).
    case alreadyApplied(String)
    /// May succeed later without anyone changing anything: retried with backoff.
    case transient(code: String, message: String, retryAfter: TimeInterval?)
    /// Will fail again until data or configuration changes: a dead letter with this reason.
    case permanent(code: String, message: String)
}

/// A destination of flows (Odoo, an outbound webhook, a file). A sink must be idempotent per event:
/// the delivery engine is at least once, and the sink makes the effect exactly once.
public protocol Sink: Sendable {
    /// The name flows use in `sink:` (`odoo`).
    var name: String { get }
    /// The operations this sink offers (`production.complete`), for validating flows.
    var operations: Set<String> { get }
    func deliver(_ event: StoredEvent, operation: String) async -> SinkOutcome
    /// Several events for one operation at once (a micro-batch): one outcome per event, in order. A sink
    /// that can merge them into one call of its target does so; by default they go one by one.
    func deliverBatch(_ events: [StoredEvent], operation: String) async -> [SinkOutcome]
    /// Whether each operation is a separate remote system (each outbound webhook subscription is its own
    /// endpoint): then the engine keeps one circuit breaker per operation, so one receiver that is down
    /// never holds back the others. Default: one breaker for the whole sink.
    var isolatesOperations: Bool { get }
}

extension Sink {
    public var isolatesOperations: Bool { false }

    public func deliverBatch(_ events: [StoredEvent], operation: String) async -> [SinkOutcome] {
        var outcomes: [SinkOutcome] = []
        for event in events { outcomes.append(await deliver(event, operation: operation)) }
        return outcomes
    }
}

/// When a failed delivery is tried again, and when it becomes a dead letter.
///
/// Two forms:
/// - exponential backoff with full jitter: attempt n waits a uniform time in
///   [0, min(maxDelay, initialDelay × 2^(n−1))]; after `maxAttempts` attempts the delivery is dead.
/// - a published `schedule`: the delays before each attempt, the first being the first attempt's
///   (`0`, immediately), no jitter; after the last one the delivery is dead. Outbound webhooks use
///   ``webhookSchedule``: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h.
///
/// ```swift
/// let backoff = RetryPolicy(maxAttempts: 12, initialDelay: 1, maxDelay: 600)
/// let published = RetryPolicy(schedule: [0, 5, 300])   // 3 attempts: now, +5 s, +5 min
/// ```
public struct RetryPolicy: Sendable, Hashable {
    public var maxAttempts: Int
    public var initialDelay: TimeInterval
    public var maxDelay: TimeInterval
    /// The delay before attempt n is `schedule[n − 1]`; `nil` for exponential backoff.
    public private(set) var schedule: [TimeInterval]?

    public init(maxAttempts: Int = 12, initialDelay: TimeInterval = 1, maxDelay: TimeInterval = 600) {
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    /// A published schedule: one attempt per entry, each after its delay (seconds) from the failure before
    /// it. `schedule[0]` is the first attempt's (normally 0). An empty schedule is one attempt.
    public init(schedule: [TimeInterval]) {
        let delays = schedule.isEmpty ? [0] : schedule.map { max(0, $0) }
        self.schedule = delays
        self.maxAttempts = delays.count
        self.initialDelay = delays.dropFirst().first ?? 0
        self.maxDelay = delays.max() ?? 0
    }

    /// Standard Webhooks / Svix-like: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h and 10 h after each
    /// failure: 7 attempts over about 17 h 35 min.
    public static let webhookSchedule: [TimeInterval] = [0, 5, 300, 1_800, 7_200, 18_000, 36_000]

    /// The wait after failed attempt `attempt` (1-based); `unit` is a uniform sample in [0, 1] (ignored by
    /// a schedule).
    public func delay(afterAttempt attempt: Int, unit: Double) -> TimeInterval {
        if let schedule {
            return schedule[min(max(attempt, 1), schedule.count - 1)]
        }
        let exponent = Double(min(max(attempt - 1, 0), 40))
        let cap = min(maxDelay, initialDelay * pow(2, exponent))
        return cap * min(max(unit, 0), 1)
    }
}
