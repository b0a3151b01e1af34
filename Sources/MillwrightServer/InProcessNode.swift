import Foundation
import Hummingbird
import Logging
import MillwrightEngine
import MillwrightSQLite
import ServiceLifecycle
import Synchronization

/// A node running inside this process on a free loopback port, built exactly as `serve` builds it
/// (`MillwrightNode.build`): for `millwright demo` and for tests that need Odoo, a plant or a client to
/// reach a real node over HTTP.
///
/// With `delivery: false` only the HTTP server and group commit run, and the caller drives the router,
/// workers and poller itself (tests that must not wait for anything); with `true`, everything runs as
/// under `serve`.
public final class InProcessNode: Sendable {
    public let store: SQLiteStore
    public let deliveryServices: [any Service]
    public let flowCount: Int
    public let port: Int
    let group: ServiceGroup
    let task: Task<Void, any Error>

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    init(store: SQLiteStore, deliveryServices: [any Service], flowCount: Int, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.store = store
        self.deliveryServices = deliveryServices
        self.flowCount = flowCount
        self.port = port
        self.group = group
        self.task = task
    }

    public struct StartError: Error, CustomStringConvertible {
        public var description: String { "the node did not report the port it listens on" }
    }

    /// Builds the node of `configuration` and starts it on 127.0.0.1, on a port the system picks.
    public static func start(
        configuration: MillwrightConfiguration, environment: [String: String], delivery: Bool, logger: Logger
    ) async throws -> InProcessNode {
        let node = MillwrightNode(configuration: configuration, environment: environment, logger: logger)
        let parts = try await node.build()
        let bound = Mutex<Int?>(nil)
        let (ready, readyContinuation) = AsyncStream<Void>.makeStream()
        let app = Application(
            router: parts.router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "millwright"),
            services: [parts.committer] + (delivery ? parts.deliveryServices : []),
            onServerRunning: { channel in
                bound.withLock { $0 = channel.localAddress?.port }
                readyContinuation.finish()
            },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        for await _ in ready {}
        guard let port = bound.withLock({ $0 }) else {
            await group.triggerGracefulShutdown()
            throw StartError()
        }
        return InProcessNode(
            store: parts.store, deliveryServices: parts.deliveryServices, flowCount: parts.flows.count, port: port, group: group, task: task)
    }

    /// Stops the node (requests drained, group commit flushed) and closes its store.
    public func stop() async throws {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        try await store.close()
    }
}
