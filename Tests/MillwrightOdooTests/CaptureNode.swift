import Foundation
import Hummingbird
import Logging
import MillwrightAPI
import MillwrightCore
import MillwrightEngine
import MillwrightSQLite
import MillwrightServer
import ServiceLifecycle
import Synchronization
import Testing

@testable import MillwrightOdoo

/// A Millwright node as `serve` builds it (configuration → `MillwrightNode.build`), listening on a
/// loopback port so that Odoo, simulated or real, can post its webhooks to `/v1/hooks/odoo/<secret>`.
///
/// With `running: false` only the HTTP server and group commit run; the test drives the delivery router,
/// the workers and the poller itself (`deliver()`, `poll()`), so nothing is waited for by sleeping.
/// With `running: true` every service runs as under `serve` (the real-Odoo timing tests).
final class CaptureNode: Sendable {
    static let hookSecret = "capture-test-path-secret-0123456789"
    static let source = "odoo/change-capture"

    let node: InProcessNode
    var store: SQLiteStore { node.store }
    var deliveryServices: [any Service] { node.deliveryServices }
    var port: Int { node.port }

    var baseURL: String { node.baseURL }
    var hookURL: String { "\(baseURL)/v1/hooks/odoo/\(Self.hookSecret)" }

    private init(node: InProcessNode) { self.node = node }

    static var flowsDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("flows").path
    }

    /// Builds and starts a node on `dataDirectory` (reuse it to restart the same node).
    static func start(
        odooURL: String, database: String, login: String, apiKey: String, dataDirectory: String,
        pollIntervalSeconds: Int = 30, running: Bool = false
    ) async throws -> CaptureNode {
        var configuration = MillwrightConfiguration()
        configuration.dataDirectory = dataDirectory
        configuration.flowsDirectory = flowsDirectory
        configuration.host = "127.0.0.1"
        var odoo = OdooConfiguration()
        odoo.url = odooURL
        odoo.database = database
        odoo.login = login
        odoo.apiKey = .environment("MW_TEST_ODOO_API_KEY")
        odoo.callsPerSecond = 0
        odoo.capture.pollIntervalSeconds = pollIntervalSeconds
        configuration.odoo = odoo
        var hook = HookSourceConfiguration(name: "odoo", kind: .odoo)
        hook.secret = .environment("MW_TEST_ODOO_HOOK_SECRET")
        hook.allow = ["127.0.0.1/32"]
        configuration.api.hooks = [hook]
        var logger = Logger(label: "capture-test")
        logger.logLevel = .critical
        let environment = [
            "MW_TEST_ODOO_API_KEY": apiKey, "MW_TEST_ODOO_HOOK_SECRET": hookSecret,
            "MILLWRIGHT_ADMIN_TOKEN": "mw_test_capture_admin_token_0123456789",
        ]
        return CaptureNode(node: try await InProcessNode.start(configuration: configuration, environment: environment, delivery: running, logger: logger))
    }

    /// Stops the node (server drained, group commit flushed) and closes its store.
    func stop() async throws {
        try await node.stop()
    }

    var router: DeliveryRouter? { deliveryServices.lazy.compactMap { $0 as? DeliveryRouter }.first }
    var workers: [DeliveryWorker] { deliveryServices.compactMap { $0 as? DeliveryWorker } }
    var poller: OdooCapturePoller? { deliveryServices.lazy.compactMap { $0 as? OdooCapturePoller }.first }

    /// Routes and delivers until nothing is left to do (the webhook path: signal → flow → capture).
    func deliver() async throws {
        let router = try #require(router)
        for _ in 0..<20 {
            var work = 0
            while try await router.routeOnce() > 0 { work += 1 }
            for worker in workers {
                while try await worker.runOnce() > 0 { work += 1 }
            }
            if work == 0 { return }
        }
    }

    /// One poll, as the poller's next interval would run it.
    func poll() async throws {
        let poller = try #require(poller)
        await poller.pollOnce()
    }

    /// The events change capture emitted, in log order.
    func captured() async throws -> [CapturedEvent] {
        var query = EventQuery()
        query.limit = 10_000
        return try await store.events(query).filter { $0.source == Self.source }.compactMap(CapturedEvent.init)
    }

    /// Signals received from Odoo's webhooks.
    func signals() async throws -> [StoredEvent] {
        var query = EventQuery()
        query.limit = 10_000
        return try await store.events(query).filter { $0.type == OdooRecordChanged.eventType }
    }
}

/// One captured event as the tests look at it.
struct CapturedEvent: Sendable, Hashable, CustomStringConvertible {
    var id: String
    var type: String
    var key: String
    var state: String?
    var data: JSONValue

    init?(_ stored: StoredEvent) {
        guard let envelope = try? JSONParser().parse(stored.envelope) else { return nil }
        id = stored.id
        type = stored.type
        key = envelope["partitionkey"]?.stringValue ?? ""
        data = envelope["data"] ?? .null
        state = data["state"]?.stringValue
    }

    /// `released`, `status:in_progress`, `product`.
    var kind: String {
        switch type {
        case ProductionOrderReleased.eventType: "released"
        case ProductionOrderStatusChanged.eventType: "status:\(state ?? "?")"
        case ProductUpserted.eventType: "product"
        default: type
        }
    }

    var description: String { "\(key) \(kind)" }
}

extension [CapturedEvent] {
    /// The kinds of events of one order (or product), in log order.
    func kinds(of key: String) -> [String] { filter { $0.key == key }.map(\.kind) }
}
