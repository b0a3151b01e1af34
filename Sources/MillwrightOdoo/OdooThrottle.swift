import Foundation

/// Bounds what Millwright asks of one Odoo instance: at most `maxConcurrent` calls in flight (Odoo has
/// few workers, and a full listen backlog resets connections instead of queueing them) and at most
/// `ratePerSecond` calls started per second on average, with bursts up to `burst` (a token bucket).
///
/// Waiters are served in arrival order. Time comes from the injected `now`/`sleep`, so tests need no
/// real waiting.
public actor OdooThrottle {
    public let maxConcurrent: Int
    public let ratePerSecond: Double?
    public let burst: Double
    private let now: @Sendable () -> Duration
    private let sleep: @Sendable (Duration) async throws -> Void

    private var inFlight = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var tokens: Double
    private var refilledAt: Duration

    public init(
        maxConcurrent: Int, ratePerSecond: Double?, burst: Int? = nil,
        now: @escaping @Sendable () -> Duration = OdooThrottle.monotonicNow,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.maxConcurrent = max(1, maxConcurrent)
        self.ratePerSecond = ratePerSecond.flatMap { $0 > 0 ? $0 : nil }
        self.burst = Double(max(1, burst ?? Int((ratePerSecond ?? 1).rounded(.up))))
        self.now = now
        self.sleep = sleep
        self.tokens = self.burst
        self.refilledAt = now()
    }

    private static let epoch = ContinuousClock.now

    @Sendable public static func monotonicNow() -> Duration {
        ContinuousClock.now - epoch
    }

    /// Runs `body` once a slot and a rate token are available.
    public func run<T: Sendable, E: Error>(_ body: @Sendable () async throws(E) -> T) async throws(E) -> T {
        await acquireSlot()
        await takeToken()
        defer { releaseSlot() }
        return try await body()
    }

    public var callsInFlight: Int { inFlight }
    public var callsWaiting: Int { waiters.count }

    private func acquireSlot() async {
        if inFlight < maxConcurrent {
            inFlight += 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
        // The releasing call handed its slot over: `inFlight` already counts this call.
    }

    private func releaseSlot() {
        if waiters.isEmpty {
            inFlight -= 1
        } else {
            waiters.removeFirst().resume()
        }
    }

    private func takeToken() async {
        guard let rate = ratePerSecond else { return }
        while true {
            let current = now()
            let elapsed = current - refilledAt
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            tokens = min(burst, tokens + seconds * rate)
            refilledAt = current
            if tokens >= 1 {
                tokens -= 1
                return
            }
            let wait = (1 - tokens) / rate
            do {
                try await sleep(.nanoseconds(Int64((wait * 1e9).rounded(.up))))
            } catch {
                return  // cancelled: let the call start and fail on its own cancellation
            }
        }
    }
}
