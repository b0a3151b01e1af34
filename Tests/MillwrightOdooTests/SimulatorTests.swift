import Foundation
import MillwrightCore
import MillwrightTesting
import Testing

@testable import MillwrightOdoo

/// The connector against the Odoo simulator (MillwrightTesting), on every `swift test`: the same
/// scenarios as the real-Odoo suite, every error kind through injected faults, and idempotency with a
/// crash after each call.
@Suite("Odoo connector against the simulator", .serialized)
struct SimulatorTests {
    static func client(_ sim: OdooSimulator, _ kind: OdooProtocol? = nil, key: String? = nil, login: String = "admin", timeout: Duration = .seconds(30), attempts: Int = 4) async throws -> OdooClient {
        var settings = OdooSettings(
            url: "http://127.0.0.1:\(sim.port)", database: sim.database, login: login, apiKey: key ?? sim.adminAPIKey, preferredProtocol: kind,
            callsPerSecond: nil, callTimeout: timeout, maxAttempts: attempts)
        settings.backoff = { _, _ in .zero }  // no real waiting in unit tests
        return try await OdooClient.connect(settings)
    }

    @Test("every operation, twice, verified by reading the simulator back", arguments: [OdooProtocol.json2, .jsonrpc])
    func operations(kind: OdooProtocol) async throws {
        try await withOdooSimulator { sim in
            let client = try await Self.client(sim, kind)
            #expect(client.protocolKind == kind)
            try await Scenarios(client).all()
        }
    }

    @Test func aCrashAfterAnyCallChangesOdooOnce() async throws {
        try await withOdooSimulator { sim in
            try await Scenarios(try await Self.client(sim)).crashBetweenCalls(maxCuts: 20)
        }
    }

    @Test func anOperationReportCutAfterAnyCallChangesOdooOnce() async throws {
        try await withOdooSimulator { sim in
            try await Scenarios(try await Self.client(sim)).operationReportCrashes(maxCuts: 14)
        }
    }

    @Test func enrichReadsOdooAndMapUsesIt() async throws {
        try await withOdooSimulator { sim in
            try await EndToEnd(try await Self.client(sim)).enrichFlow()
        }
    }

    @Test func operationReportsThroughTheDeliveryEngine() async throws {
        try await withOdooSimulator { sim in
            try await EndToEnd(try await Self.client(sim)).operationFlow()
        }
    }

    @Test func endToEndThroughTheDeliveryEngine() async throws {
        try await withOdooSimulator { sim in
            try await EndToEnd(try await Self.client(sim)).completionFlow()
        }
    }

    @Test func aDroppedAnswerAfterMarkDoneIsResumedNotRepeated() async throws {
        try await withOdooSimulator { sim in
            let client = try await Self.client(sim, attempts: 1)
            let s = Scenarios(client)
            try await s.stock("FURN_7111", 100)
            try await s.stock("FURN_8111", 100)
            let order = try await s.makeOrder("FURN_7023", quantity: 2)
            _ = try await s.ops.confirmOrder(OrderReference(rawValue: order.name))
            sim.inject(.dropConnection(afterApplying: true), model: "mrp.production", method: "button_mark_done")
            let event = try s.decode(ProductionCompleted.self, ["order": .string(order.name), "quantity": 1, "uom": "H87"])
            await #expect { try await s.ops.postCompletion(event, key: "drop-1") } throws: { ($0 as? OdooError)?.kind == .connection }
            #expect(try await s.ops.postCompletion(event, key: "drop-1").effect == .alreadyApplied)
            let chain = try await s.ops.findOrders(OrderQuery(name: OrderReference(rawValue: order.name)))
            #expect(chain.reduce(Decimal(0)) { $0 + $1.quantityProduced } == 1)
            #expect(chain.count == 2)
        }
    }

    @Test func faultsBecomeTheirErrorKinds() async throws {
        try await withOdooSimulator { sim in
            let client = try await Self.client(sim, timeout: .milliseconds(300), attempts: 1)
            func kind(of fault: OdooSimulatedFault) async -> OdooError.Kind? {
                sim.inject(fault, model: "product.product", method: "write")
                do {
                    try await client.write("product.product", [sim.productID(code: "FURN_7023") ?? 0], ["name": "x"])
                    return nil
                } catch {
                    return error.kind
                }
            }
            #expect(await kind(of: .serverError) == .badRequest, "Odoo's 500 ValueError is a bad request, not retried")
            #expect(await kind(of: .serializationFailure) == .conflict)
            #expect(await kind(of: .overloaded(retryAfter: 3)) == .overloaded)
            #expect(await kind(of: .dropConnection(afterApplying: false)) == .connection)
            #expect(await kind(of: .delay(.seconds(2))) == .timeout)

            sim.inject(.overloaded(retryAfter: 3), model: "product.product", method: "read")
            do {
                _ = try await client.read("product.product", [sim.productID(code: "FURN_7023") ?? 0], fields: ["name"])
                Issue.record("expected overload")
            } catch let error as OdooError {
                #expect(error.retryAfter == 3)
                #expect(error.retryable)
            }
        }
    }

    @Test func safeCallsAreRetriedInsideTheClient() async throws {
        try await withOdooSimulator { sim in
            let client = try await Self.client(sim, attempts: 3)
            let id = try #require(sim.productID(code: "FURN_7023"))
            sim.inject(.serializationFailure, model: "product.product", method: "write", times: 2)
            try await client.write("product.product", [id], ["name": "Renamed"])  // rolled back twice, then applied
            sim.inject(.dropConnection(afterApplying: false), model: "product.product", method: "search_read", times: 2)
            let rows = try await client.searchRead("product.product", [.leaf("id", "=", .int(id))], fields: ["name"])
            #expect(rows.first?.string("name") == "Renamed")
            sim.inject(.dropConnection(afterApplying: false), model: "product.product", method: "write")
            await #expect { try await client.write("product.product", [id], ["name": "x"]) } throws: { ($0 as? OdooError)?.kind == .connection }
        }
    }

    @Test func authenticationAndAccessErrors() async throws {
        try await withOdooSimulator { sim in
            await #expect { try await Self.client(sim, key: "wrong") } throws: { ($0 as? OdooError)?.kind == .authentication }
            await #expect { try await Self.client(sim, .jsonrpc, key: "wrong") } throws: { ($0 as? OdooError)?.kind == .authentication }
            let bridge = try await Self.client(sim, key: sim.mesBridgeAPIKey, login: "mes-bridge")
            do {
                _ = try await bridge.searchRead("mrp.production", [], fields: ["name"], limit: 1)
                Issue.record("mes-bridge must not read production orders")
            } catch let error as OdooError {
                #expect(error.kind == .accessDenied)
                #expect(error.message.hasPrefix("user 'mes-bridge' lacks read access on mrp.production"))
            }
            let check = try await OdooAccessCheck.run(bridge)
            #expect(check.gaps.contains { $0.hasPrefix("mrp.production:") })
            let admin = try await OdooAccessCheck.run(try await Self.client(sim))
            #expect(admin.gaps.isEmpty)
        }
    }
}
