import Foundation
import Logging
import MillwrightCore
import MillwrightServer
import MillwrightSQLite
import MillwrightTesting
import Synchronization
import Testing

@testable import MillwrightOdoo

/// A clock that only moves when the test says so, and tells the test when someone starts to sleep on it.
final class ManualClock: Clock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (a: Instant, b: Instant) -> Bool { a.offset < b.offset }
    }

    private struct Sleeper {
        var until: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private let state = Mutex<(now: Instant, sleepers: [Sleeper])>((Instant(offset: .zero), []))
    let sleeps: AsyncStream<Instant>
    private let sleepsContinuation: AsyncStream<Instant>.Continuation

    init() { (sleeps, sleepsContinuation) = AsyncStream<Instant>.makeStream() }

    var now: Instant { state.withLock { $0.now } }
    var minimumResolution: Duration { .nanoseconds(1) }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let due = state.withLock { s -> Bool in
                    if deadline <= s.now { return true }
                    s.sleepers.append(Sleeper(until: deadline, continuation: continuation))
                    return false
                }
                if due { continuation.resume() } else { sleepsContinuation.yield(deadline) }
            }
        } onCancel: {
            let all = state.withLock { s -> [Sleeper] in
                defer { s.sleepers = [] }
                return s.sleepers
            }
            for sleeper in all { sleeper.continuation.resume(throwing: CancellationError()) }
        }
    }

    func advance(by duration: Duration) {
        let due = state.withLock { s -> [Sleeper] in
            s.now = s.now.advanced(by: duration)
            let due = s.sleepers.filter { $0.until <= s.now }
            s.sleepers.removeAll { $0.until <= s.now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}

/// The poller as a service: it polls, sleeps one interval on its clock, polls again. With a manual clock
/// the test sees a lost webhook's change emitted exactly when one interval has passed, never before.
@Suite("Odoo change capture poller")
struct CapturePollerTests {
    @Test func aLostWebhooksChangeIsEmittedAfterOnePollInterval() async throws {
        try await withOdooSimulator { sim in
            let client = try await SimulatorTests.client(sim)
            let store = try SQLiteStore(path: ChangeCaptureTests.temporaryDirectory() + ".sqlite")
            let emitted = Mutex<[JSONValue]>([])
            var logger = Logger(label: "poller-test")
            logger.logLevel = .critical
            let capture = OdooChangeCapture(
                client: { () async throws(OdooError) -> OdooClient in client }, store: store,
                emit: { events in emitted.withLock { $0 += events } }, logger: logger)
            let clock = ManualClock()
            let poller = OdooCapturePoller(capture: capture, interval: .seconds(30), clock: clock, logger: logger)
            var sleeps = clock.sleeps.makeAsyncIterator()
            let running = Task { try await poller.run() }

            _ = await sleeps.next()  // the first poll (the watermark) is done; the poller sleeps 30 s
            sim.dropWebhooks(true)
            let order = try await ChangeCaptureTests.order(client)
            try await ChangeCaptureTests.confirm(client, order.id)
            func kinds() -> [String] {
                emitted.withLock { $0 }.filter { $0["partitionkey"]?.stringValue == order.name }.compactMap { $0["type"]?.stringValue }
            }
            clock.advance(by: .seconds(29))
            #expect(kinds().isEmpty, "nothing before the interval is over")
            clock.advance(by: .seconds(1))
            _ = await sleeps.next()  // the second poll is done
            #expect(kinds() == [ProductionOrderReleased.eventType, ProductionOrderStatusChanged.eventType])

            running.cancel()
            _ = try? await running.value
            try await store.close()
        }
    }
}
