import Foundation
import MillwrightCore

/// Calls of `<model>/<method>` with keyword arguments, checked the way Odoo 19's JSON-2 controller checks them.
extension OdooDatabase {
    static let ormModelMethods: Set<String> = [
        "search", "search_read", "search_count", "create", "load", "check_access_rights", "fields_get", "read_group", "formatted_read_group",
    ]
    static let ormRecordMethods: Set<String> = ["read", "write", "unlink", "has_access"]

    /// Keyword arguments each method accepts (besides `ids` and `context`), and the required ones.
    static func signature(_ method: String) -> (allowed: Set<String>, required: [String])? {
        switch method {
        case "search": (["domain", "offset", "limit", "order"], [])
        case "search_read": (["domain", "fields", "offset", "limit", "order", "load"], [])
        case "search_count": (["domain", "limit"], [])
        case "read": (["fields", "load"], [])
        case "create": (["vals_list"], ["vals_list"])
        case "write": (["vals"], ["vals"])
        case "unlink": ([], [])
        case "load": (["fields", "data"], ["fields", "data"])
        case "read_group": (["domain", "fields", "groupby", "offset", "limit", "orderby", "lazy"], ["domain", "fields", "groupby"])
        case "formatted_read_group": (["domain", "groupby", "aggregates", "having", "offset", "limit", "order"], [])
        case "check": (["model", "mode", "raise_exception"], ["model", "mode"])
        case "check_access_rights": (["operation", "raise_exception"], ["operation"])
        case "has_access": (["operation"], ["operation"])
        case "action_feedback": (["feedback", "attachment_ids"], [])
        case "message_post": (["body", "subject", "message_type", "subtype_xmlid", "partner_ids", "body_is_html"], [])
        default: nil
        }
    }

    /// Runs one method. `ids` is nil when the request carried none.
    /// - Parameter jsonRPC: JSON-RPC's `create` with one dict answers the id, JSON-2's a list of one id.
    mutating func call(model: String, method: String, ids: [Int]?, kwargs: [String: JSONValue], uid: Int, jsonRPC: Bool = false) throws -> JSONValue {
        guard let spec = specs[model] else { throw OdooFault.notFound("the model '\(model)' does not exist") }
        if method.hasPrefix("_") {
            throw OdooFault.accessError("Private methods (such as '\(model).\(method)') cannot be called remotely.")
        }
        let isModelMethod = Self.ormModelMethods.contains(method) || spec.modelMethods.contains(method)
        let isRecordMethod = Self.ormRecordMethods.contains(method) || spec.recordMethods.contains(method)
        guard isModelMethod || isRecordMethod else {
            throw OdooFault.notFound("The method '\(model).\(method)' does not exist")
        }
        if isModelMethod && !isRecordMethod && ids != nil {
            throw OdooFault.unprocessable("cannot call \(model).\(method) with ids")
        }
        if let (allowed, required) = Self.signature(method) {
            for name in required where kwargs[name] == nil {
                throw OdooFault.unprocessable("missing a required argument: '\(name)'")
            }
            for key in kwargs.keys.sorted() where key != "context" && !allowed.contains(key) {
                let owner = method == "search_read" ? "BaseModel._read_format" : "BaseModel.\(method)"
                throw OdooFault.typeError("\(owner)() got an unexpected keyword argument '\(key)'")
            }
        }
        var contextValues = kwargs["context"]?.objectValue ?? [:]
        contextValues["uid"] = .int(uid)
        let context = OdooContext(.object(contextValues))
        try checkAccess(model: model, method: method, uid: uid)
        let recordIDs = ids ?? []

        switch method {
        case "search", "search_read", "search_count":
            let found = try search(model, domain: kwargs["domain"], order: kwargs["order"]?.stringValue,
                                   limit: kwargs["limit"]?.intValue, offset: kwargs["offset"]?.intValue ?? 0, context: context)
            if method == "search" { return .ids(found) }
            if method == "search_count" { return .int(found.count) }
            let fields = kwargs["fields"]?.arrayValue?.compactMap(\.stringValue)
            return try read(model, found, fields: fields, context: context)
        case "read":
            return try read(model, recordIDs, fields: kwargs["fields"]?.arrayValue?.compactMap(\.stringValue), context: context)
        case "create":
            guard let vals = kwargs["vals_list"] else { return .null }
            if let single = vals.objectValue {
                let id = try create(model, single, context: context)
                return jsonRPC ? .int(id) : .ids([id])
            }
            guard let list = vals.arrayValue else { throw OdooFault.valueError("vals_list must be a list of dicts") }
            return .ids(try list.map { item in
                guard let object = item.objectValue else {
                    throw OdooFault.typeError("'\(item.kindDescription)' object is not a mapping")
                }
                return try create(model, object, context: context)
            })
        case "write":
            guard let vals = kwargs["vals"]?.objectValue else { throw OdooFault.valueError("vals must be a dict") }
            try write(model, recordIDs, vals, context: context)
            return .bool(true)
        case "unlink":
            try unlink(model, recordIDs, context: context)
            return .bool(true)
        case "load":
            return try load(model, fields: kwargs["fields"], data: kwargs["data"], context: context)
        case "read_group":
            return try readGroup(model, kwargs: kwargs, context: context)
        case "formatted_read_group":
            return try formattedReadGroup(model, kwargs: kwargs, context: context)
        case "fields_get":
            return .object(spec.fields.mapValues { ["string": .string($0.label), "required": .bool($0.required)] })
        case "context_get":
            return ["lang": value("res.users", uid, "lang"), "tz": value("res.users", uid, "tz"), "uid": .int(uid)]
        case "check":
            let target = kwargs["model"]?.stringValue ?? ""
            let mode = kwargs["mode"]?.stringValue ?? "read"
            let allowed = Self.allows(uid: uid, model: target, operation: mode)
            if !allowed && (kwargs["raise_exception"]?.boolValue ?? true) {
                throw Self.accessFault(model: target, operation: mode, specs: specs)
            }
            return .bool(allowed)
        case "check_access_rights", "has_access":
            let operation = kwargs["operation"]?.stringValue ?? "read"
            let allowed = Self.allows(uid: uid, model: model, operation: operation)
            if !allowed && method == "check_access_rights" && (kwargs["raise_exception"]?.boolValue ?? true) {
                throw Self.accessFault(model: model, operation: operation, specs: specs)
            }
            return .bool(allowed)
        default:
            let missing = recordIDs.filter { !exists(model, $0) }
            if !missing.isEmpty { throw OdooFault.missingRecord(model: model, ids: missing, uid: uid) }
            return try callBusinessMethod(model: model, method: method, ids: recordIDs, kwargs: kwargs, context: context)
        }
    }

    mutating func callBusinessMethod(model: String, method: String, ids: [Int], kwargs: [String: JSONValue], context: OdooContext) throws -> JSONValue {
        switch (model, method) {
        case ("mrp.production", "action_confirm"):
            for id in ids { confirmProduction(id) }
            return .bool(true)
        case ("mrp.production", "action_assign"):
            for id in ids { for move in idList(model, id, "move_raw_ids") { reserve(move) } }
            return .bool(true)
        case ("mrp.production", "set_qty_producing"):
            guard ids.count == 1, let id = ids.first else {
                throw OdooFault.valueError("Expected singleton: mrp.production(\(ids.map(String.init).joined(separator: ", "))\(ids.count == 1 ? "," : ""))")
            }
            setQuantityProducing(id)
            return .null
        case ("mrp.production", "button_mark_done"):
            var answer: JSONValue = .bool(true)
            for id in ids {
                let result = try markDone(id, context: context)
                if result != .bool(true) { return result }
                answer = result
            }
            return answer
        case ("mrp.production", "action_cancel"):
            for id in ids {
                if productionState(id) == "done" {
                    throw OdooFault.userError("You cannot cancel a manufacturing order that is already done.")
                }
                for move in idList(model, id, "move_raw_ids") + idList(model, id, "move_finished_ids") { cancelMove(move) }
                update(model, id, ["state": "cancel"])
            }
            return .bool(true)
        case ("mrp.production.backorder", "action_backorder"), ("mrp.production.backorder", "action_close_mo"):
            guard let wizard = ids.first else { return .bool(true) }
            let productions = idList(model, wizard, "mrp_production_ids")
            let lines = idList(model, wizard, "mrp_production_backorder_line_ids")
            let toBackorder = method == "action_close_mo" ? [] : lines.filter { bool("mrp.production.backorder.line", $0, "to_backorder") }
                .compactMap { int("mrp.production.backorder.line", $0, "mrp_production_id") }
            var raw = context.raw
            raw["skip_backorder"] = true
            raw["mo_ids_to_backorder"] = .ids(toBackorder)
            for key in raw.keys where key.hasPrefix("default_") || key == "always_backorder_mo_ids" { raw[key] = nil }
            return try callBusinessMethod(model: "mrp.production", method: "button_mark_done", ids: productions,
                                          kwargs: [:], context: OdooContext(.object(raw)))
        case ("mrp.production.serials", "action_apply"):
            // One serial a line: missing lots are created; the order produces exactly those serials.
            for wizard in ids {
                guard let mo = int(model, wizard, "production_id"), let product = int("mrp.production", mo, "product_id") else { continue }
                let names = (string(model, wizard, "serial_numbers") ?? "").split(whereSeparator: \.isNewline)
                    .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                let lots = names.map { name in
                    self.ids("stock.lot").first { string("stock.lot", $0, "name") == name && int("stock.lot", $0, "product_id") == product }
                        ?? insert("stock.lot", ["name": .string(name), "product_id": .int(product), "company_id": false])
                }
                update("mrp.production", mo, ["lot_producing_ids": .ids(lots), "qty_producing": .float(Decimal(lots.count))])
                setQuantityProducing(mo)
            }
            return ["type": "ir.actions.act_window_close"]
        case ("stock.picking", "action_confirm"):
            for id in ids { confirmPicking(id) }
            return .bool(true)
        case ("stock.picking", "action_assign"):
            for id in ids { assignPicking(id) }
            return .bool(true)
        case ("stock.picking", "button_validate"):
            for id in ids {
                let answer = validatePicking(id)
                if answer != .bool(true) { return answer }
            }
            return .bool(true)
        case ("stock.picking", "action_cancel"):
            for id in ids {
                for move in idList(model, id, "move_ids") where string("stock.move", move, "state") != "done" { cancelMove(move) }
                update(model, id, ["state": "cancel"])
            }
            return .bool(true)
        case ("stock.scrap", "action_validate"):
            var answer: JSONValue = .bool(true)
            for id in ids { answer = validateScrap(id) }
            return answer
        case ("stock.scrap", "do_scrap"):
            for id in ids { doScrap(id) }
            return .bool(true)
        case ("stock.quant", "action_apply_inventory"):
            for id in ids where bool(model, id, "inventory_quantity_set") {
                applyInventory(id, counted: decimal(model, id, "inventory_quantity"))
            }
            return .null
        case ("mrp.workorder", "button_finish"):
            for id in ids { finishWorkOrder(id) }
            return .bool(true)
        case ("mrp.production", "message_post"):
            return postMessage(model: model, ids: ids, kwargs: kwargs)
        case ("mail.activity", "action_feedback"):
            var message = 0
            for id in ids {
                let type = int(model, id, "activity_type_id").map { displayName("mail.activity.type", $0) } ?? "Activity"
                let summary = string(model, id, "summary") ?? ""
                let feedback = kwargs["feedback"]?.stringValue.map { "<p>\($0)</p>" } ?? ""
                message = insert("mail.message", ["body": .string("<p>\(type) done: \(summary)</p>\(feedback)"),
                                                  "model": value(model, id, "res_model"), "res_id": value(model, id, "res_id")])
                delete(model, id)
            }
            return .int(message)
        default:
            throw OdooFault.notFound("The method '\(model).\(method)' does not exist")
        }
    }

    // MARK: Access rights

    /// What the `mes-bridge` user (an internal user without MRP or product-creation rights) may do.
    static func allows(uid: Int, model: String, operation: String) -> Bool {
        guard uid == Seed.mesBridgeUID else { return true }
        if model.hasPrefix("mrp.") { return false }
        if operation == "read" { return true }
        if model == "product.product" || model.hasPrefix("stock.") || model.hasPrefix("ir.") || model == "res.users" { return false }
        return true
    }

    static func accessFault(model: String, operation: String, specs: [String: OdooModelSpec]) -> OdooFault {
        let verb = switch operation {
        case "write": "modify"
        case "create": "create"
        case "unlink": "delete"
        default: "access"
        }
        let description = specs[model]?.description ?? model
        let groups = specs[model]?.accessGroups ?? []
        let allowedBy = groups.isEmpty
            ? "No group currently allows this operation."
            : "This operation is allowed for the following groups:\n" + groups.map { "\t- \($0)" }.joined(separator: "\n")
        return .accessError("You are not allowed to \(verb) '\(description)' (\(model)) records.\n\n\(allowedBy)\n\nContact your administrator to request access if necessary.")
    }

    func checkAccess(model: String, method: String, uid: Int) throws {
        guard uid == Seed.mesBridgeUID else { return }
        let operation: String = switch method {
        case "search", "search_read", "search_count", "read", "fields_get", "read_group", "formatted_read_group", "check", "check_access_rights", "has_access", "context_get": "read"
        case "create", "load": "create"
        case "unlink": "unlink"
        default: "write"
        }
        if ["check", "check_access_rights", "has_access", "context_get"].contains(method) { return }
        guard !Self.allows(uid: uid, model: model, operation: operation) else { return }
        // Creating an order first creates its production group; Odoo names that model.
        if model == "mrp.production" && operation == "create" {
            throw Self.accessFault(model: "mrp.production.group", operation: "create", specs: specs)
        }
        // Odoo checks read access on the order before running a button.
        throw Self.accessFault(model: model, operation: model.hasPrefix("mrp.") ? "read" : operation, specs: specs)
    }

    // MARK: load

    /// `load(fields, data)`: rows bound to external ids; any row error imports nothing.
    mutating func load(_ model: String, fields: JSONValue?, data: JSONValue?, context: OdooContext) throws -> JSONValue {
        let names = fields?.arrayValue?.compactMap(\.stringValue) ?? []
        let rows = data?.arrayValue?.map { $0.arrayValue ?? [] } ?? []
        var messages: [JSONValue] = []
        var prepared: [(xmlID: String?, vals: [String: JSONValue])] = []
        for (index, row) in rows.enumerated() {
            var xmlID: String?
            var vals: [String: JSONValue] = [:]
            for (column, name) in names.enumerated() {
                let cell = column < row.count ? row[column] : .string("")
                let text = cell.stringValue ?? (cell == .null || cell == .bool(false) ? "" : cell.canonicalText)
                if name == "id" {
                    xmlID = text.isEmpty ? nil : (text.contains(".") ? text : "__import__.\(text)")
                    continue
                }
                if name.hasSuffix("/id") {
                    let field = String(name.dropLast(3))
                    guard let target = resolveXMLID(text) else {
                        messages.append(loadError(index, field: field, model: model,
                                                  message: "No matching record found for external id '\(text)' in field '\(specs[model]?.fields[field]?.label ?? field)'"))
                        continue
                    }
                    vals[field] = .int(target)
                    continue
                }
                guard let spec = specs[model]?.fields[name] else {
                    messages.append(loadError(index, field: name, model: model, message: "Unknown field '\(name)'"))
                    continue
                }
                switch spec.kind {
                case .float, .integer:
                    if text.isEmpty { vals[name] = .number("0"); continue }
                    guard let number = Decimal(string: text), Double(text) != nil else {
                        messages.append(loadError(index, field: name, model: model,
                                                  message: "'\(text)' does not seem to be a number for field '\(spec.label)'"))
                        continue
                    }
                    vals[name] = .float(number)
                case .boolean:
                    vals[name] = .bool(!["", "0", "false", "no", "False"].contains(text))
                default:
                    vals[name] = text.isEmpty ? .bool(false) : .string(text)
                }
            }
            prepared.append((xmlID, vals))
        }
        if !messages.isEmpty {
            return ["ids": false, "messages": .array(messages), "nextrow": 0]
        }
        var result: [Int] = []
        for (xmlID, vals) in prepared {
            if let xmlID, let existing = resolveXMLID(xmlID, model: model) {
                try write(model, [existing], vals, context: context)
                result.append(existing)
            } else {
                let id = try create(model, vals, context: context)
                let parts = xmlID?.split(separator: ".", maxSplits: 1).map(String.init) ?? []
                if let xmlID, parts.count == 2 {
                    insert("ir.model.data", ["module": .string(parts[0]), "name": .string(parts[1]),
                                             "model": .string(model), "res_id": .int(id), "noupdate": false,
                                             "complete_name": .string(xmlID)])
                }
                result.append(id)
            }
        }
        return ["ids": .ids(result), "messages": [], "nextrow": 0]
    }

    private func loadError(_ row: Int, field: String, model: String, message: String) -> JSONValue {
        ["field": .string(field), "field_name": .string(specs[model]?.fields[field]?.label ?? field), "message": .string(message),
         "record": .int(row), "rows": ["from": .int(row), "to": .int(row)], "type": "error"]
    }

    func resolveXMLID(_ xmlID: String, model: String? = nil) -> Int? {
        let parts = xmlID.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return nil }
        let hit = ids("ir.model.data").first {
            string("ir.model.data", $0, "module") == parts[0] && string("ir.model.data", $0, "name") == parts[1]
                && (model == nil || string("ir.model.data", $0, "model") == model)
        }
        guard let hit, let target = int("ir.model.data", hit, "res_id"),
              let targetModel = string("ir.model.data", hit, "model"), exists(targetModel, target) else { return nil }
        return target
    }
}
