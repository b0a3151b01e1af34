import Foundation
import Synchronization

/// One circuit breaker per sink, shared by every worker of a node.
///
/// Closed: deliveries run; `threshold` transient failures in a row open it. Open: nothing is sent to the
/// sink until `cooldown` has passed (doubling on each re-open, up to `maxCooldown`), so an Odoo outage
/// costs a bounded number of calls. Half-open: one delivery is let through as a probe; success closes the
/// breaker, a transient failure opens it again. Permanent errors (bad data) say nothing about the sink's
/// health and do not count.
public final class CircuitBreakers: Sendable {
    public enum Phase: String, Sendable { case closed, open, halfOpen = "half-open" }

    public struct State: Sendable, Hashable {
        public var phase: Phase = .closed
        public var consecutiveFailures = 0
        public var openUntil: Date?
        public var cooldown: TimeInterval
        public var probeInFlight = false
        public var opened = 0
    }

    public let threshold: Int
    public let initialCooldown: TimeInterval
    public let maxCooldown: TimeInterval
    private let states = Mutex<[String: State]>([:])

    public init(threshold: Int = 5, cooldown: TimeInterval = 15, maxCooldown: TimeInterval = 300) {
        self.threshold = max(1, threshold)
        self.initialCooldown = cooldown
        self.maxCooldown = max(cooldown, maxCooldown)
    }

    public func state(of sink: String) -> State {
        states.withLock { $0[sink] ?? State(cooldown: initialCooldown) }
    }

    /// What a worker may do with this sink now: send freely, send one probe, or nothing.
    public enum Permit: Sendable, Equatable { case open, probe, none }

    public func permit(_ sink: String, now: Date) -> Permit {
        states.withLock { all in
            var s = all[sink] ?? State(cooldown: initialCooldown)
            defer { all[sink] = s }
            switch s.phase {
            case .closed:
                return .open
            case .open:
                guard let until = s.openUntil, now >= until else { return .none }
                s.phase = .halfOpen
                s.probeInFlight = true
                return .probe
            case .halfOpen:
                if s.probeInFlight { return .none }
                s.probeInFlight = true
                return .probe
            }
        }
    }

    /// A probe permit that was not used (nothing was due): the next round may probe again.
    public func releaseProbe(_ sink: String) {
        states.withLock { all in all[sink]?.probeInFlight = false }
    }

    public enum Result: Sendable { case success, transientFailure, permanentFailure }

    public func record(_ sink: String, _ result: Result, now: Date) {
        states.withLock { all in
            var s = all[sink] ?? State(cooldown: initialCooldown)
            defer { all[sink] = s }
            switch result {
            case .success:
                s = State(cooldown: initialCooldown)
            case .permanentFailure:
                if s.phase == .halfOpen {
                    // The sink answered: it is up.
                    s = State(cooldown: initialCooldown)
                }
            case .transientFailure:
                s.consecutiveFailures += 1
                if s.phase == .halfOpen {
                    s.cooldown = min(maxCooldown, s.cooldown * 2)
                    s.phase = .open
                    s.openUntil = now.addingTimeInterval(s.cooldown)
                    s.probeInFlight = false
                    s.opened += 1
                } else if s.phase == .closed && s.consecutiveFailures >= threshold {
                    s.phase = .open
                    s.openUntil = now.addingTimeInterval(s.cooldown)
                    s.opened += 1
                }
            }
        }
    }
}
