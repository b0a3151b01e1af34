import Foundation
import MillwrightCore

/// One record's stored values, keyed by field name (many2one as the id or `false`, x2many as an array of ids).
typealias OdooRecord = [String: JSONValue]

/// The simulated database: a small record store per model plus the sequences Odoo names records with.
///
/// A value type: every call runs on a copy and the copy replaces the original only when the call
/// succeeds, so each call is its own transaction, as each JSON-2 call is in Odoo.
struct OdooDatabase: Sendable {
    var specs: [String: OdooModelSpec] = OdooModelSpec.all
    var tables: [String: [Int: OdooRecord]] = [:]
    var nextIDs: [String: Int] = [:]
    var sequences: [String: Int] = [:]
    /// Each model's ids in ascending order, kept on insert and delete (searches start from it; sorting
    /// the keys on every search made big runs quadratic).
    var order: [String: [Int]] = [:]
    /// many2one index: model → field → target id → the ids pointing at it, ascending. One2many reads and
    /// searches on a many2one use it instead of scanning the model.
    var pointers: [String: [String: [Int: [Int]]]] = [:]
    /// Value index for a few fields searched by equality (`name`, `state`, `orphaned`): model → field →
    /// the value's canonical text → ids, ascending.
    var values: [String: [String: [String: [Int]]]] = [:]
    static let valueIndexed: Set<String> = ["name", "state", "orphaned"]
    /// The current time as Odoo writes it (`2026-11-26 20:18:13`, UTC); set before every call.
    var now: String = "2026-01-01 00:00:00"

    // MARK: Raw access

    func record(_ model: String, _ id: Int) -> OdooRecord? { tables[model]?[id] }

    func ids(_ model: String) -> [Int] { order[model] ?? [] }

    func exists(_ model: String, _ id: Int) -> Bool { tables[model]?[id] != nil }

    @discardableResult
    mutating func insert(_ model: String, _ values: OdooRecord, id forcedID: Int? = nil) -> Int {
        let id = forcedID ?? nextIDs[model, default: 1]
        nextIDs[model] = max(nextIDs[model, default: 1], id + 1)
        var record = values
        record["create_date"] = .string(now)
        record["write_date"] = .string(now)
        if tables[model]?[id] == nil {
            if let last = order[model]?.last, last > id {
                let at = order[model]?.firstIndex { $0 > id } ?? 0
                order[model]?.insert(id, at: at)
            } else {
                order[model, default: []].append(id)
            }
        }
        reindex(model, id, old: tables[model]?[id], new: record)
        tables[model, default: [:]][id] = record
        return id
    }

    mutating func update(_ model: String, _ id: Int, _ values: OdooRecord) {
        guard var record = tables[model]?[id] else { return }
        let old = record
        for (key, value) in values { record[key] = value }
        record["write_date"] = .string(now)
        reindex(model, id, old: old, new: record)
        tables[model]?[id] = record
    }

    mutating func delete(_ model: String, _ id: Int) {
        guard let old = tables[model]?[id] else { return }
        reindex(model, id, old: old, new: nil)
        tables[model]?[id] = nil
        order[model]?.removeAll { $0 == id }
    }

    /// The next number of a sequence (`mrp.production` → 1, 2, ...).
    mutating func nextSequence(_ code: String) -> Int {
        let next = sequences[code, default: 0] + 1
        sequences[code] = next
        return next
    }

    // MARK: Typed reads of stored values

    func value(_ model: String, _ id: Int, _ field: String) -> JSONValue {
        record(model, id)?[field] ?? .bool(false)
    }

    func int(_ model: String, _ id: Int, _ field: String) -> Int? { value(model, id, field).intValue }

    func decimal(_ model: String, _ id: Int, _ field: String) -> Decimal {
        value(model, id, field).decimalValue ?? 0
    }

    func string(_ model: String, _ id: Int, _ field: String) -> String? { value(model, id, field).stringValue }

    func bool(_ model: String, _ id: Int, _ field: String) -> Bool { value(model, id, field).boolValue ?? false }

    func idList(_ model: String, _ id: Int, _ field: String) -> [Int] {
        if let spec = specs[model]?.fields[field], case .one2many(let comodel, let inverse) = spec.kind {
            return inverseIDs(comodel, inverse, id, owner: model)
        }
        return value(model, id, field).arrayValue?.compactMap(\.intValue) ?? []
    }

    /// Sets one stored field in place (no write_date), keeping the many2one index.
    mutating func setField(_ model: String, _ id: Int, _ field: String, _ value: JSONValue) {
        guard let old = tables[model]?[id] else { return }
        var record = old
        record[field] = value
        reindex(model, id, old: old, new: record)
        tables[model]?[id] = record
    }

    /// Moves `id` between the index lists of its many2one values that changed.
    mutating func reindex(_ model: String, _ id: Int, old: OdooRecord?, new: OdooRecord?) {
        guard let fields = specs[model]?.fields else { return }
        func added(_ list: [Int]?) -> [Int] {
            var list = list ?? []
            if let last = list.last, last > id {
                list.insert(id, at: list.firstIndex { $0 > id } ?? list.count)
            } else {
                list.append(id)
            }
            return list
        }
        for field in Self.valueIndexed {
            let before = old?[field].map(\.canonicalText)
            let after = new?[field].map(\.canonicalText)
            guard before != after else { continue }
            if let before { values[model]?[field]?[before]?.removeAll { $0 == id } }
            if let after { values[model, default: [:]][field, default: [:]][after] = added(values[model]?[field]?[after]) }
        }
        for (field, spec) in fields {
            guard case .many2one = spec.kind else { continue }
            let before = old?[field]?.intValue
            let after = new?[field]?.intValue
            guard before != after else { continue }
            if let before { pointers[model]?[field]?[before]?.removeAll { $0 == id } }
            if let after { pointers[model, default: [:]][field, default: [:]][after] = added(pointers[model]?[field]?[after]) }
        }
    }

    /// The ids of `model` whose indexed `field` (``valueIndexed``) is `value`, ascending.
    func having(_ model: String, _ field: String, _ value: JSONValue) -> [Int] {
        values[model]?[field]?[value.canonicalText] ?? []
    }

    /// The ids of `model` whose many2one `field` is `target`, ascending.
    func pointing(_ model: String, _ field: String, at target: Int) -> [Int] {
        pointers[model]?[field]?[target] ?? []
    }

    func inverseIDs(_ comodel: String, _ inverse: String, _ id: Int, owner: String) -> [Int] {
        // Indexed when the inverse is a many2one; mail.activity's res_id is a plain integer.
        let indexed: Bool = { if case .many2one? = specs[comodel]?.fields[inverse]?.kind { true } else { false } }()
        return (indexed ? pointing(comodel, inverse, at: id) : ids(comodel)).filter { other in
            // mail.activity points at any model through (res_model, res_id).
            if comodel == "mail.activity" { return string(comodel, other, "res_model") == owner }
            return true
        }
    }

    /// The name Odoo shows for a record in a many2one (`[FURN_7023] Wood Panel`, `WH/Stock`).
    func displayName(_ model: String, _ id: Int) -> String {
        switch model {
        case "product.product", "product.template":
            let name = string(model, id, "name") ?? ""
            if let code = string(model, id, "default_code"), !code.isEmpty { return "[\(code)] \(name)" }
            return name
        case "stock.location":
            return string(model, id, "complete_name") ?? string(model, id, "name") ?? ""
        case "maintenance.equipment":
            let name = string(model, id, "name") ?? ""
            if let serial = string(model, id, "serial_no"), !serial.isEmpty { return "\(name)/\(serial)" }
            return name
        case "ir.model.data":
            return "\(string(model, id, "module") ?? "").\(string(model, id, "name") ?? "")"
        case "stock.quant", "stock.move.line":
            return displayName("product.product", int(model, id, "product_id") ?? 0)
        default:
            return string(model, id, "name") ?? string(model, id, "summary") ?? "\(model),\(id)"
        }
    }

    // MARK: Reading in Odoo's JSON-2 shape

    /// One record as `read` returns it: many2one as `[id, "display name"]` or `false`, x2many as ids.
    func readRecord(_ model: String, _ id: Int, fields requested: [String], context: OdooContext) throws -> JSONValue {
        guard let spec = specs[model] else { return .null }
        var out: [String: JSONValue] = ["id": .number(String(id))]
        for field in requested where field != "id" {
            guard let fieldSpec = spec.fields[field] else {
                throw OdooFault.valueError("Invalid field '\(field)' on '\(model)'")
            }
            out[field] = readValue(model, id, field, fieldSpec, context: context)
        }
        return .object(out)
    }

    func readValue(_ model: String, _ id: Int, _ field: String, _ spec: OdooFieldSpec, context: OdooContext) -> JSONValue {
        if let computed = computedValue(model, id, field, context: context) {
            return computed
        }
        let stored = value(model, id, field)
        switch spec.kind {
        case .many2one(let comodel):
            guard let target = stored.intValue, exists(comodel, target) else { return .bool(false) }
            return .array([.number(String(target)), .string(displayName(comodel, target))])
        case .one2many, .many2many:
            return .array(idList(model, id, field).map { .number(String($0)) })
        case .float:
            return .float(stored.decimalValue ?? 0)
        case .integer:
            return stored.intValue.map { .number(String($0)) } ?? .number("0")
        case .boolean:
            return .bool(stored.boolValue ?? false)
        default:
            return stored
        }
    }

    /// Every readable field of a model, in a stable order (what `read` without `fields` returns).
    func allFields(_ model: String) -> [String] {
        (specs[model]?.fields.keys).map { $0.filter { $0 != "password" }.sorted() } ?? []
    }
}

/// The `context` of a call, with the keys the simulator understands.
struct OdooContext: Sendable {
    var raw: [String: JSONValue]

    init(_ value: JSONValue?) { raw = value?.objectValue ?? [:] }

    subscript(key: String) -> JSONValue? { raw[key] }

    func flag(_ key: String) -> Bool {
        switch raw[key] {
        case .bool(let b)?: b
        case .number(let n)?: n != "0"
        case .array(let a)?: !a.isEmpty
        case .string(let s)?: !s.isEmpty
        default: false
        }
    }

    var activeTest: Bool { raw["active_test"]?.boolValue ?? true }
}

extension JSONValue {
    /// An integer id or count; `false` and non-integers are nil.
    var intValue: Int? {
        if case .number(let text) = self {
            if let i = Int(text) { return i }
            if let d = Decimal(string: text), d == d.rounded(0) { return NSDecimalNumber(decimal: d).intValue }
        }
        return nil
    }

    var decimalValue: Decimal? {
        if case .number(let text) = self { return Decimal(string: text) }
        return nil
    }

    /// A float field as Odoo writes it (`3.0`); `JSONValue.canonicalText` may shorten it to `3`.
    static func float(_ value: Decimal) -> JSONValue {
        let text = value.description
        return .number(text.contains(".") || text.contains("e") ? text : text + ".0")
    }

    static func int(_ value: Int) -> JSONValue { .number(String(value)) }

    static func ids(_ values: [Int]) -> JSONValue { .array(values.map { .number(String($0)) }) }

    /// Truthiness the way Python sees it.
    var isTruthy: Bool {
        switch self {
        case .null: false
        case .bool(let b): b
        case .number(let n): (Decimal(string: n) ?? 0) != 0
        case .string(let s): !s.isEmpty
        case .array(let a): !a.isEmpty
        case .object(let o): !o.isEmpty
        }
    }
}

extension Decimal {
    func rounded(_ scale: Int) -> Decimal {
        var input = self
        var result = Decimal()
        NSDecimalRound(&result, &input, scale, .plain)
        return result
    }
}
