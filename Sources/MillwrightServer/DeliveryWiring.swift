import Foundation
import Logging
import Metrics
import MillwrightCore
import MillwrightEngine
import MillwrightOdoo
import MillwrightSQLite
import ServiceLifecycle

extension MillwrightNode {
    /// The sinks this node has, by name, and their operations (to check flows even when a sink is off).
    public static var knownSinks: [String: Set<String>] { ["odoo": OdooSink.operationNames] }

    /// Loads the flows, keeps those whose sink is configured, and builds the router and one worker per
    /// priority (separate pools: bulk work never delays a production confirmation).
    func makeDelivery(store: SQLiteStore, now: @escaping @Sendable () -> Date, breakers: CircuitBreakers, metricsFactory: any MetricsFactory) throws -> ([Flow], [any Service]) {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: configuration.flowsDirectory, isDirectory: &isDirectory) && isDirectory.boolValue
        let loaded = exists ? try FlowLoader(sinks: Self.knownSinks).loadDirectory(configuration.flowsDirectory) : []
        var sinks: [any Sink] = []
        if let odoo = configuration.odoo {
            let settings = try odoo.settings(environment: environment)
            let lazy = LazyOdooOperations(settings: settings, journal: StoreOperationJournal(store: store)) { client, journal in
                OdooOperations(
                    client: client, journal: journal, stockLocation: LocationReference(rawValue: odoo.stockLocation),
                    quarantineLocation: LocationReference(rawValue: odoo.quarantineLocation), unitNames: odoo.unitNames)
            }
            sinks.append(OdooSink { () async throws(OdooError) -> OdooOperations in try await lazy.get() })
        }
        let available = Set(sinks.map(\.name))
        let flows = loaded.filter { $0.enabled && available.contains($0.sink) }
        for flow in loaded where !available.contains(flow.sink) {
            logger.info("flow inactive: its sink is not configured", metadata: ["mw.flow": "\(flow.name)", "mw.sink": "\(flow.sink)"])
        }
        guard !flows.isEmpty else {
            logger.info("no active flows: events are stored, nothing is delivered", metadata: ["mw.flows.directory": "\(configuration.flowsDirectory)"])
            return ([], [])
        }
        var workers: [DeliveryWorker] = []
        let node = ProcessInfo.processInfo.hostName + "/" + String(ProcessInfo.processInfo.processIdentifier)
        for priority in Flow.Priority.allCases {
            let group = flows.filter { $0.priority == priority }
            guard !group.isEmpty else { continue }
            workers.append(DeliveryWorker(
                store: store, flows: group, sinks: sinks, owner: "\(node)/\(priority.rawValue)", concurrency: configuration.deliveryConcurrency,
                lease: TimeInterval(configuration.deliveryLeaseSeconds),
                now: now, breakers: breakers, metricsFactory: metricsFactory, logger: logger))
        }
        let router = DeliveryRouter(store: store, flows: flows, now: now, wake: workers.map(\.doorbell), logger: logger)
        logger.info("delivering", metadata: ["mw.flows": "\(flows.map(\.name).joined(separator: ","))", "mw.sinks": "\(available.sorted().joined(separator: ","))"])
        return (flows, [router] + workers)
    }
}
