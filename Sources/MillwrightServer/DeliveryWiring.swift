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
    public static var knownSinks: [String: Set<String>] { ["odoo": OdooSink.operationNames, "odoo-capture": OdooCaptureSink.operationNames, "webhook": ["*"], "file": ["*"]] }

    /// What the delivery engine is made of: the flows of the flow files, its services, and the subscription manager.
    struct DeliveryParts {
        var flows: [Flow]
        var services: [any Service]
        var subscriptions: SubscriptionManager
    }

    /// Loads the flows and the webhook subscriptions, keeps the flows whose sink is configured, and builds
    /// the router, one worker per priority (separate pools: bulk work never delays a production
    /// confirmation) and one for webhook subscriptions (a slow receiver never delays Odoo).
    func makeDelivery(
        store: SQLiteStore, ingestor: Ingestor, routerBell: Doorbell = Doorbell(), now: @escaping @Sendable () -> Date, breakers: CircuitBreakers,
        metricsFactory: any MetricsFactory
    ) async throws -> DeliveryParts {
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
        var captureServices: [any Service] = []
        if let odoo = configuration.odoo {
            let settings = try odoo.settings(environment: environment)
            let client = LazyOdooClient(settings: settings)
            if odoo.capture.enabled {
                let capture = makeCapture(odoo, client: client, store: store, ingestor: ingestor)
                sinks.append(OdooCaptureSink { () async throws(OdooError) -> OdooChangeCapture in capture })
                captureServices.append(OdooCapturePoller(capture: capture, interval: .seconds(odoo.capture.pollIntervalSeconds), logger: logger))
                logger.info("Odoo change capture on", metadata: ["mw.odoo.poll_interval": "\(odoo.capture.pollIntervalSeconds)s"])
            }
            let lazy = LazyOdooOperations(client: client, journal: StoreOperationJournal(store: store)) { client, journal in
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
        let router = DeliveryRouter(
            store: store, flows: flows, now: now, doorbell: routerBell, wake: workers.map(\.doorbell), source: subscriptions.flows, logger: logger)
        logger.info("delivering", metadata: [
            "mw.flows": "\(flows.map(\.name).joined(separator: ","))", "mw.sinks": "\(available.sorted().joined(separator: ","))",
            "mw.subscriptions": "\(subscriptions.flows.routedFlows().count)",
        ])
        return DeliveryParts(flows: flows, services: [router] + workers + captureServices, subscriptions: subscriptions)
    }

    /// Change capture: reads Odoo through the shared client and appends what it finds through the same
    /// ingest path as the API (validation, dedupe on `(source, id)`, group commit).
    func makeCapture(_ odoo: OdooConfiguration, client: LazyOdooClient, store: SQLiteStore, ingestor: Ingestor) -> OdooChangeCapture {
        var settings = ChangeCaptureSettings()
        settings.overlap = TimeInterval(odoo.capture.overlapSeconds)
        settings.pageSize = odoo.capture.pageSize
        settings.unitNames = odoo.unitNames
        let logger = self.logger
        return OdooChangeCapture(
            client: { () async throws(OdooError) -> OdooClient in try await client.get() }, store: store, settings: settings,
            emit: { envelopes in try await Self.ingestCaptured(envelopes, ingestor: ingestor, logger: logger) }, logger: logger)
    }

    static func ingestCaptured(_ envelopes: [JSONValue], ingestor: Ingestor, logger: Logger) async throws {
        var events: [NewEvent] = []
        for envelope in envelopes {
            do { events.append(try ingestor.decoder.decode(envelope)) } catch {
                // A canonical event Millwright made itself that its catalogue refuses is a bug: say which.
                throw CapturedEventRejected(id: envelope["id"]?.stringValue ?? "?", reasons: error.errors.map(\.description))
            }
        }
        for outcome in try await ingestor.ingest(events) {
            if case .conflict(let existing, _) = outcome {
                logger.warning("change capture produced a different event under an existing id", metadata: ["mw.event.id": "\(existing.id)"])
            }
        }
    }
}

/// The poll path of change capture: a `Service` whose `run()` polls Odoo every interval until shutdown.
/// A failed poll (Odoo down) is logged and tried again at the next interval; the watermark only moves
/// after a poll succeeds, so nothing is skipped.
public struct OdooCapturePoller: Service {
    let capture: OdooChangeCapture
    let interval: Duration
    let clock: any Clock<Duration>
    let logger: Logger

    public init(capture: OdooChangeCapture, interval: Duration, clock: any Clock<Duration> = ContinuousClock(), logger: Logger) {
        self.capture = capture
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    /// Polls start one interval apart (not one interval after the previous poll ended), so a change whose
    /// webhook was lost is captured at most one interval plus one poll after it was committed.
    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let took = await clock.measure { await pollOnce() }
                try await clock.sleep(for: took < interval ? interval - took : .zero)
            }
        }
    }

    /// One poll, its failure logged (never thrown: the next interval tries again).
    public func pollOnce() async {
        do {
            let result = try await capture.poll()
            if result.emitted > 0 {
                logger.info("Odoo change capture polled", metadata: ["mw.odoo.records": "\(result.records)", "mw.events": "\(result.emitted)"])
            }
        } catch {
            logger.warning("Odoo change capture poll failed; the next poll tries again", metadata: ["mw.error": "\(error)"])
        }
    }
}

/// A canonical event change capture made that the catalogue refuses: a bug in the mapping, named.
struct CapturedEventRejected: Error, CustomStringConvertible {
    var id: String
    var reasons: [String]
    var description: String { "captured event \(id) is not valid: \(reasons.joined(separator: "; "))" }
}
