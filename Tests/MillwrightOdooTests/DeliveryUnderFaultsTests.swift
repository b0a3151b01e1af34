import Foundation
import Logging
import Metrics
import MillwrightCore
import MillwrightEngine
import MillwrightServer
import MillwrightSQLite
import MillwrightTesting
import Testing

@testable import MillwrightOdoo

/// A production day through the whole engine against the simulator, with duplicates, events out of
/// order (the final completion before the one it follows, put right by `sequence`), transient faults
/// (conflicts, dropped connections with and without the effect committed, overload) and permanent
/// errors (unknown product, wrong unit dimension). The simulator's final state must equal the expected
/// state exactly; every permanent error is a dead letter with its reason; after fixing the data and
/// replaying, the state is complete.
@Suite("Delivery under faults")
struct DeliveryUnderFaultsTests {
    @Test func aProductionDayWithFaultsEndsExactlyRight() async throws {
        try await withOdooSimulator { sim in
            var settings = OdooSettings(
                url: "http://127.0.0.1:\(sim.port)", database: sim.database, login: "admin", apiKey: sim.adminAPIKey, callsPerSecond: nil,
                callTimeout: .seconds(2), maxAttempts: 2)
            settings.backoff = { _, _ in .zero }
            let client = try await OdooClient.connect(settings)
            let e2e = try EndToEnd(client)
            let s = e2e.scenarios
            try await s.stock("FURN_7111", 100_000)
            try await s.stock("FURN_8111", 100_000)
            _ = try await s.ops.upsertProducts([try s.decode(ProductUpserted.self, ["product": "MW-COUNT-1", "name": "Counted part", "uom": "H87"])])

            // 12 orders of 10 units (MILLWRIGHT_E2E_ORDERS for a bigger run); each gets 10 completions of 1
            // (the last one final).
            let count = ProcessInfo.processInfo.environment["MILLWRIGHT_E2E_ORDERS"].flatMap(Int.init) ?? 12
            var orders: [String] = []
            for _ in 0..<count {
                let order = try await s.makeOrder("FURN_7023", quantity: 10)
                _ = try await s.ops.confirmOrder(OrderReference(rawValue: order.name))
                orders.append(order.name)
            }
            var sent = 0
            var rng = SeededGenerator(state: 42)
            // Each event carries its `sequence`; for every third order the final completion (step 9) arrives
            // before step 8: delivered in sequence order, the final one still closes the order last.
            for step in 0..<10 {
                for (o, order) in orders.enumerated() {
                    let swapped = o % 3 == 0 && (step == 8 || step == 9)
                    let actual = swapped ? 17 - step : step
                    var data: JSONValue = ["order": .string(order), "quantity": 1, "uom": "H87"]
                    if actual == 9, case .object(var d) = data { d["final"] = true; data = .object(d) }
                    let id = "done-\(o)-\(actual)"
                    try await e2e.send(id, ProductionCompleted.eventType, data, sequence: actual + 1)
                    sent += 1
                    if Int.random(in: 0..<20, using: &rng) == 0 { try await e2e.send(id, ProductionCompleted.eventType, data, sequence: actual + 1) }  // exact duplicate
                }
            }
            // Counts (absolute, idempotent) and two permanent errors.
            for i in 0..<20 {
                try await e2e.send("count-\(i)", InventoryCounted.eventType, ["product": "MW-COUNT-1", "location": "WH/Stock", "quantity": .number(String(90_000 + i)), "uom": "H87"])
            }
            try await e2e.send("bad-product", ScrapReported.eventType, ["product": "MW-NEW-1", "quantity": 1, "uom": "H87"])
            try await e2e.send("bad-unit", ScrapReported.eventType, ["product": "FURN_7111", "quantity": 1, "uom": "KGM"])

            // Transient faults, spread over the run: 500s (Odoo's SerializationFailure after its own retries),
            // dropped connections with and without the effect applied, overload, and timeouts. (A 500 with a
            // ValueError is not among them: it is a permanent error, and a dead letter.)
            sim.inject(.serializationFailure, model: "mrp.production", method: "write", times: 7)
            sim.inject(.dropConnection(afterApplying: true), model: "mrp.production", method: "button_mark_done", times: 5)
            sim.inject(.dropConnection(afterApplying: false), model: "mrp.production", method: "set_qty_producing", times: 5)
            sim.inject(.overloaded(retryAfter: 0), model: "stock.quant", method: "create", times: 3)
            sim.inject(.delay(.seconds(3)), model: "mrp.production", method: "search_read", times: 2)  // past the 2 s call timeout

            let started = ContinuousClock.now
            try await e2e.drainWithRetries(rounds: 200)
            print("production day: \(sent) completions of \(count) orders delivered in \(ContinuousClock.now - started)")

            // Every order: exactly 10 produced over its chain, all done, one backorder per partial.
            for order in orders {
                let chain = try await s.ops.findOrders(OrderQuery(name: OrderReference(rawValue: order)))
                #expect(chain.reduce(Decimal(0)) { $0 + $1.quantityProduced } == 10, "\(order)")
                #expect(chain.allSatisfy { $0.state == "done" }, "\(order)")
                #expect(chain.count == 10, "\(order): -001 … -010")
            }
            #expect(sim.onHand(productCode: "MW-COUNT-1") == 90_019, "the last count wins: one partition, in order")
            let dead = try await e2e.store.deliveries(DeliveryQuery(states: [.dead]))
            #expect(Set(dead.compactMap(\.lastErrorCode)) == ["MW-ODOO-0015", "MW-ODOO-0016"])
            #expect(dead.contains { $0.lastError?.contains("MW-NEW-1") == true })
            #expect(dead.contains { $0.lastError?.contains("dimension") == true })
            #expect(sim.pendingFaults == 0, "every injected fault was met")

            // Fix the data (the product now exists; the bad unit stays bad) and replay both.
            _ = try await s.ops.upsertProducts([try s.decode(ProductUpserted.self, ["product": "MW-NEW-1", "name": "New part", "uom": "H87"])])
            try await s.stock("MW-NEW-1", 5)
            for d in dead { _ = try await e2e.store.replay(d.id, at: Date()) }
            try await e2e.drainWithRetries(rounds: 20)
            let stillDead = try await e2e.store.deliveries(DeliveryQuery(states: [.dead]))
            #expect(stillDead.count == 1)
            #expect(stillDead.first?.lastErrorCode == "MW-ODOO-0016")
            #expect(sim.onHand(productCode: "MW-NEW-1") == 4, "scrapped once after the replay")
            let deliveries = try await e2e.store.deliveries(DeliveryQuery(limit: 1_000_000))
            #expect(deliveries.count == sent + 22, "one delivery per distinct event: duplicates were never events")
        }
    }
}


extension DeliveryUnderFaultsTests {
    /// 650 product events through the built-in flow: micro-batches of 300 make three `create` calls, not
    /// 650; one product with a unit Odoo lacks is a dead letter of its own.
    @Test func productUpsertsAreMicroBatchedIntoFewOdooCalls() async throws {
        try await withOdooSimulator { sim in
            var settings = OdooSettings(url: "http://127.0.0.1:\(sim.port)", database: sim.database, login: "admin", apiKey: sim.adminAPIKey, callsPerSecond: nil)
            settings.backoff = { _, _ in .zero }
            let e2e = try EndToEnd(try await OdooClient.connect(settings))
            for i in 0..<650 {
                try await e2e.send("p-\(i)", ProductUpserted.eventType, ["product": .string("MB-\(i)"), "name": .string("Batched \(i)"), "uom": i == 7 ? "PR" : "H87"])
            }
            try await e2e.drainWithRetries(rounds: 10)
            let creates = sim.callLog.filter { $0.model == "product.product" && $0.method == "create" }
            #expect(creates.count == 3, "300 + 300 + 50")
            #expect(sim.productID(code: "MB-649") != nil)
            #expect(sim.productID(code: "MB-7") == nil)
            let dead = try await e2e.store.deliveries(DeliveryQuery(states: [.dead]))
            #expect(dead.count == 1)
            #expect(dead.first?.lastErrorCode == "MW-ODOO-0016")
            #expect(try await e2e.store.deliveries(DeliveryQuery(states: [.done], limit: 1000)).count == 649)
        }
    }
}

extension DeliveryUnderFaultsTests {
    /// Odoo goes away (every call's connection is dropped) while completions are pending: the breaker
    /// opens after 5 failures, only probes reach Odoo while it is open, and when Odoo is back everything
    /// drains, each order's completions in order.
    @Test func anOdooOutageOpensTheBreakerThenEverythingDrainsInOrder() async throws {
        try await withOdooSimulator { sim in
            var settings = OdooSettings(url: "http://127.0.0.1:\(sim.port)", database: sim.database, login: "admin", apiKey: sim.adminAPIKey, callsPerSecond: nil, maxAttempts: 1)
            settings.backoff = { _, _ in .zero }
            let e2e = try EndToEnd(try await OdooClient.connect(settings))
            let s = e2e.scenarios
            try await s.stock("FURN_7111", 10_000)
            try await s.stock("FURN_8111", 10_000)
            var orders: [String] = []
            for _ in 0..<4 {
                let order = try await s.makeOrder("FURN_7023", quantity: 3)
                _ = try await s.ops.confirmOrder(OrderReference(rawValue: order.name))
                orders.append(order.name)
            }
            for step in 0..<3 {
                for (o, order) in orders.enumerated() {
                    var data: JSONValue = ["order": .string(order), "quantity": 1, "uom": "H87"]
                    if step == 2, case .object(var d) = data { d["final"] = true; data = .object(d) }
                    try await e2e.send("out-\(o)-\(step)", ProductionCompleted.eventType, data, sequence: step + 1)
                }
            }
            sim.inject(.dropConnection(afterApplying: false), times: 1_000)  // Odoo is down
            let callsBefore = sim.callLog.count
            let breakers = CircuitBreakers(threshold: 5, cooldown: 10, maxCooldown: 40)
            let (router, worker, clock) = try e2e.engine(breakers: breakers)
            while try await router.routeOnce() > 0 {}
            for _ in 0..<20 {  // 20 rounds of 5 s: the outage lasts 100 s
                _ = try await worker.runOnce()
                clock.advance(5)
            }
            let duringOutage = sim.callLog.count - callsBefore
            #expect(breakers.state(of: "odoo").phase != .closed)
            #expect(duringOutage <= 12, "the breaker bounds the calls while Odoo is down (made \(duringOutage))")

            // Odoo is back.
            sim.clearFaults()
            for _ in 0..<40 {
                while try await worker.runOnce() > 0 {}
                if try await e2e.store.deliveries(DeliveryQuery(states: [.pending, .retrying, .inFlight], limit: 1)).isEmpty { break }
                clock.advance(60)
            }
            #expect(breakers.state(of: "odoo").phase == .closed)
            for order in orders {
                let chain = try await s.ops.findOrders(OrderQuery(name: OrderReference(rawValue: order)))
                #expect(chain.reduce(Decimal(0)) { $0 + $1.quantityProduced } == 3, "\(order)")
                #expect(chain.allSatisfy { $0.state == "done" }, "\(order): the final came last")
            }
            #expect(try await e2e.store.deliveries(DeliveryQuery(states: [.dead])).isEmpty)
        }
    }
}
