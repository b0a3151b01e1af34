import Foundation
import MillwrightCore

/// One record as Odoo returns it from `read`/`search_read`: many2one fields are `[id, "name"]` or `false`,
/// numbers are floats.
public struct OdooRecord: Sendable, Hashable {
    public var fields: [String: JSONValue]

    public init(_ fields: [String: JSONValue]) { self.fields = fields }

    public subscript(name: String) -> JSONValue? { fields[name] }

    public var id: Int { int("id") ?? 0 }

    public func int(_ name: String) -> Int? {
        if case .number(let n)? = fields[name] { return Int(n) ?? Decimal(string: n).map { NSDecimalNumber(decimal: $0).intValue } }
        return nil
    }

    public func string(_ name: String) -> String? {
        fields[name]?.stringValue
    }

    public func bool(_ name: String) -> Bool {
        fields[name]?.boolValue ?? false
    }

    public func decimal(_ name: String) -> Decimal? {
        if case .number(let n)? = fields[name] { return FieldKind.decimal(n) ?? Decimal(string: n) }
        return nil
    }

    /// The id of a many2one value (`[id, "display name"]`), `nil` when unset (`false`).
    public func many2one(_ name: String) -> Int? {
        if case .array(let pair)? = fields[name], let first = pair.first, case .number(let n) = first { return Int(n) }
        if case .number(let n)? = fields[name] { return Int(n) }
        return nil
    }

    public func many2oneName(_ name: String) -> String? {
        if case .array(let pair)? = fields[name], pair.count > 1 { return pair[1].stringValue }
        return nil
    }

    /// The ids of a one2many/many2many value.
    public func ids(_ name: String) -> [Int] {
        guard case .array(let items)? = fields[name] else { return [] }
        return items.compactMap { if case .number(let n) = $0 { Int(n) } else { nil } }
    }
}

extension JSONValue {
    static func int(_ value: Int) -> JSONValue { .number(String(value)) }
    static func ints(_ values: [Int]) -> JSONValue { .array(values.map { .number(String($0)) }) }
    static func decimal(_ value: Decimal) -> JSONValue { .number(value.description) }
    static func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }

    /// A domain leaf `[field, operator, value]`.
    static func leaf(_ field: String, _ op: String, _ value: JSONValue) -> JSONValue { .array([.string(field), .string(op), value]) }
}

extension OdooClient {
    public func searchRead(_ model: String, _ domain: [JSONValue], fields: [String], order: String? = nil, limit: Int? = nil, context: [String: JSONValue] = [:]) async throws(OdooError) -> [OdooRecord] {
        var arguments: [String: JSONValue] = ["domain": .array(domain), "fields": .strings(fields)]
        if let order { arguments["order"] = .string(order) }
        if let limit { arguments["limit"] = .int(limit) }
        return try Self.records(await call(model, "search_read", arguments, context: context), call: "\(model)/search_read")
    }

    public func read(_ model: String, _ ids: [Int], fields: [String], context: [String: JSONValue] = [:]) async throws(OdooError) -> [OdooRecord] {
        guard !ids.isEmpty else { return [] }
        return try Self.records(await call(model, "read", ids: ids, ["fields": .strings(fields)], context: context), call: "\(model)/read")
    }

    public func create(_ model: String, _ valsList: [[String: JSONValue]], context: [String: JSONValue] = [:]) async throws(OdooError) -> [Int] {
        let result = try await call(model, "create", ["vals_list": .array(valsList.map { .object($0) })], context: context)
        if case .number(let n) = result, let id = Int(n) { return [id] }
        guard let items = result.arrayValue else { throw OdooError(.unexpectedAnswer, "\(model)/create answered \(result.kindDescription), not a list of ids") }
        let ids = items.compactMap { if case .number(let n) = $0 { Int(n) } else { nil } }
        guard ids.count == valsList.count else { throw OdooError(.unexpectedAnswer, "\(model)/create answered \(ids.count) ids for \(valsList.count) records") }
        return ids
    }

    public func write(_ model: String, _ ids: [Int], _ vals: [String: JSONValue], context: [String: JSONValue] = [:]) async throws(OdooError) {
        _ = try await call(model, "write", ids: ids, ["vals": .object(vals)], context: context)
    }

    static func records(_ value: JSONValue, call: String) throws(OdooError) -> [OdooRecord] {
        guard let items = value.arrayValue else { throw OdooError(.unexpectedAnswer, "\(call) answered \(value.kindDescription), not a list of records") }
        var records: [OdooRecord] = []
        records.reserveCapacity(items.count)
        for item in items {
            guard let object = item.objectValue else { throw OdooError(.unexpectedAnswer, "\(call) answered a list holding \(item.kindDescription)") }
            records.append(OdooRecord(object))
        }
        return records
    }
}

/// The answer of a button when Odoo wants a decision: an `ir.actions.act_window` that opens a wizard.
struct OdooAction: Sendable {
    var resModel: String?
    var resID: Int?
    var name: String?
    var context: [String: JSONValue]

    init?(_ value: JSONValue) {
        guard let object = value.objectValue, let type = object["type"]?.stringValue, type.hasPrefix("ir.actions.") else { return nil }
        resModel = object["res_model"]?.stringValue
        if case .number(let n)? = object["res_id"] { resID = Int(n) } else { resID = nil }
        name = object["name"]?.stringValue ?? object["display_name"]?.stringValue
        context = object["context"]?.objectValue ?? [:]
    }
}
