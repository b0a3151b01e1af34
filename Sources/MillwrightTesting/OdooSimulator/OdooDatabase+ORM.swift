import Foundation
import MillwrightCore

/// The ORM methods every model has: search, read, create, write, unlink.
extension OdooDatabase {
    // MARK: Search

    func search(_ model: String, domain: JSONValue?, order: String?, limit: Int?, offset: Int, context: OdooContext) throws -> [Int] {
        let parsed = try OdooDomain.parse(domain, model: model, in: self)
        let hasActive = specs[model]?.fields["active"] != nil
        let mentionsActive = domain.map { $0.canonicalText.contains("\"active\"") } ?? false
        var found = candidates(model, parsed).filter { id in
            if hasActive && context.activeTest && !mentionsActive && !(value(model, id, "active").boolValue ?? true) {
                return false
            }
            return parsed.matches(model, id, in: self)
        }
        if let order, !order.trimmingCharacters(in: .whitespaces).isEmpty {
            found = try sorted(model, found, order: order)
        } else if let spec = specs[model], spec.defaultOrder != "id" {
            found = try sorted(model, found, order: spec.defaultOrder)
        }
        let start = min(offset, found.count)
        // Python's falsy 0 means no limit.
        let end = limit.flatMap { $0 > 0 ? min(found.count, start + $0) : nil } ?? found.count
        return Array(found[start..<end])
    }

    /// The ids a search must look at: all of the model's, or fewer when the index can tell. A superset of
    /// the matches, always: the domain is still evaluated on each.
    func candidates(_ model: String, _ domain: OdooDomain) -> [Int] {
        narrowed(model, domain) ?? ids(model)
    }

    /// Candidates from the indexes, or nil when the domain gives them no handle. A conjunction takes its
    /// smallest conjunct's; a disjunction the union of all (only when every branch is indexed).
    private func narrowed(_ model: String, _ domain: OdooDomain) -> [Int]? {
        switch domain {
        case .term(let path, let op, let value):
            return leafCandidates(model, path, op, value)
        case .all(let nodes):
            return nodes.compactMap { narrowed(model, $0) }.min { $0.count < $1.count }
        case .any(let nodes):
            var union = Set<Int>()
            for node in nodes {
                guard let some = narrowed(model, node) else { return nil }
                union.formUnion(some)
            }
            return union.sorted()
        default:
            return nil
        }
    }

    /// `field = v`, `field in [v…]` on a many2one or a value-indexed field, and one step through a
    /// many2one (`production_group_id.name = 'WH/MO/00042'`).
    private func leafCandidates(_ model: String, _ path: [String], _ op: String, _ value: JSONValue) -> [Int]? {
        let wanted: [JSONValue]
        switch (op, value) {
        case ("=", .array): return nil
        case ("=", _): wanted = [value]
        case ("in", .array(let items)): wanted = items
        default: return nil
        }
        guard let field = path.first, let spec = specs[model]?.fields[field] else { return nil }
        if path.count == 2, case .many2one(let comodel) = spec.kind {
            guard let targets = leafCandidates(comodel, [path[1]], op, value) else { return nil }
            return Set(targets.flatMap { pointing(model, field, at: $0) }).sorted()
        }
        guard path.count == 1 else { return nil }
        if case .many2one = spec.kind {
            let ints = wanted.compactMap(\.intValue)
            guard ints.count == wanted.count else { return nil }
            return ints.count == 1 ? pointing(model, field, at: ints[0]) : Set(ints.flatMap { pointing(model, field, at: $0) }).sorted()
        }
        if Self.valueIndexed.contains(field), wanted.allSatisfy({ if case .string = $0 { true } else { false } }) {
            return wanted.count == 1 ? having(model, field, wanted[0]) : Set(wanted.flatMap { having(model, field, $0) }).sorted()
        }
        return nil
    }

    private func sorted(_ model: String, _ ids: [Int], order: String) throws -> [Int] {
        let keys: [(String, Bool)] = order.split(separator: ",").compactMap { part in
            let words = part.split(separator: " ").map(String.init)
            guard let field = words.first else { return nil }
            let descending = words.count > 1 && words[1].lowercased() == "desc"
            return (field, descending)
        }
        for (field, _) in keys where specs[model]?.fields[field] == nil {
            throw OdooFault.valueError("Invalid field \(field) on model \(model)")
        }
        return ids.sorted { a, b in
            for (field, descending) in keys {
                let x = sortKey(model, a, field)
                let y = sortKey(model, b, field)
                // PostgreSQL: NULLs sort last ascending, first descending.
                let xNull = x == .bool(false) || x == .null
                let yNull = y == .bool(false) || y == .null
                if xNull != yNull { return descending ? xNull : yNull }
                if let order = OdooDomain.compare(x, y), order != .orderedSame {
                    return descending ? order == .orderedDescending : order == .orderedAscending
                }
            }
            return a < b
        }
    }

    private func sortKey(_ model: String, _ id: Int, _ field: String) -> JSONValue {
        if field == "id" { return .int(id) }
        guard let spec = specs[model]?.fields[field] else { return .null }
        let v = readValue(model, id, field, spec, context: OdooContext(nil))
        if case .array(let pair) = v, pair.count == 2, case .string = pair[1] { return pair[1] }
        return v
    }

    /// `read` skips ids that do not exist, as Odoo 19 does (`write` and buttons raise `MissingError` instead).
    func read(_ model: String, _ ids: [Int], fields: [String]?, context: OdooContext) throws -> JSONValue {
        let names = (fields?.isEmpty ?? true) ? allFields(model) : (fields ?? [])
        return .array(try ids.filter { exists(model, $0) }.map { try readRecord(model, $0, fields: names, context: context) })
    }

    // MARK: Create

    /// Creates one record from `vals` as `create` does: defaults, type checks, x2many commands, hooks.
    mutating func create(_ model: String, _ vals: [String: JSONValue], context: OdooContext) throws -> Int {
        if let id = try createOverride(model, vals, context: context) { return id }
        var values = defaults(model, context: context)
        for (key, value) in vals { values[key] = value }
        let (plain, relational) = try convert(model, values)
        var record = plain
        try prepareCreate(model, &record, context: context)
        try checkRequired(model, record)
        let id = insert(model, record)
        try applyRelational(model, id, relational, context: context)
        try afterCreate(model, id, vals, context: context)
        return id
    }

    /// Splits values into stored ones (checked and converted) and x2many commands to apply after insert.
    /// A many2one to a missing record fails as Odoo 19 was seen to fail: on create with the database's
    /// foreign-key error (422), on write with `MissingError` of the target (404).
    func convert(_ model: String, _ values: [String: JSONValue], writing: Bool = false, uid: Int = Seed.adminUID) throws -> (OdooRecord, [(String, JSONValue)]) {
        guard let spec = specs[model] else { return ([:], []) }
        var plain: OdooRecord = [:]
        var relational: [(String, JSONValue)] = []
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            guard let field = spec.fields[key] else { throw OdooFault.valueError("Invalid field '\(key)' in '\(model)'") }
            if field.computed { continue }
            switch field.kind {
            case .float:
                switch value {
                case .number: plain[key] = value
                case .bool(false), .null: plain[key] = .number("0")
                case .string(let s):
                    guard let d = Decimal(string: s.trimmingCharacters(in: .whitespaces)), !s.isEmpty else {
                        throw OdooFault.valueError("could not convert string to float: '\(s)'")
                    }
                    plain[key] = .float(d)
                default: throw OdooFault.typeError("float() argument must be a string or a real number, not '\(pythonType(value))'")
                }
            case .integer:
                switch value {
                case .number, .bool(false): plain[key] = value
                case .string(let s):
                    guard let i = Int(s) else { throw OdooFault.valueError("invalid literal for int() with base 10: '\(s)'") }
                    plain[key] = .int(i)
                default: throw OdooFault.typeError("int() argument must be a string, a bytes-like object or a real number, not '\(pythonType(value))'")
                }
            case .many2one(let comodel):
                switch value {
                case .number:
                    guard let target = value.intValue else { throw OdooFault.valueError("Wrong value for \(model).\(key): \(value.canonicalText)") }
                    if !exists(comodel, target) && writing {
                        throw OdooFault.missingRecord(model: comodel, ids: [target], uid: uid)
                    }
                    if !exists(comodel, target) {
                        throw OdooFault.constraint("Another model is using the record you are trying to delete.\n\nThe troublemaker is: '\(spec.description)' (\(model))\nThanks to the following constraint: '\(field.label)' (\(key))\nHow about archiving the record instead?")
                    }
                    plain[key] = .int(target)
                case .bool(false), .null: plain[key] = .bool(false)
                default: throw OdooFault.valueError("Wrong value for \(model).\(key): \(OdooDomain.pythonRepr(value))")
                }
            case .one2many, .many2many:
                relational.append((key, value))
            case .boolean:
                plain[key] = .bool(value.isTruthy)
            default:
                plain[key] = value == .null ? .bool(false) : value
            }
        }
        return (plain, relational)
    }

    private func pythonType(_ value: JSONValue) -> String {
        switch value {
        case .null: "NoneType"
        case .bool: "bool"
        case .number: "float"
        case .string: "str"
        case .array: "list"
        case .object: "dict"
        }
    }

    func checkRequired(_ model: String, _ record: OdooRecord) throws {
        guard let spec = specs[model] else { return }
        for (name, field) in spec.fields.sorted(by: { $0.key < $1.key }) where field.required {
            let v = record[name] ?? .bool(false)
            if !v.isTruthy && v != .number("0") {
                throw OdooFault.constraint("Missing required value for the field '\(field.label)' (\(name)).\nModel: '\(spec.description)' (\(model))\n- create/update: a mandatory field is not set\n- delete: another model requires the record being deleted, you can archive it instead\n")
            }
        }
    }

    /// Applies x2many commands: `[0,0,vals]`, `[1,id,vals]`, `[2,id,0]`, `[3,id,0]`, `[4,id,0]`, `[5,0,0]`, `[6,0,ids]`.
    mutating func applyRelational(_ model: String, _ id: Int, _ commands: [(String, JSONValue)], context: OdooContext) throws {
        for (field, value) in commands {
            guard let spec = specs[model]?.fields[field] else { continue }
            let list = value.arrayValue ?? []
            // A plain list of ids means [6, 0, ids].
            let normalized: [[JSONValue]] = list.allSatisfy({ $0.intValue != nil }) && !list.isEmpty
                ? [[.int(6), .int(0), .array(list)]]
                : list.compactMap(\.arrayValue)
            switch spec.kind {
            case .many2many(let comodel):
                var current = idList(model, id, field)
                for command in normalized {
                    guard let code = command.first?.intValue else { continue }
                    let target = command.count > 1 ? command[1].intValue : nil
                    switch code {
                    case 6:
                        let targets = (command.count > 2 ? command[2].arrayValue : nil)?.compactMap(\.intValue) ?? []
                        for t in targets where !exists(comodel, t) {
                            throw OdooFault.missingRecord(model: comodel, ids: [t], uid: context.uid)
                        }
                        current = targets
                    case 4: if let t = target, !current.contains(t) { current.append(t) }
                    case 3: current.removeAll { $0 == target }
                    case 5: current = []
                    case 0:
                        if let vals = command.count > 2 ? command[2].objectValue : nil {
                            current.append(try create(comodel, vals, context: context))
                        }
                    default: break
                    }
                }
                tables[model]?[id]?[field] = .ids(current)
            case .one2many(let comodel, let inverse):
                for command in normalized {
                    guard let code = command.first?.intValue else { continue }
                    let target = command.count > 1 ? command[1].intValue : nil
                    let vals = command.count > 2 ? command[2].objectValue : nil
                    switch code {
                    case 0:
                        var child = vals ?? [:]
                        child[inverse] = .int(id)
                        _ = try create(comodel, child, context: context)
                    case 1:
                        if let t = target, let vals { try write(comodel, [t], vals, context: context) }
                    case 2:
                        if let t = target { try unlinkChild(comodel, t) }
                    case 3:
                        if let t = target { setField(comodel, t, inverse, .bool(false)) }
                    case 4:
                        if let t = target { setField(comodel, t, inverse, .int(id)) }
                    case 5:
                        // Odoo orphans the children (and, for move lines, leaks their reservation).
                        for child in idList(model, id, field) {
                            setField(comodel, child, inverse, .bool(false))
                            if comodel == "stock.move.line" { setField(comodel, child, "orphaned", .bool(true)) }
                        }
                    case 6:
                        let targets = (command.count > 2 ? command[2].arrayValue : nil)?.compactMap(\.intValue) ?? []
                        for child in idList(model, id, field) where !targets.contains(child) {
                            setField(comodel, child, inverse, .bool(false))
                        }
                        for t in targets { setField(comodel, t, inverse, .int(id)) }
                    default: break
                    }
                }
                try afterRelationalChange(model, id, field)
            default:
                break
            }
        }
    }

    // MARK: Write and unlink

    mutating func write(_ model: String, _ ids: [Int], _ vals: [String: JSONValue], context: OdooContext) throws {
        let missing = ids.filter { !exists(model, $0) }
        if !missing.isEmpty { throw OdooFault.missingRecord(model: model, ids: missing, uid: context.uid) }
        let (plain, relational) = try convert(model, vals, writing: true, uid: context.uid)
        for id in ids {
            try beforeWrite(model, id, plain, context: context)
            update(model, id, plain)
            try applyRelational(model, id, relational, context: context)
            try afterWrite(model, id, plain, context: context)
        }
    }

    mutating func unlink(_ model: String, _ ids: [Int], context: OdooContext) throws {
        let missing = ids.filter { !exists(model, $0) }
        if !missing.isEmpty { throw OdooFault.missingRecord(model: model, ids: missing, uid: context.uid) }
        if model == "stock.quant" {
            throw OdooFault.accessError("You are not allowed to delete 'Quants' (stock.quant) records.\n\nNo group currently allows this operation.\n\nContact your administrator to request access if necessary.")
        }
        for id in ids {
            try unlinkChild(model, id)
            // Odoo removes the record's external ids with it.
            for xmlID in self.ids("ir.model.data") where string("ir.model.data", xmlID, "model") == model && int("ir.model.data", xmlID, "res_id") == id {
                delete("ir.model.data", xmlID)
            }
        }
    }

    mutating func unlinkChild(_ model: String, _ id: Int) throws {
        let moveOfLine = model == "stock.move.line" ? int(model, id, "move_id") : nil
        delete(model, id)
        if let move = moveOfLine { syncMoveQuantity(move) }
    }
}

extension OdooContext {
    /// The user a call runs as; set by the dispatcher.
    var uid: Int { raw["uid"]?.intValue ?? 2 }
}
