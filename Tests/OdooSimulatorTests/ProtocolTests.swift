import AsyncHTTPClient
import Foundation
import MillwrightCore
import MillwrightTesting
import NIOHTTP1
import Testing

/// Error shapes, authentication, access rights and JSON-RPC (docs/odoo-research.md §10).
@Suite struct ProtocolTests {
    @Test func authenticationErrorsAreWerkzeugShaped() async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            let none = try await client.send(method: .POST, path: "/json/2/res.users/context_get", body: "{}", headers: [
                ("X-Odoo-Database", "mfg"), ("Content-Type", "application/json"),
            ])
            #expect(none.status == 401)
            #expect(none.headers.first(name: "WWW-Authenticate") == "Bearer")
            #expect(none.json?["name"] == "werkzeug.exceptions.Unauthorized")
            #expect(none.json?["arguments"] == ["User not authenticated, use an API Key with a Bearer Authorization header.", 401])

            let wrong = try await SimulatorClient(odoo, apiKey: "nope").json2("res.users", "context_get")
            #expect(wrong.status == 401)
            #expect(wrong.json?["message"] == "Invalid apikey")
            #expect(wrong.contentType == "application/json; charset=utf-8")

            let database = try await client.send(method: .POST, path: "/json/2/res.users/context_get", body: "{}", headers: [
                ("Authorization", "bearer \(odoo.adminAPIKey)"), ("X-Odoo-Database", "other"), ("Content-Type", "application/json"),
            ])
            #expect(database.status == 404)
            #expect(database.contentType == "text/html; charset=utf-8")

            let noDatabase = try await client.send(method: .POST, path: "/json/2/res.users/context_get", body: "{}", headers: [
                ("Authorization", "bearer \(odoo.adminAPIKey)"), ("Content-Type", "application/json"),
            ])
            #expect(noDatabase.json == ["lang": "en_US", "tz": "Europe/Brussels", "uid": 2])
        }
    }

    @Test func requestErrorsHaveOdoosStatusesAndNames() async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            let cases: [(String, String, JSONValue, Int, String)] = [
                ("no.such.model", "search", ["domain": []], 404, "werkzeug.exceptions.NotFound"),
                ("product.product", "no_such_method", [:], 404, "werkzeug.exceptions.NotFound"),
                ("product.product", "_compute_display_name", ["ids": [1]], 403, "odoo.exceptions.AccessError"),
                ("product.product", "create", ["vals_list": [["nam": "x"]]], 500, "builtins.ValueError"),
                ("product.product", "create", ["vals_list": [["name": "x", "list_price": "abc"]]], 500, "builtins.ValueError"),
                ("product.product", "write", ["ids": [999999999], "vals": ["name": "x"]], 404, "odoo.exceptions.MissingError"),
                ("mrp.production", "create", ["vals_list": [[:]]], 422, "odoo.exceptions.ValidationError"),
                ("product.product", "search_read", ["domain": [], "fieldz": ["name"]], 500, "builtins.TypeError"),
                ("product.product", "create", ["ids": [1], "vals_list": [["name": "x"]]], 422, "werkzeug.exceptions.UnprocessableEntity"),
                ("product.product", "write", ["ids": [62]], 422, "werkzeug.exceptions.UnprocessableEntity"),
            ]
            for (model, method, body, status, name) in cases {
                let response = try await client.json2(model, method, body)
                #expect(response.status == status, "\(model)/\(method)")
                #expect(response.json?["name"]?.stringValue == name, "\(model)/\(method)")
                #expect(response.json?.objectValue.map { Set($0.keys) } == ["arguments", "context", "debug", "message", "name"])
            }
            // read skips missing ids; a single dict creates one record and answers a list; limit 0 is no limit.
            #expect(try await client.call("product.product", "read", ["ids": [62, 999999], "fields": ["name"]]) == [["id": 62, "name": "Wood Panel"]])
            #expect(try await client.call("maintenance.equipment", "create", ["vals_list": ["name": "single"]]).arrayValue?.count == 1)
            #expect(try await client.call("product.product", "search_read", ["domain": [["default_code", "=", "FURN_7023"]], "fields": ["name"], "limit": 0]).arrayValue?.count == 1)
            let badTarget = try await client.json2("stock.move.line", "write", ["ids": [], "vals": ["lot_id": 99999999]])
            #expect(badTarget.status == 404)
            #expect(badTarget.json?["message"] == "Record does not exist or has been deleted.\n(Record: stock.lot(99999999,), User: 2)")
            let missing = try await client.json2("product.product", "write", ["ids": [999999999], "vals": ["name": "x"]])
            #expect(missing.json?["message"] == "Record does not exist or has been deleted.\n(Record: product.product(999999999,), User: 2)")

            let badJSON = try await client.send(method: .POST, path: "/json/2/res.users/context_get", body: "{not json", headers: [
                ("Authorization", "bearer \(odoo.adminAPIKey)"), ("X-Odoo-Database", "mfg"), ("Content-Type", "application/json"),
            ])
            #expect(badJSON.status == 400)
            #expect(badJSON.json?["name"] == "werkzeug.exceptions.BadRequest")

            let get = try await client.send(method: .GET, path: "/json/2/product.product/search", body: nil, headers: [])
            #expect(get.status == 404)
            #expect(get.json?["message"] == "Did you mean POST /json/2/<model>/<method>?")

            // JSON routes want a JSON content type: Werkzeug's 415 page otherwise, for JSON-RPC too.
            let untyped = try await client.send(method: .POST, path: "/json/2/res.users/context_get", body: "{}", headers: [
                ("Authorization", "bearer \(odoo.adminAPIKey)"), ("X-Odoo-Database", "mfg"),
            ])
            #expect(untyped.status == 415)
            #expect(untyped.contentType == "text/html; charset=utf-8")
            let untypedRPC = try await client.send(method: .POST, path: "/jsonrpc", body: "{}", headers: [])
            #expect(untypedRPC.status == 415)
            let badRPC = try await client.send(method: .POST, path: "/jsonrpc", body: "nope", headers: [("Content-Type", "application/json")])
            #expect(badRPC.status == 400)
            #expect(badRPC.text == "Invalid JSON data")

            let version = try await client.send(method: .GET, path: "/web/version", body: nil, headers: [])
            #expect(version.headers.first(name: "Connection") == "close")
            #expect(version.json == ["version": "19.0", "version_info": [19, 0, 0, "final", 0, ""]])
        }
    }

    @Test func hostileBodiesGetOdooErrorsNotCrashes() async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            let bodies: [(String, String, JSONValue)] = [
                ("product.product", "create", ["vals_list": [1, "x", nil]]),
                ("product.product", "create", ["vals_list": "x"]),
                ("product.product", "search_read", ["domain": "x"]),
                ("product.product", "search_read", ["domain": [["", "=", 1]]]),
                ("product.product", "search_read", ["domain": [["name", "~", 1]]]),
                ("product.product", "search_read", ["domain": ["|", ["name", "=", 1]]]),
                ("product.product", "search_read", ["domain": [], "order": "nope desc"]),
                ("product.product", "load", ["fields": ["id", "uom_id/id"], "data": [[".", "nope.nope"], [], [1, 2, 3]]]),
                ("product.product", "write", ["ids": [62], "vals": ["uom_id": "x"]]),
                ("mrp.production", "write", ["ids": "x", "vals": ["lot_producing_ids": [[6], [9, 9, 9], "x"]]]),
                ("mrp.production", "set_qty_producing", ["ids": []]),
                ("stock.quant", "formatted_read_group", ["groupby": ["nope"], "aggregates": [":"]]),
                ("stock.quant", "read_group", ["domain": [], "fields": [":"], "groupby": []]),
                ("ir.model.access", "check", ["model": [1], "mode": nil]),
            ]
            for (model, method, body) in bodies {
                let response = try await client.json2(model, method, body)
                #expect((200..<600).contains(response.status), "\(model)/\(method)")
                #expect(response.json != nil, "\(model)/\(method): \(response.text.prefix(200))")
            }
            #expect(try await client.json2("res.users", "context_get").status == 200)
        }
    }

    @Test func userWithoutManufacturingRightsGetsAccessErrors() async throws {
        try await withOdooSimulator { odoo in
            let bridge = SimulatorClient(odoo, apiKey: odoo.mesBridgeAPIKey)
            #expect(try await bridge.call("res.users", "context_get")["uid"] == 7)
            let read = try await bridge.json2("mrp.production", "search_read", ["domain": [], "fields": ["name"], "limit": 1])
            #expect(read.status == 403)
            #expect(read.json?["message"]?.stringValue?.hasPrefix("You are not allowed to access 'Manufacturing Order' (mrp.production) records.") == true)
            let create = try await bridge.json2("mrp.production", "create", ["vals_list": [["product_id": 62, "product_qty": 1]]])
            #expect(create.json?["message"]?.stringValue?.hasPrefix("You are not allowed to create 'Production Group' (mrp.production.group) records.") == true)
            let write = try await bridge.json2("product.product", "write", ["ids": [62], "vals": ["name": "x"]])
            #expect(write.status == 403)
            #expect(try await bridge.call("stock.quant", "search_read", ["domain": [], "fields": ["quantity"], "limit": 1]).arrayValue?.count == 1)
            #expect(try await bridge.call("ir.model.access", "check", ["model": "mrp.production", "mode": "write", "raise_exception": false]) == false)
            #expect(try await bridge.call("ir.model.access", "check", ["model": "product.product", "mode": "read", "raise_exception": false]) == true)
            #expect(try await bridge.call("mrp.production", "has_access", ["operation": "read"]) == false)
            #expect(try await SimulatorClient(odoo).call("ir.model.access", "check", ["model": "mrp.production", "mode": "write", "raise_exception": false]) == true)
            #expect(try await SimulatorClient(odoo).call("res.users", "read", ["ids": [2], "fields": ["login"]]) == [["id": 2, "login": "admin"]])
        }
    }

    @Test func jsonRPCAnswersErrorsWithStatus200() async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            func rpc(_ service: String, _ method: String, _ args: JSONValue) async throws -> SimulatorResponse {
                let body: JSONValue = ["jsonrpc": "2.0", "method": "call", "id": 1, "params": ["service": .string(service), "method": .string(method), "args": args]]
                return try await client.send(method: .POST, path: "/jsonrpc", body: body.canonicalText, headers: [("Content-Type", "application/json")])
            }
            let key = JSONValue.string(odoo.adminAPIKey)
            #expect(try await rpc("common", "version", []).json?["result"]?["server_serie"] == "19.0")
            #expect(try await rpc("common", "authenticate", ["mfg", "admin", key, [:]]).json?["result"] == 2)
            #expect(try await rpc("common", "authenticate", ["mfg", "admin", "wrong", [:]]).json?["result"] == false)
            #expect(try await rpc("common", "login", ["mfg", "mes-bridge", .string(odoo.mesBridgeAPIKey)]).json?["result"] == 7)
            let check = try await rpc("object", "execute_kw", ["mfg", 7, .string(odoo.mesBridgeAPIKey), "ir.model.access", "check", ["mrp.production", "write", false]])
            #expect(check.json?["result"] == false)
            let single = try await rpc("object", "execute_kw", ["mfg", 2, key, "maintenance.equipment", "create", [["name": "one"]]])
            #expect(single.json?["result"]?.int != nil)
            let found = try await rpc("object", "execute_kw", ["mfg", 2, key, "product.product", "search_read", [[["default_code", "=", "FURN_7023"]]], ["fields": ["name"]]])
            #expect(found.json?["result"] == [["id": 62, "name": "Wood Panel"]])
            let denied = try await rpc("object", "execute_kw", ["mfg", 2, "wrong", "product.product", "search_read", [[]], ["limit": 1]])
            #expect(denied.status == 200)
            #expect(denied.json?["error"]?["message"] == "Odoo Server Error")
            #expect(denied.json?["error"]?["data"]?["name"] == "odoo.exceptions.AccessDenied")
            let unknown = try await rpc("object", "execute_kw", ["mfg", 2, key, "no.such.model", "search", [[]]])
            #expect(unknown.json?["error"]?["data"]?["message"] == "Object no.such.model doesn't exist")
            let mo = try await rpc("object", "execute_kw", ["mfg", 2, key, "mrp.production", "create", [[["product_id": 62, "product_qty": 1]]]])
            let id = try #require(mo.json?["result"]?.first)
            let confirm = try await rpc("object", "execute_kw", ["mfg", 2, key, "mrp.production", "action_confirm", [[id]]])
            #expect(confirm.json?["result"] == true)
            let bridgeKey = JSONValue.string(odoo.mesBridgeAPIKey)
            let access = try await rpc("object", "execute_kw", ["mfg", 7, bridgeKey, "mrp.production", "search_read", [[]], ["fields": ["name"], "limit": 1]])
            #expect(access.json?["error"]?["data"]?["name"] == "odoo.exceptions.AccessError")
            #expect(odoo.callLog.last?.protocol == .jsonRPC)
            #expect(odoo.callLog.last?.model == "mrp.production")
            #expect(odoo.callLog.last?.method == "search_read")
            #expect(odoo.callLog.last?.status == 200)
            #expect(odoo.callLog.last?.errorName == "odoo.exceptions.AccessError")
        }
    }
}
