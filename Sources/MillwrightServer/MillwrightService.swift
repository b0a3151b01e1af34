import Foundation
import Hummingbird
import Logging
import MillwrightAPI
import MillwrightCore
import MillwrightEngine
import MillwrightSQLite
import Prometheus
import ServiceLifecycle
import UnixSignals
import Synchronization

/// The composition root: configuration in, a running Millwright node out.
///
/// Picks the concrete store (SQLite), wires ingest, the API and metrics, and runs them in one
/// `ServiceGroup` that shuts down gracefully on SIGTERM/SIGINT: the HTTP server stops accepting and
/// finishes in-flight requests, group commit commits what it accepted, then the store closes.
public struct MillwrightNode {
    public let configuration: MillwrightConfiguration
    public let environment: [String: String]
    let logger: Logger

    public init(configuration: MillwrightConfiguration, environment: [String: String], logger: Logger) {
        self.configuration = configuration
        self.environment = environment
        self.logger = logger
    }

    /// Everything a node is made of, built but not yet running. Tests use this with HummingbirdTesting.
    public struct Parts {
        public let store: SQLiteStore
        public let committer: GroupCommitter
        public let router: Router<MillwrightRequestContext>
        public let registry: PrometheusCollectorRegistry
        public let readiness: Readiness
        /// The delivery router, one worker per priority with flows, and the webhook subscriptions' worker.
        public let deliveryServices: [any Service]
        public let flows: [Flow]
        /// Outbound webhook subscriptions.
        public let subscriptions: SubscriptionManager
    }

    /// Opens the store, makes the first admin token if needed, and builds the router.
    public func build(now: @escaping @Sendable () -> Date = { Date() }) async throws -> Parts {
        let hooks = try configuration.resolvedHooks(environment: environment)
        try Self.prepareDataDirectory(configuration.dataDirectory)
        let store = try SQLiteStore(path: configuration.databasePath, durability: configuration.durability)
        let bootstrapToken = environment["MILLWRIGHT_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        if bootstrapToken != nil {
            logger.info("accepting the bootstrap admin token from MILLWRIGHT_ADMIN_TOKEN")
        } else if try await store.tokenCount() == 0 {
            try await createFirstAdminToken(store: store, now: now())
        }

        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
        ]
        factory.valueHistogramBuckets["mw_store_commit_batch_events"] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]

        let committer = GroupCommitter(
            store: store, maxBatchEvents: configuration.commitMaxBatchEvents, now: now,
            metricsFactory: factory, logger: logger
        )
        // Ingest rings the router when it commits new events: delivery starts without waiting for a poll.
        let routerBell = Doorbell()
        let ingestor = Ingestor(decoder: EventDecoder(catalogue: .v1), committer: committer, metricsFactory: factory, logger: logger, appended: routerBell)
        let readiness = Readiness()
        let sizeGauge = registry.makeGauge(descriptor: .init(
            namespace: "mw", subsystem: "store", metricName: "size", unitName: "bytes", helpText: "Size of the event store on disk, WAL included."))
        let eventsGauge = registry.makeGauge(descriptor: .init(
            namespace: "mw", subsystem: "store", metricName: "events", unitName: "", helpText: "Events in the log."))
        let conflictsGauge = registry.makeGauge(descriptor: .init(
            namespace: "mw", subsystem: "store", metricName: "conflicts", unitName: "", helpText: "Conflicting submissions kept for inspection."))
        let logger = self.logger
        let breakers = CircuitBreakers()
        let delivery = try await makeDelivery(store: store, ingestor: ingestor, routerBell: routerBell, now: now, breakers: breakers, metricsFactory: factory)
        let (flows, deliveryServices, subscriptions) = (delivery.flows, delivery.services, delivery.subscriptions)
        var deps = APIDependencies(
            store: store,
            ingestor: ingestor,
            verifier: TokenVerifier(store: store, bootstrapToken: bootstrapToken, now: now),
            configuration: configuration.api,
            metricsFactory: factory,
            renderMetrics: {
                do {
                    let stats = try await store.statistics()
                    sizeGauge.set(Double(stats.sizeBytes))
                    eventsGauge.set(Double(stats.events))
                    conflictsGauge.set(Double(stats.conflicts))
                    for flow in flows + subscriptions.flows.routedFlows() {
                        let counts = try await store.deliveryCounts(flow: flow.name)
                        let backlog = (counts[.pending] ?? 0) + (counts[.retrying] ?? 0) + (counts[.inFlight] ?? 0)
                        registry.makeGauge(descriptor: .init(
                            namespace: "mw", subsystem: "flow", metricName: "backlog", unitName: "", helpText: "Deliveries of a flow not yet done or dead."),
                            labels: [("flow", flow.name)])
                            .set(Double(backlog))
                    }
                } catch {
                    logger.warning("could not read store statistics for /metrics", metadata: ["mw.error": "\(error)"])
                }
                return registry.emitToString()
            },
            isReady: { readiness.isReady },
            hooks: hooks,
            now: now
        )
        deps.deliveries = store
        deps.xrefs = store
        deps.flows = flows
        deps.subscriptions = subscriptions
        deps.breakerPhase = { sink in breakers.state(of: sink).phase.rawValue }
        return Parts(
            store: store, committer: committer, router: makeRouter(deps), registry: registry, readiness: readiness,
            deliveryServices: deliveryServices, flows: flows, subscriptions: subscriptions)
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully.
    public func run() async throws {
        let server = try configuration.httpServer()  // TLS files checked before anything is opened
        let parts = try await build()
        let readiness = parts.readiness
        let app = Application(
            router: parts.router,
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "millwright"),
            services: [parts.committer] + parts.deliveryServices,
            onServerRunning: { _ in readiness.set(true) },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(
            // Shut down in reverse: readiness turns off first, then the server drains, then group commit.
            services: [app, ReadinessService(readiness: readiness)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        do {
            try await group.run()
        } catch {
            try? await parts.store.close()
            throw error
        }
        try await parts.store.close()
        logger.info("store closed; goodbye")
    }

    static func prepareDataDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw ConfigurationError(file: "data directory", message: "'\(path)' exists and is not a directory")
            }
            return
        }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    func createFirstAdminToken(store: some Store, now: Date) async throws {
        let issued = APIToken.issue(name: "admin", scopes: ["admin"], now: now)
        let path = configuration.adminTokenPath
        // Written before it is stored: a crash in between leaves a file with a token that does not work,
        // never a working token that nobody has.
        guard FileManager.default.createFile(atPath: path, contents: Data((issued.token + "\n").utf8), attributes: [.posixPermissions: 0o600]),
            chmod(path, 0o600) == 0
        else {
            throw ConfigurationError(file: path, message: "cannot write the admin token file; check that the data directory is writable")
        }
        try await store.insertToken(issued.record)
        _ = try await store.appendAudit(
            AuditDraft(at: now, actor: "bootstrap", action: "token.create", target: issued.record.prefix, origin: "local",
                       after: Governance.describe(issued.record)),
            hasher: Governance.hasher
        )
        // Written straight to the file descriptor: stdout may be a pipe, and buffered text would show only at exit.
        FileHandle.standardOutput.write(Data("""
            Millwright created the first admin token. It is shown once, here, and kept in \(path) (mode 0600):

                \(issued.token)

            Use it as 'Authorization: Bearer <token>'. Store it somewhere safe, then delete the file.

            """.utf8))
        logger.notice("created the first admin token", metadata: ["mw.token": "\(issued.record.prefix)"])
    }
}

/// Whether the node should receive traffic: true once the server listens, false from graceful shutdown on.
public final class Readiness: Sendable {
    let state = Atomic<Bool>(false)
    public init() {}
    public var isReady: Bool { state.load(ordering: .relaxed) }
    public func set(_ ready: Bool) { state.store(ready, ordering: .relaxed) }
}

/// Turns readiness off as soon as graceful shutdown starts, so load balancers stop sending work.
struct ReadinessService: Service {
    let readiness: Readiness

    func run() async throws {
        try? await gracefulShutdown()
        readiness.set(false)
    }
}
