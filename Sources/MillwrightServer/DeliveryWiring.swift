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
    public static var knownSinks: [String: Set<String>] { ["odoo": OdooSink.operationNames, "odoo-capture": OdooCaptureSink.operationNames] }

    /// Loads the flows, keeps those whose sink is configured, and builds the router and one worker per
    /// priority (separate pools: bulk work never delays a production confirmation).
    func makeDelivery(
        store: SQLiteStore, ingestor: Ingestor, now: @escaping @Sendable () -> Date, breakers: CircuitBreakers, metricsFactory: any MetricsFactory
    ) throws -> ([Flow], [any Service]) {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: configuration.flowsDirectory, isDirectory: &isDirectory) && isDirectory.boolValue
        let loaded = exists ? try FlowLoader(sinks: Self.knownSinks).loadDirectory(configuration.flowsDirectory) : []
        var sinks: [any Sink] = []
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
        guard !flows.isEmpty else {
            logger.info("no active flows: events are stored, nothing is delivered", metadata: ["mw.flows.directory": "\(configuration.flowsDirectory)"])
            return ([], captureServices)
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
        return (flows, [router] + workers + captureServices)
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
