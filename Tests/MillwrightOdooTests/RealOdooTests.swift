import Foundation
import Logging
import MillwrightCore
import Testing

@testable import MillwrightOdoo

/// The real-Odoo suite: every operation against a real Odoo 19 with demo data, verified by reading
/// Odoo back. Runs when MILLWRIGHT_ODOO_URL, _DB, _LOGIN and _API_KEY are set (`odoo-up env`); skipped
/// otherwise, and says so.
enum RealOdoo {
    static var settings: OdooSettings? {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["MILLWRIGHT_ODOO_URL"], let db = env["MILLWRIGHT_ODOO_DB"], let login = env["MILLWRIGHT_ODOO_LOGIN"],
            let key = env["MILLWRIGHT_ODOO_API_KEY"]
        else { return nil }
        return OdooSettings(url: url, database: db, login: login, apiKey: key)
    }

    static var configured: Bool { settings != nil }

    static func connect(_ kind: OdooProtocol? = nil) async throws -> OdooClient {
        var settings = try #require(settings)
        settings.preferredProtocol = kind
        return try await OdooClient.connect(settings)
    }
}

@Suite("Real Odoo 19", .serialized, .enabled(if: RealOdoo.configured, "MILLWRIGHT_ODOO_URL is not set: real-Odoo suite skipped (see docs/odoo.md)"))
struct RealOdooTests {
    @Test("both protocols connect and report the same errors", arguments: [OdooProtocol.json2, .jsonrpc])
    func protocols(kind: OdooProtocol) async throws {
        let client = try await RealOdoo.connect(kind)
        defer { Task { await client.shutdown() } }
        #expect(client.protocolKind == kind)
        #expect(client.version.major == 19)
        let rows = try await client.searchRead("product.product", [.leaf("default_code", "=", "FURN_7023")], fields: ["name"])
        #expect(rows.count == 1)
        await #expect { try await client.call("no.such.model", "search_read", ["domain": []]) } throws: { ($0 as? OdooError)?.kind == .unknownMethod }
        await #expect { try await client.write("product.product", [999_999_999], ["name": "x"]) } throws: { ($0 as? OdooError)?.kind == .missingRecord }
        await #expect { try await client.create("product.product", [["nam": "x"]]) } throws: { ($0 as? OdooError)?.kind == .badRequest }
        await client.shutdown()
    }

    @Test func wrongKeyIsAuthentication() async throws {
        var settings = try #require(RealOdoo.settings)
        settings.apiKey = "wrong"
        await #expect { try await OdooClient.connect(settings) } throws: { ($0 as? OdooError)?.kind == .authentication }
        settings.preferredProtocol = .jsonrpc
        await #expect { try await OdooClient.connect(settings) } throws: { ($0 as? OdooError)?.kind == .authentication }
    }

    @Test("every operation, twice, verified by reading Odoo back", arguments: [OdooProtocol.json2, .jsonrpc])
    func operations(kind: OdooProtocol) async throws {
        let client = try await RealOdoo.connect(kind)
        try await Scenarios(client).all()
        await client.shutdown()
    }

    @Test("enrich reads real Odoo, map uses what it read")
    func enrichAndMap() async throws {
        let client = try await RealOdoo.connect()
        try await EndToEnd(client).enrichFlow()
    }

    @Test("events through the log, router, worker and Odoo sink into Odoo")
    func endToEnd() async throws {
        let client = try await RealOdoo.connect()
        try await EndToEnd(client).completionFlow()
    }

    @Test("operation reports through the log, router, worker and Odoo sink into Odoo's work orders")
    func operationReportsEndToEnd() async throws {
        let client = try await RealOdoo.connect()
        try await EndToEnd(client).operationFlow()
    }

    @Test func crashBetweenCallsChangesOdooOnce() async throws {
        let client = try await RealOdoo.connect()
        try await Scenarios(client).crashBetweenCalls(maxCuts: 12)
        await client.shutdown()
    }

    @Test func anOperationReportCutAfterAnyCallChangesOdooOnce() async throws {
        let client = try await RealOdoo.connect()
        try await Scenarios(client).operationReportCrashes(maxCuts: 14)
        await client.shutdown()
    }
}

/// Change capture against a real Odoo 19: Millwright listens on a loopback port, `install-webhooks`
/// points Odoo's automation rules at it, and a demo production order (FURN_7023, named with a run id in
/// its origin) is confirmed. Timings are printed; the rules are switched off at the end, so the shared
/// database does not keep posting to a port that is gone.
@Suite("Real Odoo 19: change capture", .serialized, .enabled(if: RealOdoo.configured, "MILLWRIGHT_ODOO_URL is not set: real-Odoo change capture skipped (see docs/odoo.md)"))
struct RealOdooChangeCaptureTests {
    static func start(pollIntervalSeconds: Int) async throws -> CaptureNode {
        let settings = try #require(RealOdoo.settings)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mw-capture-real-\(UUID().uuidString)").path
        return try await CaptureNode.start(
            odooURL: settings.url, database: settings.database, login: settings.login, apiKey: settings.apiKey, dataDirectory: directory,
            pollIntervalSeconds: pollIntervalSeconds, running: true)
    }

    /// Confirms a new order and returns its name and how long until `released` and `status_changed`
    /// (state `released`) were both in the log, measured from just before the confirm call.
    static func confirmAndWait(_ client: OdooClient, node: CaptureNode, limit: Duration) async throws -> (name: String, elapsed: Duration?) {
        let scenarios = Scenarios(client)
        let order = try await scenarios.makeOrder("FURN_7023", quantity: 1)
        try await client.write("mrp.production", [order.id], ["origin": .string("millwright capture test \(scenarios.run)")])
        let clock = ContinuousClock()
        let start = clock.now
        _ = try await client.call("mrp.production", "action_confirm", ids: [order.id])
        while clock.now - start < limit {
            if try await node.captured().kinds(of: order.name) == ["released", "status:released"] {
                return (order.name, clock.now - start)
            }
            try await Task.sleep(for: .milliseconds(20))  // observing a running system, not waiting for work
        }
        return (order.name, nil)
    }

    @Test func confirmingAnOrderIsCapturedWithinTwoSecondsThroughTheWebhook() async throws {
        let client = try await RealOdoo.connect()
        let node = try await Self.start(pollIntervalSeconds: 3_600)  // one poll at start (the watermark), then none in this test
        let installer = OdooWebhookInstaller(client: client)
        let installed = try await installer.install(url: node.hookURL, source: "odoo")
        print("install-webhooks:", installed.map(\.description).joined(separator: "; "))
        let signalsBefore = try await node.signals().count
        let (name, elapsed) = try await Self.confirmAndWait(client, node: node, limit: .seconds(10))
        print("real Odoo, webhook path: \(name) released + status_changed after \(elapsed.map { "\($0)" } ?? "more than 10 s")")
        let within = try #require(elapsed, "no released/status_changed for \(name) within 10 s")
        #expect(within < .seconds(2))
        #expect(try await node.signals().count > signalsBefore, "the events came through Odoo's webhook")
        let again = try await installer.install(url: node.hookURL, source: "odoo")
        #expect(again.map(\.effect) == [.unchanged, .unchanged])
        _ = try await installer.install(url: node.hookURL, source: "odoo", active: false)
        try await node.stop()
        await client.shutdown()
    }

    @Test func aPartialCompletionKeepsThePlantsOrderName() async throws {
        let client = try await RealOdoo.connect()
        let settings = try #require(RealOdoo.settings)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mw-capture-real-\(UUID().uuidString)").path
        let node = try await CaptureNode.start(
            odooURL: settings.url, database: settings.database, login: settings.login, apiKey: settings.apiKey, dataDirectory: directory)
        try await ChangeCaptureTests.partialCompletion(client, node: node)
        _ = try await OdooWebhookInstaller(client: client).install(url: node.hookURL, source: "odoo", active: false)
        try await node.stop()
        await client.shutdown()
    }

    @Test func changesWhileMillwrightIsDownAreEmittedOnceInOrderAfterARestart() async throws {
        let client = try await RealOdoo.connect()
        let settings = try #require(RealOdoo.settings)
        try await ChangeCaptureTests.restart(client, start: { directory in
            try await CaptureNode.start(
                odooURL: settings.url, database: settings.database, login: settings.login, apiKey: settings.apiKey, dataDirectory: directory)
        })
        await client.shutdown()
    }

    @Test func withWebhooksOffAnOrderIsCapturedWithinOnePollInterval() async throws {
        let client = try await RealOdoo.connect()
        let interval = 5
        let node = try await Self.start(pollIntervalSeconds: interval)
        _ = try await OdooWebhookInstaller(client: client).install(url: node.hookURL, source: "odoo", active: false)
        // The first poll catches up on the overlap window, which takes long after heavy use of a shared
        // Odoo; the steady state starts when it has set both watermarks.
        let caughtUp = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < caughtUp {
            if try await node.store.captureWatermark(model: "mrp.production") != nil, try await node.store.captureWatermark(model: "product.product") != nil { break }
            try await Task.sleep(for: .milliseconds(50))  // observing a running system, not waiting for work
        }
        let signalsBefore = try await node.signals().count
        let (name, elapsed) = try await Self.confirmAndWait(client, node: node, limit: .seconds(interval * 3))
        print("real Odoo, poll path (interval \(interval) s): \(name) released + status_changed after \(elapsed.map { "\($0)" } ?? "more than \(interval * 3) s")")
        let within = try #require(elapsed, "no released/status_changed for \(name) within \(interval * 3) s")
        // One interval, plus the poll itself (a few Odoo calls).
        #expect(within < .seconds(interval) + .seconds(1))
        #expect(try await node.signals().count == signalsBefore, "no webhook was involved")
        try await node.stop()
        await client.shutdown()
    }
}
