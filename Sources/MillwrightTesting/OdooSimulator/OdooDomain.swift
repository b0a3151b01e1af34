import Foundation
import MillwrightCore

/// An Odoo search domain: Polish-notation `&`, `|`, `!` over `[path, operator, value]` terms.
///
/// Paths may be dotted through many2one and x2many fields (`product_id.default_code`,
/// `location_id.usage`, `lot_producing_ids`). Consecutive terms are joined by an implicit `&`.
indirect enum OdooDomain: Sendable {
    case all([OdooDomain])
    case any([OdooDomain])
    case not(OdooDomain)
    case term(path: [String], op: String, value: JSONValue)
    case constant(Bool)

    static let operators: Set<String> = [
        "=", "!=", "<>", "in", "not in", "<", "<=", ">", ">=", "like", "ilike", "not like", "not ilike",
        "=like", "=ilike", "child_of", "parent_of",
    ]

    /// Parses a domain and checks every path against the model's fields.
    static func parse(_ json: JSONValue?, model: String, in db: OdooDatabase) throws -> OdooDomain {
        guard let json, json != .bool(false), json != .null else { return .constant(true) }
        guard let items = json.arrayValue else { throw OdooFault.valueError("Invalid domain: \(json.canonicalText)") }
        var position = 0
        var nodes: [OdooDomain] = []
        while position < items.count {
            nodes.append(try parseOne(items, &position, model: model, db: db))
        }
        return nodes.count == 1 ? nodes[0] : .all(nodes)
    }

    private static func parseOne(_ items: [JSONValue], _ position: inout Int, model: String, db: OdooDatabase) throws -> OdooDomain {
        guard position < items.count else { throw OdooFault.valueError("Domain is incomplete") }
        let item = items[position]
        position += 1
        switch item {
        case .string("&"):
            return .all([try parseOne(items, &position, model: model, db: db), try parseOne(items, &position, model: model, db: db)])
        case .string("|"):
            return .any([try parseOne(items, &position, model: model, db: db), try parseOne(items, &position, model: model, db: db)])
        case .string("!"):
            return .not(try parseOne(items, &position, model: model, db: db))
        case .array(let term) where term.count == 3:
            if term[0] == .number("1") || term[0] == .number("0") {
                return .constant(term[0] == term[2])
            }
            guard let path = term[0].stringValue, let op = term[1].stringValue?.lowercased() else {
                throw OdooFault.valueError("Invalid leaf \(pythonRepr(item))")
            }
            guard operators.contains(op) else {
                throw OdooFault.valueError("Invalid leaf \(pythonRepr(.array(term)))")
            }
            let parts = path.split(separator: ".").map(String.init)
            if parts.isEmpty { throw OdooFault.valueError("Invalid leaf \(pythonRepr(.array(term)))") }
            var current = model
            for (index, part) in parts.enumerated() {
                guard let spec = db.specs[current]?.fields[part] else {
                    throw OdooFault.valueError("Invalid field \(current).\(part) in condition \(pythonTuple(term))")
                }
                if index < parts.count - 1 {
                    switch spec.kind {
                    case .many2one(let next), .one2many(let next, _), .many2many(let next): current = next
                    default: throw OdooFault.valueError("Invalid field \(current).\(part) in condition \(pythonTuple(term))")
                    }
                }
            }
            return .term(path: parts, op: op, value: term[2])
        default:
            throw OdooFault.valueError("Invalid leaf \(pythonRepr(item))")
        }
    }

    func matches(_ model: String, _ id: Int, in db: OdooDatabase) -> Bool {
        switch self {
        case .constant(let b): return b
        case .all(let nodes): return nodes.allSatisfy { $0.matches(model, id, in: db) }
        case .any(let nodes): return nodes.contains { $0.matches(model, id, in: db) }
        case .not(let node): return !node.matches(model, id, in: db)
        case .term(let path, let op, let value): return OdooDomain.evaluate(path, op, value, model, id, db)
        }
    }

    /// The values at the end of a dotted path, following many2one and x2many fields.
    private static func values(_ path: [String], _ model: String, _ id: Int, _ db: OdooDatabase) -> (values: [JSONValue], kind: OdooFieldKind?) {
        var current: [(String, Int)] = [(model, id)]
        for (index, part) in path.enumerated() {
            let last = index == path.count - 1
            var next: [(String, Int)] = []
            var values: [JSONValue] = []
            var kind: OdooFieldKind?
            for (m, rid) in current {
                guard let spec = db.specs[m]?.fields[part] else { continue }
                kind = spec.kind
                switch spec.kind {
                case .many2one(let comodel):
                    if let target = db.value(m, rid, part).intValue, db.exists(comodel, target) {
                        next.append((comodel, target))
                        values.append(.int(target))
                    }
                case .one2many(let comodel, _), .many2many(let comodel):
                    for target in db.idList(m, rid, part) {
                        next.append((comodel, target))
                        values.append(.int(target))
                    }
                default:
                    if let computed = db.computedValue(m, rid, part, context: OdooContext(nil)) {
                        values.append(computed)
                    } else {
                        values.append(db.value(m, rid, part))
                    }
                }
            }
            if last { return (values, kind) }
            current = next
        }
        return ([], nil)
    }

    private static func evaluate(_ path: [String], _ op: String, _ target: JSONValue, _ model: String, _ id: Int, _ db: OdooDatabase) -> Bool {
        let (found, kind) = values(path, model, id, db)
        let isRelational: Bool = {
            switch kind {
            case .many2one?, .one2many?, .many2many?: return true
            default: return false
            }
        }()
        switch op {
        case "=":
            if target == .bool(false) { return found.isEmpty || found.allSatisfy { !$0.isTruthy } }
            return found.contains { equal($0, target) }
        case "!=", "<>":
            if target == .bool(false) { return found.contains { $0.isTruthy } }
            return !found.contains { equal($0, target) }
        case "in", "not in":
            let list = target.arrayValue ?? [target]
            var hit = found.contains { value in list.contains { equal(value, $0) } }
            if list.contains(.bool(false)) && (found.isEmpty || found.allSatisfy { !$0.isTruthy }) { hit = true }
            return op == "in" ? hit : !hit
        case "<", "<=", ">", ">=":
            return found.contains { value in
                guard let order = compare(value, target) else { return false }
                switch op {
                case "<": return order == .orderedAscending
                case "<=": return order != .orderedDescending
                case ">": return order == .orderedDescending
                default: return order != .orderedAscending
                }
            }
        case "like", "ilike", "not like", "not ilike", "=like", "=ilike":
            guard let pattern = target.stringValue else { return false }
            let insensitive = op.contains("ilike")
            let full = op.hasPrefix("=") ? pattern : "%\(pattern)%"
            let texts: [String] = isRelational
                ? found.compactMap { $0.intValue }.map { db.displayName(relatedModel(kind) ?? "", $0) }
                : found.compactMap { $0.stringValue }
            let hit = texts.contains { sqlLike($0, full, caseInsensitive: insensitive) }
            return op.hasPrefix("not") ? !hit : hit
        case "child_of":
            guard let comodel = relatedModel(kind) ?? (path == ["id"] ? model : nil) else { return false }
            let roots = Set((target.arrayValue ?? [target]).compactMap(\.intValue))
            return found.compactMap(\.intValue).contains { db.isDescendant(comodel, $0, of: roots) }
        case "parent_of":
            guard let comodel = relatedModel(kind) ?? (path == ["id"] ? model : nil) else { return false }
            let leaves = (target.arrayValue ?? [target]).compactMap(\.intValue)
            return found.compactMap(\.intValue).contains { candidate in
                leaves.contains { db.isDescendant(comodel, $0, of: [candidate]) }
            }
        default:
            return false
        }
    }

    private static func relatedModel(_ kind: OdooFieldKind?) -> String? {
        switch kind {
        case .many2one(let m)?, .one2many(let m, _)?, .many2many(let m)?: m
        default: nil
        }
    }

    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if let x = a.decimalValue, let y = b.decimalValue { return x == y }
        return a == b
    }

    static func compare(_ a: JSONValue, _ b: JSONValue) -> ComparisonResult? {
        if let x = a.decimalValue, let y = b.decimalValue {
            return x < y ? .orderedAscending : (x > y ? .orderedDescending : .orderedSame)
        }
        if let x = a.stringValue, let y = b.stringValue {
            return x < y ? .orderedAscending : (x > y ? .orderedDescending : .orderedSame)
        }
        return nil
    }

    /// SQL `LIKE`: `%` any run, `_` one character.
    static func sqlLike(_ text: String, _ pattern: String, caseInsensitive: Bool) -> Bool {
        let t = Array(caseInsensitive ? text.lowercased() : text)
        let p = Array(caseInsensitive ? pattern.lowercased() : pattern)
        var memo: [Int: Bool] = [:]
        func match(_ i: Int, _ j: Int) -> Bool {
            let key = i * (p.count + 1) + j
            if let known = memo[key] { return known }
            let result: Bool
            if j == p.count {
                result = i == t.count
            } else if p[j] == "%" {
                result = match(i, j + 1) || (i < t.count && match(i + 1, j))
            } else if i < t.count && (p[j] == "_" || p[j] == t[i]) {
                result = match(i + 1, j + 1)
            } else {
                result = false
            }
            memo[key] = result
            return result
        }
        return match(0, 0)
    }

    /// Python's repr of a JSON value, for error messages that quote a domain term.
    static func pythonRepr(_ value: JSONValue) -> String {
        switch value {
        case .null: "None"
        case .bool(let b): b ? "True" : "False"
        case .number(let n): n
        case .string(let s): "'\(s)'"
        case .array(let items): "[" + items.map(pythonRepr).joined(separator: ", ") + "]"
        case .object(let members):
            "{" + members.sorted { $0.key < $1.key }.map { "'\($0.key)': \(pythonRepr($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    static func pythonTuple(_ items: [JSONValue]) -> String {
        "(" + items.map(pythonRepr).joined(separator: ", ") + ")"
    }
}

extension OdooDatabase {
    /// Whether `id` is one of `roots` or below one of them through the model's parent field.
    func isDescendant(_ model: String, _ id: Int, of roots: Set<Int>) -> Bool {
        let parentField = model == "stock.location" ? "location_id" : (model == "uom.uom" ? "relative_uom_id" : "parent_id")
        var current: Int? = id
        var seen: Set<Int> = []
        while let node = current, !seen.contains(node) {
            if roots.contains(node) { return true }
            seen.insert(node)
            current = int(model, node, parentField)
        }
        return false
    }
}
