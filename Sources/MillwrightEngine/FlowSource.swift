import Foundation
import MillwrightCore
import Synchronization

/// Flows that change while the node runs (outbound webhook subscriptions): the router and the workers read
/// it at every round, so a created, changed or disabled subscription takes effect without a restart.
public protocol FlowSource: Sendable {
    /// Flows the router sends new events to.
    func routedFlows() -> [Flow]
    /// The routed flows whose deliveries may be attempted now. A flow routed but not delivered is held:
    /// its deliveries are kept, unattempted, until it is delivered again (a disabled subscription).
    func deliveredFlows() -> [Flow]
}

/// A ``FlowSource`` whose flows are replaced as a whole (by the subscription manager).
public final class DynamicFlows: FlowSource {
    private let state = Mutex<(routed: [Flow], held: Set<String>)>(([], []))

    public init(routed: [Flow] = [], held: Set<String> = []) {
        state.withLock { $0 = (routed, held) }
    }

    /// Replaces every flow; `held` names the ones whose deliveries wait.
    public func replace(routed: [Flow], held: Set<String>) {
        state.withLock { $0 = (routed, held) }
    }

    public func routedFlows() -> [Flow] { state.withLock { $0.routed } }

    public func deliveredFlows() -> [Flow] { state.withLock { s in s.routed.filter { !s.held.contains($0.name) } } }
}

extension DeliveryWorker {
    /// The breaker a flow's deliveries count against: its sink's, or for a sink whose operations are
    /// separate systems (``Sink/isolatesOperations``) its operation's (`webhook/sub_…`).
    func breakerKey(_ flow: Flow) -> String {
        sinks[flow.sink]?.isolatesOperations == true ? flow.sink + "/" + flow.operation : flow.sink
    }
}
