import Foundation
import MillwrightCore
import Synchronization

/// A sink for engine tests: records every delivery it is given and answers what the test scripted
/// (per event id, in order; `applied` when nothing is scripted).
public final class RecordingSink: Sink {
    public let name: String
    public let operations: Set<String>
    private let state = Mutex<(calls: [(seq: Int64, id: String, operation: String, envelope: String)], script: [String: [SinkOutcome]], outage: SinkOutcome?)>(([], [:], nil))

    public init(name: String = "recording", operations: Set<String> = ["record"]) {
        self.name = name
        self.operations = operations
    }

    /// The next deliveries of event `id` answer these outcomes, one each.
    public func script(_ id: String, _ outcomes: SinkOutcome...) {
        state.withLock { $0.script[id, default: []].append(contentsOf: outcomes) }
    }

    /// While set, every delivery answers `outcome` (the target system is down); `nil` ends the outage.
    public func outage(_ outcome: SinkOutcome?) {
        state.withLock { $0.outage = outcome }
    }

    private let batchSizes = Mutex<[Int]>([])

    /// The size of every `deliverBatch` call, in order.
    public var batches: [Int] { batchSizes.withLock { $0 } }

    public func deliverBatch(_ events: [StoredEvent], operation: String) async -> [SinkOutcome] {
        batchSizes.withLock { $0.append(events.count) }
        var outcomes: [SinkOutcome] = []
        for event in events { outcomes.append(await deliver(event, operation: operation)) }
        return outcomes
    }

    /// The envelopes the sink was given (after the flow's steps), in order.
    public var envelopes: [String] { state.withLock { $0.calls.map(\.envelope) } }

    /// Event ids in the order they were delivered (every attempt).
    public var delivered: [String] { state.withLock { $0.calls.map(\.id) } }

    public func deliver(_ event: StoredEvent, operation: String) async -> SinkOutcome {
        state.withLock { s in
            s.calls.append((event.seq, event.id, operation, event.envelope))
            if let outage = s.outage { return outage }
            if var queue = s.script[event.id], !queue.isEmpty {
                let next = queue.removeFirst()
                s.script[event.id] = queue
                return next
            }
            return .applied("recorded \(event.id)")
        }
    }
}
