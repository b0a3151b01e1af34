import AsyncHTTPClient
import Foundation
import MillwrightCore
import MillwrightTesting
import NIOHTTP1
import Testing

/// Every injectable fault, as a connector's engine sees it.
@Suite struct FaultTests {
    private func createOrder(_ client: SimulatorClient) async throws -> SimulatorResponse {
        try await client.json2("mrp.production", "create", ["vals_list": [["product_id": 62, "product_qty": 1]]])
    }

    @Test func serverErrorAndSerializationFailureApplyNothing() async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            odoo.inject(.serverError, model: "mrp.production", method: "create")
            odoo.inject(.serializationFailure, model: "mrp.production")
            let first = try await createOrder(client)
            #expect(first.status == 500)
            #expect(first.json?["name"] == "builtins.ValueError")
            let second = try await createOrder(client)
            #expect(second.status == 500)
            #expect(second.json?["name"] == "psycopg2.errors.SerializationFailure")
            #expect(second.json?["message"] == "could not serialize access due to concurrent update\n")
            #expect(odoo.records(model: "mrp.production").isEmpty)
            #expect(try await createOrder(client).status == 200)
            #expect(odoo.records(model: "mrp.production").count == 1)
            #expect(odoo.callLog.map(\.fault) == [.serverError, .serializationFailure, nil])
            #expect(odoo.pendingFaults == 0)
        }
    }

    @Test func faultsMatchModelAndMethodAndCountDown() async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            odoo.inject(.overloaded(retryAfter: 7), method: "search_read", times: 2)
            #expect(try await createOrder(client).status == 200)
            for _ in 0..<2 {
                let busy = try await client.json2("product.product", "search_read", ["domain": [], "fields": ["name"], "limit": 1])
                #expect(busy.status == 503)
                #expect(busy.headers.first(name: "Retry-After") == "7")
            }
            #expect(try await client.json2("product.product", "search_read", ["domain": [], "fields": ["name"], "limit": 1]).status == 200)
        }
    }

    @Test(arguments: [false, true])
    func droppedConnectionsCommitOnlyWhenTold(afterApplying: Bool) async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            odoo.inject(.dropConnection(afterApplying: afterApplying), model: "mrp.production", method: "create")
            await #expect(throws: (any Error).self) { _ = try await createOrder(client) }
            #expect(odoo.records(model: "mrp.production").count == (afterApplying ? 1 : 0))
            #expect(odoo.callLog.first?.status == nil)
            let retried = try await createOrder(client)
            #expect(retried.status == 200)
        }
    }

    @Test func delayedResponsesArriveLate() async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            odoo.inject(.delay(.milliseconds(300)), model: "res.users")
            let clock = ContinuousClock()
            let start = clock.now
            let response = try await client.json2("res.users", "context_get")
            #expect(response.status == 200)
            #expect(clock.now - start >= .milliseconds(300))
        }
    }

    @Test func jsonRPCFaultsUseTheErrorObject() async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            odoo.inject(.serializationFailure, model: "product.product", method: "search_read")
            let body: JSONValue = ["jsonrpc": "2.0", "method": "call", "id": 1, "params": [
                "service": "object", "method": "execute_kw",
                "args": ["mfg", 2, .string(odoo.adminAPIKey), "product.product", "search_read", [[]], ["limit": 1]],
            ]]
            let response = try await client.send(method: .POST, path: "/jsonrpc", body: body.canonicalText, headers: [("Content-Type", "application/json")])
            #expect(response.status == 200)
            #expect(response.json?["error"]?["data"]?["name"] == "psycopg2.errors.SerializationFailure")
        }
    }
}
