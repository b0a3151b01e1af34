import Foundation
import HTTPTypes
import HummingbirdTesting
import MillwrightAPI
import MillwrightCore
import MillwrightServer
import Testing

/// Every registered route: no token → 401, a token without the scope → 403, the right scope → allowed.
/// A route added without an entry in `routeScopes` fails this test.
@Suite("Route coverage")
struct RouteCoverageTests {
    static let allScopes = Governance.knownScopes.filter { $0 != "admin" }

    func concretePath(_ path: String) -> String {
        path.replacingOccurrences(of: "{seq}", with: "1")
            .replacingOccurrences(of: "{type}", with: "mfg.lot.created.v1")
            .replacingOccurrences(of: "{name}", with: "probe")
            .replacingOccurrences(of: "{id}", with: "mw_nothere")
            .replacingOccurrences(of: "/v1/hooks/{source}/{secret}", with: "/v1/hooks/probe-odoo/not-the-secret-0000")
            .replacingOccurrences(of: "{source}", with: "probe")
    }

    func body(for method: String, path: String) -> String? {
        switch (method, path) {
        case ("POST", "/v1/events"): count(id: "probe")
        case ("POST", "/v1/service-accounts"): #"{"name":"probe-account"}"#
        case ("POST", "/v1/service-accounts/{name}/tokens"): #"{"scopes":["events:read"]}"#
        case ("POST", _): "{}"
        default: nil
        }
    }

    @Test func everyRouteIsInTheTableAndEnforcesItsScope() async throws {
        try await withNode(environment: ["PROBE_HOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "PROBE_ODOO_SECRET": "probe-odoo-secret-0123456789"], configure: { c in
            var probe = HookSourceConfiguration(name: "probe", kind: .standardWebhooks)
            probe.secret = .environment("PROBE_HOOK_SECRET")
            probe.mapping.type = "mfg.inventory.counted.v1"
            var odoo = HookSourceConfiguration(name: "probe-odoo", kind: .odoo)
            odoo.secret = .environment("PROBE_ODOO_SECRET")
            odoo.allow = ["192.0.2.0/24"]
            c.api.hooks = [probe, odoo]
        }) { client, store in
            // The table and the router agree, both ways.
            var configuration = MillwrightConfiguration()
            configuration.dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("mw-rc-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: configuration.dataDirectory) }
            let parts = try await MillwrightNode(configuration: configuration, environment: ["MILLWRIGHT_ADMIN_TOKEN": adminToken], logger: .init(label: "t")).build()
            let registered = Set(parts.router.routes.map { "\($0.method.rawValue) \($0.path)" })
            try await parts.store.close()
            let table = Set(routeScopes.map { "\($0.method) \($0.path)" })
            #expect(registered == table, "router has \(registered.subtracting(table)), table has \(table.subtracting(registered))")
            // …and the OpenAPI document describes each of them.
            let document = OpenAPIDocument.make(catalogue: .v1, metricsRequireToken: false)
            var described = Set<String>()
            for (path, item) in document["paths"]?.objectValue ?? [:] {
                for method in item.objectValue?.keys ?? [:].keys { described.insert("\(method.uppercased()) \(path)") }
            }
            #expect(described == table, "OpenAPI lacks \(table.subtracting(described)), has extra \(described.subtracting(table))")

            for route in routeScopes {
                let method = HTTPRequest.Method(rawValue: route.method) ?? .get
                let uri = concretePath(route.path)
                let body = body(for: route.method, path: route.path)
                let contentType = body == nil ? nil : (route.path == "/v1/events" ? "application/cloudevents+json" : "application/json")
                let scope: String
                switch route.auth {
                case .none:
                    let open = try await client.send(method, uri, token: nil, contentType: nil)
                    #expect(open.status != .unauthorized, "\(route.method) \(route.path) needs no token")
                    continue
                case .hookVerification:
                    // Refused without the source's own credentials, and a bearer token (even admin) does not replace them.
                    let bare = try await client.send(method, uri, token: nil, contentType: "application/json", body: count(id: "probe"))
                    let admin = try await client.send(method, uri, token: adminToken, contentType: "application/json", body: count(id: "probe"))
                    for response in [bare, admin] {
                        #expect(response.status == .unauthorized || response.status == .forbidden, "\(route.method) \(route.path) gave \(response.status)")
                        #expect(response.json?["code"]?.stringValue == ProblemCode.webhookUnverified || response.json?["code"]?.stringValue == ProblemCode.addressNotAllowed)
                    }
                    continue
                case .token(let needed):
                    scope = needed
                }
                let none = try await client.send(method, uri, token: nil, contentType: contentType, body: body)
                #expect(none.status == .unauthorized, "\(route.method) \(route.path) without a token")

                let needed = scope == "events:publish:<type>" ? "events:publish:mfg.inventory.counted.v1" : scope
                // Every other scope, but not this one (nor anything that grants it).
                let others = Self.allScopes.filter { !Principal.scope($0, grants: needed) }
                let without = try await GovernanceTokens.issue(store: store, scopes: others)
                let forbidden = try await client.send(method, uri, token: without, contentType: contentType, body: body)
                #expect(forbidden.status == .forbidden, "\(route.method) \(route.path) without '\(needed)' gave \(forbidden.status)")
                #expect(forbidden.json?["missing_scope"]?.stringValue == needed)

                let with = try await GovernanceTokens.issue(store: store, scopes: [needed])
                let allowed = try await client.send(method, uri, token: with, contentType: contentType, body: body)
                #expect(allowed.status != .unauthorized && allowed.status != .forbidden, "\(route.method) \(route.path) with '\(needed)' gave \(allowed.status): \(allowed.text)")
            }
        }
    }
}

enum GovernanceTokens {
    static func issue(store: any Store, scopes: [String]) async throws -> String {
        try await Governance(store: store).issueToken(account: "probe-\(UUID().uuidString.prefix(8))", scopes: scopes, by: operatorActor).token
    }
}
