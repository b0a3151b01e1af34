import Foundation
import Synchronization

/// A wall clock that moves only when a test moves it: engines, verifiers and limiters take `closure`, so
/// tests wait for nothing (CONVENTIONS: inject clocks, never sleep for work).
public final class TestClock: Sendable {
    private let value: Mutex<Date>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { value = Mutex(start) }

    public var now: Date { value.withLock { $0 } }
    public func read() -> Date { now }
    public func advance(_ seconds: TimeInterval) { value.withLock { $0 = $0.addingTimeInterval(seconds) } }
    /// The clock as the closure that nodes, verifiers and limiters take.
    public var closure: @Sendable () -> Date { { [self] in read() } }
}
