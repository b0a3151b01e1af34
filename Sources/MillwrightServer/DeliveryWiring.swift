import Foundation
import Logging
import Metrics
import MillwrightAPI
import MillwrightCore
import MillwrightEngine
import MillwrightFiles
import MillwrightOdoo
import MillwrightSQLite
import MillwrightWebhooks
import ServiceLifecycle

/// The subscription manager is where the webhook sink finds endpoints and reports their health.
extension SubscriptionManager: WebhookEndpoints {}

extension MillwrightNode {
    /// The sinks this node has, by name, and their operations (to check flows even when a sink is off).
    /// `*`: any operation (file targets are checked when the node starts; subscription ids at delivery).
    public static var knownSinks: [String: Set<String>] { ["odoo": OdooSink.operationNames, "webhook": ["*"], "file": ["*"]] }

    /// What the delivery engine is made of: the flows of the flow files, its services, and the subscription manager.
    struct DeliveryParts {
        var flows: [Flow]
        var services: [any Service]
        var subscriptions: SubscriptionManager
    }

    /// Loads the flows and the webhook subscriptions, keeps the flows whose sink is configured, and builds
    /// the router, one worker per priority (separate pools: bulk work never delays a production
    /// confirmation) and one for webhook subscriptions (a slow receiver never delays Odoo).
    func makeDelivery(store: SQLiteStore, now: @escaping @Sendable () -> Date, breakers: CircuitBreakers, metricsFactory: any MetricsFactory) async throws -> DeliveryParts {
        let subscriptions = SubscriptionManager(store: store, hasher: Governance.hasher, now: now, metricsFactory: metricsFactory, logger: logger)
        try await subscriptions.load()
        // File targets are configuration, checked now; subscriptions change at run time, so a flow naming one
        // that does not exist (any more) is not a start-up error: its messages are dead letters saying so.
        var known = Self.knownSinks
        known["file"] = Set(configuration.files.map(\.name))
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: configuration.flowsDirectory, isDirectory: &isDirectory) && isDirectory.boolValue
        let loaded = exists ? try FlowLoader(sinks: known).loadDirectory(configuration.flowsDirectory) : []
        let webhooks = WebhookSink(endpoints: subscriptions, timeout: TimeInterval(configuration.webhookTimeoutSeconds), now: now, logger: logger)
        var sinks: [any Sink] = [webhooks]
        if !configuration.files.isEmpty { sinks.append(FileSink(targets: configuration.files, journal: store, now: now)) }
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
        if flows.isEmpty {
            logger.info("no active flows: events are stored, and sent only to webhook subscriptions", metadata: ["mw.flows.directory": "\(configuration.flowsDirectory)"])
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
        workers.append(DeliveryWorker(
            store: store, flows: [], sinks: sinks, owner: "\(node)/webhooks", concurrency: configuration.webhookConcurrency,
            lease: TimeInterval(configuration.deliveryLeaseSeconds), now: now, breakers: breakers, source: subscriptions.flows,
            metricsFactory: metricsFactory, logger: logger))
        let router = DeliveryRouter(store: store, flows: flows, now: now, wake: workers.map(\.doorbell), source: subscriptions.flows, logger: logger)
        logger.info("delivering", metadata: [
            "mw.flows": "\(flows.map(\.name).joined(separator: ","))", "mw.sinks": "\(available.sorted().joined(separator: ","))",
            "mw.subscriptions": "\(subscriptions.flows.routedFlows().count)",
        ])
        return DeliveryParts(flows: flows, services: [router] + workers, subscriptions: subscriptions)
    }
}
