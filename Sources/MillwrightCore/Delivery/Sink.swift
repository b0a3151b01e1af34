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
}

extension Sink {
    public func deliverBatch(_ events: [StoredEvent], operation: String) async -> [SinkOutcome] {
        var outcomes: [SinkOutcome] = []
        for event in events { outcomes.append(await deliver(event, operation: operation)) }
        return outcomes
    }
}

/// Retries with exponential backoff and full jitter: attempt n waits a uniform time in
/// [0, min(maxDelay, initialDelay × 2^(n−1))]; after `maxAttempts` attempts the delivery is dead.
public struct RetryPolicy: Sendable, Hashable {
    public var maxAttempts: Int
    public var initialDelay: TimeInterval
    public var maxDelay: TimeInterval

    public init(maxAttempts: Int = 12, initialDelay: TimeInterval = 1, maxDelay: TimeInterval = 600) {
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    /// The wait after failed attempt `attempt` (1-based); `unit` is a uniform sample in [0, 1].
    public func delay(afterAttempt attempt: Int, unit: Double) -> TimeInterval {
        let exponent = Double(min(max(attempt - 1, 0), 40))
        let cap = min(maxDelay, initialDelay * pow(2, exponent))
        return cap * min(max(unit, 0), 1)
    }
}
