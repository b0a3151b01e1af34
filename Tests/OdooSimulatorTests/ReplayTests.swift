import Foundation
import MillwrightCore
import MillwrightTesting
import NIOHTTP1
import Testing

/// Replays every request recorded from a real Odoo 19 against a fresh simulator and compares status,
/// content type, error names and body shapes (`Tests/Fixtures/odoo19/*.jsonl`).
@Suite struct ReplayTests {
    /// Recordings sent but not compared, and why. Everything else must match.
    static let notCompared: [String: String] = [
        "apikey.user.description.create": "/web/dataset/call_kw needs a web session (cookie login); the simulator serves JSON-2 and /jsonrpc only",
        "apikey.user.make_key.identity-check": "web-client session route, not simulated",
        "apikey.user.run_check": "web-client session route, not simulated",
        "user.create.no-mrp": "creates the user mes-bridge, which the simulator seeds (uid 7); a second user with that login is refused (422), as Odoo refuses it",
        // These act on records whose creating calls were not recorded: the replay has no id to translate
        // them to. Each behaviour is covered by the behaviour tests instead (ProductionOrderTests, StockTests).
        "mo.skip_consumption.raw-moves": unrecorded("stock.move 106/107"),
        "concurrent.button_mark_done.0": unrecorded("mrp.production 16 (and needs two real workers racing)"),
        "concurrent.button_mark_done.1": unrecorded("mrp.production 16 (and needs two real workers racing)"),
        "mo.button_mark_done.done.skip_consumption": unrecorded("mrp.production 16"),
        "mo.button_mark_done.done.backorder-context": unrecorded("mrp.production 16"),
        "mo.action_cancel.done": unrecorded("mrp.production 16"),
        "mo.write.done-locked": unrecorded("mrp.production 16"),
        "mo.read.after-write-done": unrecorded("mrp.production 16"),
        "consume.move.set-lots": unrecorded("stock.move 115 and lot 19"),
        "consume.move.clear-leak": unrecorded("stock.move.line 103"),
        "consume.move.delete-line": unrecorded("stock.move 179"),
        "consume.move.write-quantity": unrecorded("stock.move 124"),
        "consume.button_mark_done.over-consumption": unrecorded("mrp.production 13 of another run"),
        "consume.button_mark_done.skip_consumption": unrecorded("mrp.production 13 of another run"),
        "partial.with-actual-consumption": unrecorded("mrp.production 14 of another run"),
        "serial.mo.write.lot_producing_ids": unrecorded("mrp.production 11"),
        "serial.mo.button_mark_done.partial": unrecorded("mrp.production 11"),
        "serial.mo.button_mark_done.duplicate-serial": unrecorded("mrp.production 12"),
        "serial.wizard.create": unrecorded("mrp.production 12"),
        "serial.wizard.action_apply": unrecorded("mrp.production 12, through the wizard made for it"),
        "count.quant.create.auto-apply": unrecorded("stock.lot 19"),
        "scrap.action_validate.insufficient": unrecorded("stock.scrap 2 of another run"),
        "scrap.do_scrap.force": unrecorded("stock.scrap 2 of another run"),
        "hold.move.set-lot": unrecorded("stock.move 138 (its id came from a read that was not recorded)"),
        "hold2.move-lines.reserved": unrecorded("stock.move.line 130 (id from an unrecorded read)"),
        "hold2.move-line.write-lot": unrecorded("stock.move.line 130"),
        "hold2.move-lines.after-write": unrecorded("stock.move.line 130"),
        "release.move-lines.reserved": unrecorded("stock.move.line 131 (id from an unrecorded read)"),
        "release.move-line.write-lot": unrecorded("stock.move.line 131"),
        "release.move-lines.after-write": unrecorded("stock.move.line 131"),
        "idem.mo.write.with-marker": unrecorded("mrp.production 26"),
        "backorder-wizard.create.from-context": unrecorded("mrp.production 28"),
        "mo.button_mark_done.create_backorder-always": unrecorded("mrp.production 29 (and a picking type changed outside the recordings)"),
    ]

    private static func unrecorded(_ what: String) -> String {
        "acts on \(what), created by calls that are not in the recordings"
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/odoo19")

    @Test(arguments: ["recordings.jsonl", "recordings-extra.jsonl"])
    func replayMatchesRealOdoo(_ file: String) async throws {
        let recordings = try Self.load(file)
        #expect(recordings.count > 50)
        try await withOdooSimulator { odoo in
            var replay = Replay(odoo: odoo)
            var compared = 0
            for recording in recordings {
                let response = try await replay.send(recording)
                guard Self.notCompared[recording.name] == nil else { continue }
                compared += 1
                let problems = Self.differences(recording, response)
                #expect(problems.isEmpty, "REPLAY \(recording.name) in \(file): \(problems.joined(separator: "; "))\nsimulator: \(response.text.prefix(600))")
                replay.learn(recording, response)
            }
            #expect(compared + recordings.filter { Self.notCompared[$0.name] != nil }.count == recordings.count)
        }
    }

    @Test func everyExceptionNamesARecording() throws {
        let names = Set(try Self.load("recordings.jsonl").map(\.name) + Self.load("recordings-extra.jsonl").map(\.name))
        for name in Self.notCompared.keys { #expect(names.contains(name), "\(name) is not a recording") }
    }

    // MARK: Recordings

    struct Recording {
        var name: String
        var method: String
        var path: String
        var body: JSONValue
        var status: Int
        var contentType: String
        var response: JSONValue
    }

    static func load(_ file: String) throws -> [Recording] {
        let text = try String(contentsOf: fixtures.appendingPathComponent(file), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let json = try JSONParser().parse(String(line))
            return Recording(name: json["name"]?.stringValue ?? "", method: json["request"]?["method"]?.stringValue ?? "POST",
                             path: json["request"]?["path"]?.stringValue ?? "", body: json["request"]?["body"] ?? .null,
                             status: json["response"]?["status"]?.int ?? 0,
                             contentType: json["response"]?["content_type"]?.stringValue ?? "",
                             response: json["response"]?["body"] ?? .null)
        }
    }

    // MARK: Comparison

    static func differences(_ recording: Recording, _ response: SimulatorResponse) -> [String] {
        var problems: [String] = []
        if response.status != recording.status { problems.append("status \(response.status), recorded \(recording.status)") }
        if response.contentType != recording.contentType {
            problems.append("content type \(response.contentType), recorded \(recording.contentType)")
        }
        guard recording.contentType.hasPrefix("application/json") else { return problems }
        guard let body = response.json else { return problems + ["body is not JSON"] }
        if recording.status != 200 {
            if body["name"] != recording.response["name"] {
                problems.append("error \(body["name"]?.stringValue ?? "-"), recorded \(recording.response["name"]?.stringValue ?? "-")")
            }
            if body.objectValue.map({ Set($0.keys) }) != recording.response.objectValue.map({ Set($0.keys) }) {
                problems.append("error body keys differ")
            }
            return problems
        }
        if let error = recording.response["error"] {
            if body["error"]?["data"]?["name"] != error["data"]?["name"] {
                problems.append("JSON-RPC error \(body["error"]?["data"]?["name"]?.stringValue ?? "none"), recorded \(error["data"]?["name"]?.stringValue ?? "-")")
            }
            return problems
        }
        if let shape = shapeDifference(recording.response, body, at: "$") { problems.append(shape) }
        return problems
    }

    /// Same JSON kinds and object keys; values and array lengths may differ (they depend on the database).
    static func shapeDifference(_ recorded: JSONValue, _ actual: JSONValue, at path: String) -> String? {
        switch (recorded, actual) {
        case (.bool(false), _), (_, .bool(false)), (.null, _), (_, .null): return nil
        case (.object(let a), .object(let b)):
            if Set(a.keys) != Set(b.keys) {
                return "\(path): keys \(b.keys.sorted()), recorded \(a.keys.sorted())"
            }
            for key in a.keys.sorted() {
                if let difference = shapeDifference(a[key] ?? .null, b[key] ?? .null, at: "\(path).\(key)") { return difference }
            }
            return nil
        case (.array(let a), .array(let b)):
            guard let first = a.first, let other = b.first else { return nil }
            return shapeDifference(first, other, at: "\(path)[0]")
        default:
            return recorded.kindDescription == actual.kindDescription ? nil
                : "\(path): \(actual.kindDescription), recorded \(recorded.kindDescription)"
        }
    }
}

/// Sends recorded requests, translating the recorded database's ids into the simulator's.
struct Replay {
    let odoo: OdooSimulator
    var ids: [String: [Int: Int]] = [:]

    init(odoo: OdooSimulator) { self.odoo = odoo }

    /// Which model a field's ids belong to.
    static let fieldModels: [String: String] = [
        "product_id": "product.product", "lot_id": "stock.lot", "lot_producing_ids": "stock.lot", "production_id": "mrp.production",
        "mo_ids_to_backorder": "mrp.production", "default_mrp_production_ids": "mrp.production", "mrp_production_id": "mrp.production",
        "mrp_production_ids": "mrp.production", "default_production_id": "mrp.production", "equipment_id": "maintenance.equipment",
        "location_id": "stock.location", "location_dest_id": "stock.location", "scrap_location_id": "stock.location",
        "move_line_ids": "stock.move.line", "move_raw_ids": "stock.move", "move_finished_ids": "stock.move", "move_ids": "stock.move",
        "bom_id": "mrp.bom", "res_model_id": "ir.model", "model_id": "ir.model", "picking_type_id": "stock.picking.type",
        "activity_ids": "mail.activity", "production_group_id": "mrp.production.group", "res_id": "mrp.production",
    ]

    static func model(of path: String) -> String? {
        let parts = path.split(separator: "/")
        return parts.count == 4 && parts[0] == "json" ? String(parts[2]) : nil
    }

    mutating func send(_ recording: ReplayTests.Recording) async throws -> SimulatorResponse {
        let model = Self.model(of: recording.path)
        var headers: [(String, String)] = [("Content-Type", "application/json")]
        var key = odoo.adminAPIKey
        let name = recording.name
        if name.hasPrefix("access.") || name == "jsonrpc.access-error" { key = odoo.mesBridgeAPIKey }
        if name == "auth.wrong-key" { key = "not-a-key" }
        if name != "auth.no-authorization" { headers.append(("Authorization", "bearer \(key)")) }
        if name == "auth.wrong-database-header" {
            headers.append(("X-Odoo-Database", "no-such-db"))
        } else if name != "auth.no-database-header" {
            headers.append(("X-Odoo-Database", odoo.database))
        }
        // Recorded under real concurrency: reproduce it with the fault that stands for it.
        if name == "error.serialization-failure" { odoo.inject(.serializationFailure, model: model) }

        let body: String?
        switch recording.body {
        case .null: body = nil
        case .string(let raw): body = raw
        default:
            var translated = translate(recording.body, model: model)
            if recording.path == "/jsonrpc" { translated = translateRPC(translated, key: key) }
            body = translated.canonicalText
        }
        let client = SimulatorClient(odoo)
        return try await client.send(method: recording.method == "GET" ? .GET : .POST, path: recording.path, body: body, headers: headers)
    }

    // MARK: Learning ids from answers

    mutating func learn(_ recording: ReplayTests.Recording, _ response: SimulatorResponse) {
        guard recording.status == 200, let actual = response.json else { return }
        let model = Self.model(of: recording.path)
        if recording.path.hasSuffix("/create"), let model {
            pair(recording.response, actual, model: model)
        }
        if let res = recording.response["res_id"], let resModel = recording.response["res_model"]?.stringValue {
            pair(res, actual["res_id"] ?? .null, model: resModel)
        }
        if recording.path.hasSuffix("/load"), let model {
            pair(recording.response["ids"] ?? .null, actual["ids"] ?? .null, model: model)
        }
        walk(recording.response, actual, model: model)
    }

    /// Pairs ids: ints, lists of ints of the same length, many2one pairs.
    private mutating func pair(_ recorded: JSONValue, _ actual: JSONValue, model: String) {
        switch (recorded, actual) {
        case (.number, .number):
            if let from = recorded.int, let to = actual.int { ids[model, default: [:]][from] = to }
        case (.array(let a), .array(let b)) where a.count == b.count:
            if a.count == 2, case .string = a[1] {
                pair(a[0], b[0], model: model)
            } else {
                for (x, y) in zip(a, b) { pair(x, y, model: model) }
            }
        default: break
        }
    }

    private mutating func walk(_ recorded: JSONValue, _ actual: JSONValue, model: String?) {
        switch (recorded, actual) {
        case (.array(let a), .array(let b)) where a.count == b.count:
            for (x, y) in zip(a, b) { walk(x, y, model: model) }
        case (.object(let a), .object(let b)):
            if let model, let x = a["id"], let y = b["id"] { pair(x, y, model: model) }
            for (key, value) in a {
                guard let target = Self.fieldModels[key], let other = b[key] else { continue }
                pair(value, other, model: target)
            }
        default: break
        }
    }

    // MARK: Translating requests

    func mapped(_ value: JSONValue, model: String) -> JSONValue {
        switch value {
        case .number:
            guard let id = value.int, let to = ids[model]?[id] else { return value }
            return .number(String(to))
        case .array(let items):
            // x2many commands: [6, 0, ids], [2|3|4, id, 0], [0, 0, vals], [1, id, vals].
            if items.count == 3, let code = items[0].int, (0...6).contains(code), !(items[2].arrayValue == nil && items[2].int == nil && items[2].objectValue == nil) {
                switch code {
                case 6: return [items[0], items[1], mapped(items[2], model: model)]
                case 1, 2, 3, 4: return [items[0], mapped(items[1], model: model), translate(items[2], model: model)]
                case 0: return [items[0], items[1], translate(items[2], model: model)]
                default: return value
                }
            }
            return .array(items.map { mapped($0, model: model) })
        default:
            return value
        }
    }

    func translate(_ value: JSONValue, model: String?) -> JSONValue {
        switch value {
        case .object(let members):
            var out: [String: JSONValue] = [:]
            for (key, member) in members {
                if key == "ids", let model {
                    out[key] = mapped(member, model: model)
                } else if key == "domain", let model {
                    out[key] = translateDomain(member, model: model)
                } else if let target = Self.fieldModels[key] {
                    out[key] = member.objectValue == nil ? mapped(member, model: target) : translate(member, model: target)
                } else {
                    out[key] = translate(member, model: nil)
                }
            }
            return .object(out)
        case .array(let items):
            return .array(items.map { translate($0, model: model) })
        default:
            return value
        }
    }

    func translateDomain(_ domain: JSONValue, model: String) -> JSONValue {
        guard let terms = domain.arrayValue else { return domain }
        return .array(terms.map { term in
            guard let parts = term.arrayValue, parts.count == 3, let field = parts[0].stringValue else { return term }
            let target = field == "id" ? model : Self.fieldModels[field]
            guard let target else { return term }
            return [parts[0], parts[1], mapped(parts[2], model: target)]
        })
    }

    func translateRPC(_ body: JSONValue, key: String) -> JSONValue {
        guard case .object(var envelope) = body, case .object(var params)? = envelope["params"],
              var args = params["args"]?.arrayValue else { return body }
        args = args.map { $0 == "<api-key>" ? .string(key) : $0 }
        if params["method"] == "execute_kw", args.count > 5, let model = args[3].stringValue, let method = args[4].stringValue,
           var positional = args[5].arrayValue, !positional.isEmpty {
            if ["search", "search_read", "search_count"].contains(method) {
                positional[0] = translateDomain(positional[0], model: model)
            } else if method != "create" {
                positional[0] = mapped(positional[0], model: model)
            }
            args[5] = .array(positional)
        }
        params["args"] = .array(args)
        envelope["params"] = .object(params)
        return .object(envelope)
    }
}
