import Foundation
import Logging
import Metrics
import MillwrightCore
import MillwrightEngine
import MillwrightSQLite
import MillwrightServer
import MillwrightTesting
import Synchronization
import Testing

@testable import MillwrightOdoo

/// Events → event log → router → worker → Odoo sink → Odoo, on a real SQLite store. Runs against the
/// simulator and, when configured, a real Odoo.
struct EndToEnd {
    let scenarios: Scenarios
    let store: SQLiteStore

    init(_ client: OdooClient) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mw-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteStore(path: directory.appendingPathComponent("m.sqlite").path)
        scenarios = Scenarios(client, journal: StoreOperationJournal(store: store))
    }

    func send(_ id: String, _ type: String, _ data: JSONValue, source: String = "mes/e2e", sequence: Int? = nil) async throws {
        var envelope: JSONValue = ["specversion": "1.0", "id": .string(id), "source": .string(source), "type": .string(type), "data": data]
        if let sequence, case .object(var members) = envelope {
            members["sequence"] = .string(String(sequence))
            envelope = .object(members)
        }
        let event = try EventDecoder().decode(envelope)
        _ = try await store.append([event], receivedAt: Date())
    }

    /// A router and a worker on the shipped flows, with a clock the test moves.
    func engine(breakers: CircuitBreakers) throws -> (DeliveryRouter, DeliveryWorker, TestDate) {
        var logger = Logger(label: "e2e")
        logger.logLevel = .critical
        let ops = scenarios.ops
        let sink = OdooSink { () async throws(OdooError) -> OdooOperations in ops }
        let flows = try EndToEnd.shippedFlows(sink)
        let clock = TestDate(Date())
        let router = DeliveryRouter(store: store, flows: flows, now: { clock.now }, logger: logger)
        let worker = DeliveryWorker(
            store: store, flows: flows, sinks: [sink], owner: "e2e", concurrency: 4, now: { clock.now }, random: { 1 },
            breakers: breakers, metricsFactory: NOOPMetricsHandler.instance, logger: logger)
        return (router, worker, clock)
    }

    /// Routes and delivers until nothing is pending, moving time past each retry's backoff.
    func drainWithRetries(rounds: Int) async throws {
        let (router, worker, clock) = try engine(breakers: CircuitBreakers(threshold: 1_000))
        while try await router.routeOnce() > 0 {}
        for _ in 0..<rounds {
            while try await worker.runOnce() > 0 {}
            let open = try await store.deliveries(DeliveryQuery(states: [.pending, .retrying, .inFlight], limit: 1))
            if open.isEmpty { return }
            clock.advance(700)  // past any backoff (max 10 min)
        }
        Issue.record("deliveries still pending after \(rounds) rounds")
    }

    /// Routes and delivers until nothing is due.
    func drain() async throws {
        var logger = Logger(label: "e2e")
        logger.logLevel = .error
        let ops = scenarios.ops
        let sink = OdooSink { () async throws(OdooError) -> OdooOperations in ops }
        let flows = try EndToEnd.shippedFlows(sink)
        let router = DeliveryRouter(store: store, flows: flows, logger: logger)
        let worker = DeliveryWorker(store: store, flows: flows, sinks: [sink], owner: "e2e", concurrency: 2, metricsFactory: NOOPMetricsHandler.instance, logger: logger)
        while try await router.routeOnce() > 0 {}
        while try await worker.runOnce() > 0 {}
    }

    /// The flows shipped in the repository's `flows/` directory.
    static func shippedFlows(_ sink: OdooSink) throws -> [Flow] {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("flows").path
        // Only the flows of this sink (change capture's flow has its own sink).
        return try FlowLoader(sinks: [sink.name: sink.operations, "odoo-capture": OdooCaptureSink.operationNames]).loadDirectory(directory)
            .filter { $0.sink == sink.name }
    }

    /// A completion, its exact duplicate, a consumption before it, a scrap for an unknown product:
    /// Odoo changes once, the bad event is a dead letter with its reason.
    func completionFlow() async throws {
        let s = scenarios
        try await s.stock("FURN_7111", 500)
        try await s.stock("FURN_8111", 500)
        let order = try await s.makeOrder("FURN_7023", quantity: 4)
        _ = try await s.ops.confirmOrder(OrderReference(rawValue: order.name))
        try await send("c-\(s.run)-0", MaterialConsumed.eventType, ["order": .string(order.name), "product": "FURN_7111", "quantity": 5, "uom": "H87"])
        try await send("c-\(s.run)-1", ProductionCompleted.eventType, ["order": .string(order.name), "quantity": 1, "uom": "H87"])
        try await send("c-\(s.run)-1", ProductionCompleted.eventType, ["order": .string(order.name), "quantity": 1, "uom": "H87"])  // duplicate
        try await send("c-\(s.run)-2", ProductionCompleted.eventType, ["order": .string(order.name), "quantity": 3, "uom": "H87", "final": true])
        try await send("c-\(s.run)-3", ScrapReported.eventType, ["product": "NO-SUCH-PRODUCT", "quantity": 1, "uom": "H87"])
        try await drain()
        let chain = try await s.ops.findOrders(OrderQuery(name: OrderReference(rawValue: order.name)))
        #expect(chain.count == 2)
        #expect(chain.allSatisfy { $0.state == "done" })
        #expect(chain.reduce(Decimal(0)) { $0 + $1.quantityProduced } == 4)
        let dead = try await store.deliveries(DeliveryQuery(states: [.dead]))
        #expect(dead.count == 1)
        #expect(dead.first?.lastErrorCode == "MW-ODOO-0015")
        #expect(dead.first?.lastError?.contains("NO-SUCH-PRODUCT") == true)
        let done = try await store.deliveries(DeliveryQuery(states: [.done]))
        #expect(done.count == 3, "consumption and two completions; the duplicate was never a second event")
    }
}

extension EndToEnd {
    /// A drawer order's run through the shipped flows, as a plant sends it: consumption, every operation
    /// for the first half, a partial completion, every operation for the second half, the final
    /// completion, all with `sequence`, sent out of order and one twice; and a report for an operation
    /// the order does not have. Odoo ends with both chain members done, six work orders done with 2 each
    /// and the plant's minutes, the plant's consumption posted, and one dead letter that names the
    /// order's work orders.
    func operationFlow() async throws {
        let s = scenarios
        try await s.stock("FURN_2100", 100, lot: "MW-E2E-\(s.run)-A")
        try await s.stock("FURN_5623", 100, lot: "MW-E2E-\(s.run)-B")
        let order = try await s.drawerOrderWithOperations(quantity: 4)
        let operations = ["Packing", "Testing", "Long time assembly"]
        var events: [(Int, String, JSONValue)] = [(1, MaterialConsumed.eventType, ["order": .string(order.name), "product": "FURN_2100", "quantity": 3, "uom": "H87"])]
        for (i, op) in operations.enumerated() {
            events.append((2 + i, OperationCompleted.eventType, ["order": .string(order.name), "operation": .string(op), "quantity_good": 2, "uom": "H87", "duration_minutes": 10, "operator": "Anna"]))
        }
        events.append((5, ProductionCompleted.eventType, ["order": .string(order.name), "quantity": 2, "uom": "H87", "lots": [["lot": .string("MW-E2E-\(s.run)-1"), "quantity": 2]]]))
        for (i, op) in operations.enumerated() {
            events.append((6 + i, OperationCompleted.eventType, ["order": .string(order.name), "operation": .string(op), "quantity_good": 2, "uom": "H87", "duration_minutes": 15, "operator": "Ben"]))
        }
        events.append((9, OperationCompleted.eventType, ["order": .string(order.name), "operation": "Painting", "quantity_good": 4, "uom": "H87"]))
        events.append((10, ProductionCompleted.eventType, ["order": .string(order.name), "quantity": 2, "uom": "H87", "final": true, "lots": [["lot": .string("MW-E2E-\(s.run)-2"), "quantity": 2]]]))
        // Out of order (each pair swapped), and the first operation report twice.
        var shuffled: [(Int, String, JSONValue)] = []
        for i in stride(from: 0, to: events.count, by: 2) {
            if i + 1 < events.count { shuffled.append(events[i + 1]) }
            shuffled.append(events[i])
        }
        for (sequence, type, data) in shuffled + [events[1]] {
            try await send("op-\(s.run)-\(sequence)", type, data, sequence: sequence)
        }
        try await drain()

        let chain = try await s.ops.findOrders(OrderQuery(name: OrderReference(rawValue: order.name)))
        #expect(chain.count == 2)
        #expect(chain.allSatisfy { $0.state == "done" })
        #expect(chain.reduce(Decimal(0)) { $0 + $1.quantityProduced } == 4)
        let workOrders = try await s.client.searchRead(
            "mrp.workorder", [.leaf("production_id", "in", .ints(chain.map(\.id)))], fields: ["name", "state", "qty_produced", "duration", "production_id"])
        #expect(workOrders.count == 6)
        for wo in workOrders {
            let first = wo.many2one("production_id") == order.id
            #expect(wo.string("state") == "done" && wo.decimal("qty_produced") == 2, "\(wo.fields)")
            #expect(wo.decimal("duration") == (first ? 10 : 15), "\(wo.fields)")
        }
        let moves = try await s.client.read("mrp.production", [order.id], fields: ["move_raw_ids"]).first?.ids("move_raw_ids") ?? []
        let posted = try await s.client.read("stock.move", moves, fields: ["product_id", "quantity", "state"])
        #expect(posted.first { $0.many2oneName("product_id")?.contains("FURN_2100") == true }?.decimal("quantity") == 3, "the plant's consumption, not the BoM's")
        let dead = try await store.deliveries(DeliveryQuery(states: [.dead]))
        #expect(dead.count == 1)
        #expect(dead.first?.lastError?.contains("no work order for operation 'Painting'") == true)
        #expect(dead.first?.lastError?.contains("Packing, Testing, Long time assembly") == true)
        #expect(try await store.deliveries(DeliveryQuery(states: [.done])).count == 9)
    }

    /// `enrich` reads the product from Odoo and `map` builds a label from what it read; the result goes to
    /// a recording sink. A product Odoo lacks is a dead letter that names it.
    func enrichFlow() async throws {
        var logger = Logger(label: "e2e")
        logger.logLevel = .error
        let ops = scenarios.ops
        let odoo = OdooSink { () async throws(OdooError) -> OdooOperations in ops }
        let recording = RecordingSink()
        let flow = try FlowLoader(sinks: [recording.name: recording.operations]).load(yaml: """
            name: labels
            match: {types: [\(ScrapReported.eventType)]}
            sink: recording
            operation: record
            steps:
              - enrich: {model: product.product, match: {default_code: /data/product}, fields: {name: /data/odoo/name, uom_id: /data/odoo/uom}}
              - map:
                  /data/label: "data.odoo.name + ' in ' + data.odoo.uom[1]"
                  /data/double: data.quantity * 2
            """, file: "labels.yaml")
        let router = DeliveryRouter(store: store, flows: [flow], logger: logger)
        let worker = DeliveryWorker(store: store, flows: [flow], sinks: [recording, odoo], owner: "e2e", metricsFactory: NOOPMetricsHandler.instance, logger: logger)
        try await send("en-\(scenarios.run)-1", ScrapReported.eventType, ["product": "FURN_7023", "quantity": .number("1.5"), "uom": "H87"])
        try await send("en-\(scenarios.run)-2", ScrapReported.eventType, ["product": .string("NO-SUCH-\(scenarios.run)"), "quantity": 1, "uom": "H87"])
        while try await router.routeOnce() > 0 {}
        while try await worker.runOnce() > 0 {}
        let delivered = try JSONParser().parse(try #require(recording.envelopes.first))
        let name = try #require(delivered["data"]?["odoo"]?["name"]?.stringValue)
        #expect(!name.isEmpty)
        #expect(delivered["data"]?["label"]?.stringValue?.hasPrefix(name + " in ") == true)
        #expect(delivered["data"]?["double"] == .number("3"))
        #expect(recording.envelopes.count == 1)
        let dead = try await store.deliveries(DeliveryQuery(states: [.dead]))
        #expect(dead.count == 1)
        #expect(dead.first?.lastErrorCode == "MW-FLOW-0008")
        #expect(dead.first?.lastError == "step 1: enrich: no product.product with default_code = \"NO-SUCH-\(scenarios.run)\" in odoo")
    }
}

/// Starts at the real time: the simulator and Odoo write real dates next to it.
typealias TestDate = TestClock
