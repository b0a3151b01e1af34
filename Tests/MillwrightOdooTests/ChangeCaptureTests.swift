import Foundation
import Logging
import MillwrightCore
import MillwrightSQLite
import MillwrightTesting
import Synchronization
import Testing

@testable import MillwrightOdoo

/// Change capture (Odoo → plant) against the Odoo simulator, through a real node: Odoo's webhook posts
/// to the node's hook route, the built-in flow makes the capture read the record, and the poll catches
/// what the webhooks missed. The test drives routing, delivery and polls itself: nothing sleeps.
@Suite("Odoo change capture against the simulator", .serialized)
struct ChangeCaptureTests {
    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("mw-capture-\(UUID().uuidString)").path
    }

    static func node(_ sim: OdooSimulator, directory: String) async throws -> CaptureNode {
        try await CaptureNode.start(odooURL: sim.baseURL, database: sim.database, login: "admin", apiKey: sim.adminAPIKey, dataDirectory: directory)
    }

    /// A production order of FURN_7023 (BoM: 3 Ply Layer, 1 Wear Layer), left in draft.
    static func order(_ client: OdooClient, quantity: Int = 2) async throws -> (id: Int, name: String) {
        try await Scenarios(client).makeOrder("FURN_7023", quantity: quantity)
    }

    static func confirm(_ client: OdooClient, _ id: Int) async throws {
        _ = try await client.call("mrp.production", "action_confirm", ids: [id])
    }

    @Test func odooStatesMapToCanonicalStates() {
        let table: [(String, OrderState?)] = [
            ("draft", nil), ("confirmed", .released), ("progress", .inProgress), ("to_close", .inProgress),
            ("done", .completed), ("cancel", .cancelled), ("something-new", nil),
        ]
        for (native, canonical) in table {
            #expect(OdooChangeCapture.canonicalState(native) == canonical, "\(native)")
        }
    }

    @Test func aWebhookMakesTheRecordReadAndItsEventsEmittedOnce() async throws {
        try await withOdooSimulator { sim in
            let client = try await SimulatorTests.client(sim)
            let node = try await Self.node(sim, directory: Self.temporaryDirectory())
            let installed = try await OdooWebhookInstaller(client: client).install(url: node.hookURL, source: "odoo")
            #expect(installed.map(\.effect) == [.created, .created])

            let order = try await Self.order(client)
            try await node.deliver()
            #expect(try await node.captured().kinds(of: order.name).isEmpty, "a draft order is not released to the plant")

            try await Self.confirm(client, order.id)
            // Odoo posts after its commit and before it answers: the signal is in the log already.
            let webhook = try #require(sim.webhookLog.last)
            #expect(webhook.status == 201 && webhook.model == "mrp.production" && webhook.recordID == order.id)
            #expect(webhook.body == #"{"_action": "Millwright webhook (odoo): mrp.production(#\#(installed[0].actionID))", "_id": \#(order.id), "_model": "mrp.production"}"#)
            #expect(try await node.signals().contains { $0.envelope.contains("\"record_id\":\(order.id)") })

            try await node.deliver()
            let events = try await node.captured()
            #expect(events.kinds(of: order.name) == ["released", "status:released"])
            let released = try #require(events.first { $0.key == order.name && $0.kind == "released" })
            #expect(released.data["product"] == "FURN_7023" && released.data["quantity"] == .number("2") && released.data["uom"] == "H87")
            let components = released.data["components"]?.arrayValue ?? []
            #expect(Set(components.compactMap { $0["product"]?.stringValue }) == ["FURN_7111", "FURN_8111"])
            #expect(components.first { $0["product"] == "FURN_7111" }?["quantity"] == .number("6"))

            // The same change seen again by the webhook path and by the poll: nothing new.
            try await node.deliver()
            try await node.poll()
            #expect(try await node.captured().kinds(of: order.name) == ["released", "status:released"])
            try await node.stop()
        }
    }

    @Test func aReleasedOrderListsItsWorkOrdersForThePlant() async throws {
        try await withOdooSimulator { sim in
            let client = try await SimulatorTests.client(sim)
            let node = try await Self.node(sim, directory: Self.temporaryDirectory())
            try await node.poll()  // the watermark
            // The Table Top's BoM has one operation: "Manual Assembly" on Assembly 1, 60 min a unit.
            let order = try await Scenarios(client).makeOrder("FURN_8522", quantity: 2, bomWithoutOperations: false)
            try await Self.confirm(client, order.id)
            try await node.poll()
            let released = try #require(try await node.captured().first { $0.key == order.name && $0.kind == "released" })
            #expect(released.data["work_center"] == "Assembly 1")
            #expect(released.data["operations"] == [["operation": "Manual Assembly", "work_center": "Assembly 1", "duration_expected_minutes": 120]])
            try await node.stop()
        }
    }

    @Test func aLostWebhookIsRecoveredByTheNextPoll() async throws {
        try await withOdooSimulator { sim in
            let client = try await SimulatorTests.client(sim)
            let node = try await Self.node(sim, directory: Self.temporaryDirectory())
            _ = try await OdooWebhookInstaller(client: client).install(url: node.hookURL, source: "odoo")
            try await node.poll()  // the watermark
            let order = try await Self.order(client)
            try await Self.confirm(client, order.id)
            try await node.deliver()
            #expect(try await node.captured().kinds(of: order.name) == ["released", "status:released"])

            sim.dropWebhooks(true)
            try await client.write("mrp.production", [order.id], ["qty_producing": 1])
            #expect(sim.webhookLog.last?.dropped == true && sim.webhookLog.last?.recordID == order.id)
            try await node.deliver()
            #expect(try await node.captured().kinds(of: order.name) == ["released", "status:released"], "the webhook was lost")

            try await node.poll()
            #expect(try await node.captured().kinds(of: order.name) == ["released", "status:released", "status:in_progress"])
            let before = sim.callLog.count
            try await node.poll()
            #expect(try await node.captured().kinds(of: order.name).count == 3, "a second poll over the overlap emits nothing again")
            let orderCalls = sim.callLog.dropFirst(before).filter { $0.model == "mrp.production" }.compactMap(\.method)
            #expect(orderCalls == ["search_read"], "one page, and the order, unchanged since its capture, is not read again")
            try await node.stop()
        }
    }

    @Test func changesWhileMillwrightIsDownAreEmittedOnceInOrderAfterARestart() async throws {
        try await withOdooSimulator { sim in
            let client = try await SimulatorTests.client(sim)
            try await Self.restart(client, start: { directory in try await Self.node(sim, directory: directory) }, whileDown: {
                #expect(sim.webhookLog.suffix(8).allSatisfy { $0.status == nil }, "nothing answered while Millwright was down")
            })
        }
    }

    /// Orders change while the node is stopped (Odoo's webhooks find nobody, and nobody retries them);
    /// a node restarted on the same store emits every change once, in order. Simulator and real Odoo.
    static func restart(_ client: OdooClient, start: (String) async throws -> CaptureNode, whileDown: () -> Void = {}) async throws {
        let directory = Self.temporaryDirectory()
        let first = try await start(directory)
        _ = try await OdooWebhookInstaller(client: client).install(url: first.hookURL, source: "odoo")
        try await first.poll()
        let a = try await Self.order(client)
        try await Self.confirm(client, a.id)
        try await first.deliver()
        try await first.stop()

        try await client.write("mrp.production", [a.id], ["qty_producing": 1])  // progress
        try await client.write("mrp.production", [a.id], ["qty_producing": 2])  // to_close: still in_progress
        let b = try await Self.order(client)
        try await Self.confirm(client, b.id)
        let c = try await Self.order(client)
        try await Self.confirm(client, c.id)
        _ = try await client.call("mrp.production", "action_cancel", ids: [c.id])
        let d = try await Self.order(client)  // stays draft
        let e = try await Self.order(client)
        _ = try await client.call("mrp.production", "action_cancel", ids: [e.id])  // cancelled before release
        whileDown()

        let second = try await start(directory)
        try await second.deliver()
        try await second.poll()
        try await second.poll()
        let events = try await second.captured()
        #expect(events.kinds(of: a.name) == ["released", "status:released", "status:in_progress"])
        #expect(events.kinds(of: b.name) == ["released", "status:released"])
        // Odoo keeps only the current state: an order confirmed and cancelled while Millwright was down
        // looks like one cancelled in draft, and the plant never heard of it, so nothing is emitted.
        #expect(events.kinds(of: c.name).isEmpty && events.kinds(of: d.name).isEmpty && events.kinds(of: e.name).isEmpty)
        #expect(Set(events.map(\.id)).count == events.count)
        // Cancelling an order the plant knows is emitted (the restarted node listens on another port:
        // install-webhooks updates the rules in place).
        #expect(try await OdooWebhookInstaller(client: client).install(url: second.hookURL, source: "odoo").map(\.effect) == [.updated, .updated])
        _ = try await client.call("mrp.production", "action_cancel", ids: [b.id])
        try await second.deliver()
        #expect(try await second.captured().kinds(of: b.name) == ["released", "status:released", "status:cancelled"])
        _ = try await OdooWebhookInstaller(client: client).install(url: second.hookURL, source: "odoo", active: false)
        try await second.stop()
    }

    @Test func aProductIsEmittedWhenWhatThePlantSeesChanges() async throws {
        try await withOdooSimulator { sim in
            let client = try await SimulatorTests.client(sim)
            let node = try await Self.node(sim, directory: Self.temporaryDirectory())
            try await node.poll()
            let code = "MW-CAP-\(UInt32.random(in: 0...UInt32.max))"
            let id = try #require(try await client.create("product.product", [["name": "Capture widget", "default_code": .string(code), "tracking": "lot"]]).first)
            try await node.poll()
            var products = try await node.captured().filter { $0.key == code }
            #expect(products.map(\.kind) == ["product"])
            #expect(products.first?.data == ["product": .string(code), "name": "Capture widget", "uom": "H87", "type": "goods", "tracking": "lot", "category": "All"])

            try await client.write("product.product", [id], ["list_price": 99])  // not something the plant sees
            try await node.poll()
            #expect(try await node.captured().filter { $0.key == code }.count == 1)

            try await client.write("product.product", [id], ["name": "Capture widget v2"])
            try await node.poll()
            products = try await node.captured().filter { $0.key == code }
            #expect(products.map { $0.data["name"] } == ["Capture widget", "Capture widget v2"])
            try await node.stop()
        }
    }

    @Test func installingTheWebhooksTwiceChangesNothingAndCanSwitchThemOff() async throws {
        try await withOdooSimulator { sim in
            let client = try await SimulatorTests.client(sim)
            let installer = OdooWebhookInstaller(client: client)
            let first = try await installer.install(url: "http://127.0.0.1:1/v1/hooks/odoo/s", source: "odoo")
            let second = try await installer.install(url: "http://127.0.0.1:1/v1/hooks/odoo/s", source: "odoo")
            #expect(first.map(\.effect) == [.created, .created] && second.map(\.effect) == [.unchanged, .unchanged])
            #expect(first.map(\.automationID) == second.map(\.automationID) && first.map(\.actionID) == second.map(\.actionID))
            #expect(first.map(\.externalID) == ["millwright.automation_odoo_mrp_production", "millwright.automation_odoo_product_product"])
            let moved = try await installer.install(url: "http://127.0.0.1:2/v1/hooks/odoo/s", source: "odoo")
            #expect(moved.map(\.effect) == [.updated, .updated] && moved.map(\.automationID) == first.map(\.automationID))
            let action = try #require(try await client.read("ir.actions.server", [moved[0].actionID], fields: ["state", "webhook_url", "webhook_field_ids"]).first)
            #expect(action.string("state") == "webhook" && action.string("webhook_url") == "http://127.0.0.1:2/v1/hooks/odoo/s" && action.ids("webhook_field_ids").isEmpty)

            let off = try await installer.install(url: "http://127.0.0.1:2/v1/hooks/odoo/s", source: "odoo", active: false)
            #expect(off.map(\.effect) == [.updated, .updated])
            let before = sim.webhookLog.count
            let order = try await Self.order(client)
            try await Self.confirm(client, order.id)
            #expect(sim.webhookLog.count == before, "switched-off rules post nothing")
            #expect(try await installer.install(url: "http://127.0.0.1:2/v1/hooks/odoo/s", source: "odoo", active: false).map(\.effect) == [.unchanged, .unchanged])
        }
    }

    @Test func aPartialCompletionKeepsThePlantsOrderName() async throws {
        try await withOdooSimulator { sim in
            let client = try await SimulatorTests.client(sim)
            let node = try await Self.node(sim, directory: Self.temporaryDirectory())
            try await Self.partialCompletion(client, node: node)
            try await node.stop()
        }
    }

    /// An order of 3 completed 1 then 2 by the plant (through the connector's operations): Odoo splits it
    /// into `-001` (done) and `-002`, and the plant's order `WH/MO/…` goes released, then completed.
    /// Runs against the simulator and a real Odoo.
    static func partialCompletion(_ client: OdooClient, node: CaptureNode) async throws {
        let scenarios = Scenarios(client)
        try await scenarios.stock("FURN_7111", 500)
        try await scenarios.stock("FURN_8111", 500)
        _ = try await OdooWebhookInstaller(client: client).install(url: node.hookURL, source: "odoo")
        let order = try await scenarios.makeOrder("FURN_7023", quantity: 3)
        try await Self.confirm(client, order.id)
        try await node.deliver()
        let ops = scenarios.ops
        _ = try await ops.postCompletion(
            try CanonicalCoding.decode(ProductionCompleted.self, from: ["order": .string(order.name), "quantity": 1, "uom": "H87"]),
            key: "partial-\(scenarios.run)")
        let chain = try await ops.findOrders(OrderQuery(name: OrderReference(rawValue: order.name)))
        #expect(chain.map(\.name).sorted() == [order.name + "-001", order.name + "-002"])
        try await node.deliver()
        try await node.poll()
        // The open backorder -002 is confirmed: the plant's order is still released, nothing to tell.
        #expect(try await node.captured().kinds(of: order.name) == ["released", "status:released"])
        _ = try await ops.postCompletion(
            try CanonicalCoding.decode(ProductionCompleted.self, from: ["order": .string(order.name), "quantity": 2, "uom": "H87", "final": true]),
            key: "final-\(scenarios.run)")
        try await node.deliver()
        try await node.poll()
        let events = try await node.captured()
        #expect(events.kinds(of: order.name) == ["released", "status:released", "status:completed"])
        #expect(!events.contains { $0.key.hasPrefix(order.name + "-") }, "the plant never hears of -001 or -002 as orders")
    }

    @Test func aWebhookForARecordDeletedSinceIsNothingToDo() async throws {
        try await withOdooSimulator { sim in
            let client = try await SimulatorTests.client(sim)
            let node = try await Self.node(sim, directory: Self.temporaryDirectory())
            _ = try await OdooWebhookInstaller(client: client).install(url: node.hookURL, source: "odoo")
            let order = try await Self.order(client)  // its webhook is in the log
            _ = try await client.call("mrp.production", "unlink", ids: [order.id])
            try await node.deliver()
            let deliveries = try await node.store.deliveries(DeliveryQuery(flow: "odoo-change-capture"))
            #expect(!deliveries.isEmpty && deliveries.allSatisfy { $0.state == .done }, "\(deliveries.map { ($0.state, $0.lastError ?? "") })")
            #expect(try await node.captured().isEmpty)
            try await node.stop()
        }
    }

    @Test func aPollPagesThroughRecordsWithTheSameWriteDate() async throws {
        let clock = TestDate(Date())
        var configuration = OdooSimulatorConfiguration()
        configuration.clock = { clock.now }
        try await withOdooSimulator(configuration) { sim in
            let client = try await SimulatorTests.client(sim)
            let store = try SQLiteStore(path: Self.temporaryDirectory() + ".sqlite")
            let emitted = Mutex<[JSONValue]>([])
            var settings = ChangeCaptureSettings()
            settings.pageSize = 2
            var logger = Logger(label: "capture-test")
            logger.logLevel = .critical
            let capture = OdooChangeCapture(
                client: { () async throws(OdooError) -> OdooClient in client }, store: store, settings: settings,
                emit: { events in emitted.withLock { $0 += events } }, logger: logger)
            _ = try await capture.poll()
            clock.advance(3_600)  // an hour later: the seed is out of the overlap
            let run = UInt32.random(in: 0...UInt32.max)
            let codes = (1...5).map { "MW-PAGE-\(run)-\($0)" }
            _ = try await client.create("product.product", codes.map { ["name": .string($0), "default_code": .string($0)] })  // one second, five records
            emitted.withLock { $0 = [] }
            let result = try await capture.poll()
            let products = emitted.withLock { $0 }.compactMap { $0["data"]?["product"]?.stringValue }
            #expect(products == codes, "five records of the same write_date over three pages of two; the seed, already emitted, is not again")
            #expect(result.records >= 5)
            #expect(try await store.captureWatermark(model: "product.product") == OdooSimulatorCoreTimestamp.format(clock.now))
            try await store.close()
        }
    }
}

/// Odoo's `write_date` text for a date (UTC, seconds), as the simulator writes it.
enum OdooSimulatorCoreTimestamp {
    static func format(_ date: Date) -> String {
        String(RFC3339.format(date).prefix(19)).replacingOccurrences(of: "T", with: " ")
    }
}
