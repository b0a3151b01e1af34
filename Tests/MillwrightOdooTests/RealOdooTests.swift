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

    @Test func crashBetweenCallsChangesOdooOnce() async throws {
        let client = try await RealOdoo.connect()
        try await Scenarios(client).crashBetweenCalls(maxCuts: 12)
        await client.shutdown()
    }
}
