import Foundation
import MillwrightCore

/// `read_group` and Odoo 19's `formatted_read_group`, for grouped on-hand queries (docs/odoo-research.md §7).
extension OdooDatabase {
    /// One group: the values of the groupby fields and the records in it.
    private struct Group {
        var key: [JSONValue]
        var ids: [Int]
    }

    private func groups(_ model: String, domain: JSONValue?, groupby: [String], context: OdooContext) throws -> [Group] {
        for field in groupby where specs[model]?.fields[field] == nil {
            throw OdooFault.valueError("Invalid field '\(field)' on model '\(model)'")
        }
        let found = try search(model, domain: domain, order: nil, limit: nil, offset: 0, context: context)
        var result: [Group] = []
        for id in found {
            let key = groupby.map { field -> JSONValue in
                guard let spec = specs[model]?.fields[field] else { return .bool(false) }
                return readValue(model, id, field, spec, context: context)
            }
            if let index = result.firstIndex(where: { $0.key == key }) {
                result[index].ids.append(id)
            } else {
                result.append(Group(key: key, ids: [id]))
            }
        }
        // Groups sort by the groupby values: many2one by the target's name, false last.
        return result.sorted { a, b in
            for (x, y) in zip(a.key, b.key) {
                let left = x.arrayValue?.last ?? x
                let right = y.arrayValue?.last ?? y
                let leftNull = left == .bool(false) || left == .null
                let rightNull = right == .bool(false) || right == .null
                if leftNull != rightNull { return rightNull }
                if let order = OdooDomain.compare(left, right), order != .orderedSame { return order == .orderedAscending }
            }
            return false
        }
    }

    /// `field:aggregate` over a group (`sum`, `min`, `max`, `avg`, `count`).
    private func aggregate(_ model: String, _ ids: [Int], field: String, function: String, context: OdooContext) throws -> JSONValue {
        guard let spec = specs[model]?.fields[field] else {
            throw OdooFault.valueError("Invalid field '\(field)' on model '\(model)'")
        }
        if function == "count" { return .int(ids.count) }
        let values = ids.compactMap { readValue(model, $0, field, spec, context: context).decimalValue }
        switch function {
        case "min": return values.min().map { .float($0) } ?? .bool(false)
        case "max": return values.max().map { .float($0) } ?? .bool(false)
        case "avg": return values.isEmpty ? .bool(false) : .float(values.reduce(0, +) / Decimal(values.count))
        default: return .float(values.reduce(0, +))
        }
    }

    private func groupTerm(_ field: String, _ value: JSONValue) -> JSONValue {
        let plain: JSONValue = value.arrayValue?.first ?? value
        return [.string(field), "=", plain]
    }

    /// `read_group(domain, fields, groupby, offset, limit, orderby, lazy)`; `lazy` groups by the first field only.
    func readGroup(_ model: String, kwargs: [String: JSONValue], context: OdooContext) throws -> JSONValue {
        let allGroupby = kwargs["groupby"]?.arrayValue?.compactMap(\.stringValue) ?? kwargs["groupby"]?.stringValue.map { [$0] } ?? []
        let lazy = kwargs["lazy"]?.boolValue ?? true
        let groupby = lazy ? Array(allGroupby.prefix(1)) : allGroupby
        let specsOfFields = (kwargs["fields"]?.arrayValue?.compactMap(\.stringValue) ?? []).compactMap { entry -> (String, String, String)? in
            let parts = entry.split(separator: ":").map(String.init)
            guard let field = parts.first, !groupby.contains(field), field != "__count" else { return nil }
            return (field, parts.count > 1 ? parts[1] : "sum", field)
        }
        return .array(try groups(model, domain: kwargs["domain"], groupby: groupby, context: context).map { group in
            var row: [String: JSONValue] = [:]
            for (field, value) in zip(groupby, group.key) { row[field] = value }
            for (field, function, name) in specsOfFields {
                row[name] = try aggregate(model, group.ids, field: field, function: function, context: context)
            }
            row["__domain"] = Self.conjunction(kwargs["domain"], zip(groupby, group.key).map { groupTerm($0, $1) })
            if lazy, let first = groupby.first {
                row["\(first)_count"] = .int(group.ids.count)
                if allGroupby.count > 1 { row["__context"] = ["group_by": .array(allGroupby.dropFirst().map { .string($0) })] }
            } else {
                row["__count"] = .int(group.ids.count)
            }
            return .object(row)
        })
    }

    /// `formatted_read_group(domain, groupby, aggregates)`: keys `field:aggregate`, `__extra_domain` per group.
    func formattedReadGroup(_ model: String, kwargs: [String: JSONValue], context: OdooContext) throws -> JSONValue {
        let groupby = kwargs["groupby"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let aggregates = kwargs["aggregates"]?.arrayValue?.compactMap(\.stringValue) ?? []
        return .array(try groups(model, domain: kwargs["domain"], groupby: groupby, context: context).map { group in
            var row: [String: JSONValue] = [:]
            for (field, value) in zip(groupby, group.key) { row[field] = value }
            for entry in aggregates {
                if entry == "__count" { row[entry] = .int(group.ids.count); continue }
                let parts = entry.split(separator: ":").map(String.init)
                guard let field = parts.first else { throw OdooFault.valueError("Invalid aggregate '\(entry)'") }
                row[entry] = try aggregate(model, group.ids, field: field, function: parts.count > 1 ? parts[1] : "sum", context: context)
            }
            row["__extra_domain"] = Self.conjunction(nil, zip(groupby, group.key).map { groupTerm($0, $1) })
            return .object(row)
        })
    }

    /// A domain followed by more terms, all joined by `&` in prefix form (Odoo's `__domain`).
    private static func conjunction(_ domain: JSONValue?, _ extra: [JSONValue]) -> JSONValue {
        let items = domain?.arrayValue ?? []
        // A domain without operators is a list of leaves; one with operators counts as a single node.
        let hasOperators = items.contains { $0.stringValue != nil }
        let nodes = (items.isEmpty ? 0 : (hasOperators ? 1 : items.count)) + extra.count
        return .array(Array(repeating: JSONValue.string("&"), count: max(0, nodes - 1)) + items + extra)
    }
}
