import Foundation
import MillwrightCore

/// Per-model behaviour around the ORM: defaults, computed fields, create/write side effects.
extension OdooDatabase {
    func defaults(_ model: String, context: OdooContext) -> OdooRecord {
        var values: OdooRecord
        switch model {
        case "product.product":
            values = ["active": true, "type": "consu", "is_storable": false, "tracking": "none", "uom_id": 1,
                      "list_price": .number("1.0"), "default_code": false, "categ_id": 1, "barcode": false]
        case "stock.location": values = ["active": true, "usage": "internal", "barcode": false]
        case "stock.lot": values = ["company_id": false]
        case "stock.move": values = ["state": "draft", "picked": false, "quantity": .number("0"), "product_uom_qty": .number("0")]
        case "stock.move.line": values = ["quantity": .number("0"), "picked": false]
        case "stock.picking": values = ["state": "draft", "date_done": false]
        case "stock.scrap":
            values = ["state": "draft", "name": "New", "scrap_location_id": .int(Seed.inventoryAdjustment),
                      "location_id": .int(Seed.stock), "scrap_qty": .number("1"), "date_done": false]
        case "stock.quant": values = ["quantity": .number("0"), "inventory_quantity": .number("0"), "inventory_quantity_set": false]
        case "mrp.production":
            values = ["state": "draft", "product_qty": .number("1"), "qty_producing": .number("0"), "qty_produced": .number("0"),
                      "backorder_sequence": .int(0), "is_locked": true, "priority": "0",
                      "location_src_id": .int(Seed.stock), "location_dest_id": .int(Seed.stock),
                      "picking_type_id": .int(Seed.manufacturingType), "date_start": .string(now)]
        case "maintenance.equipment": values = ["active": true, "maintenance_team_id": .int(1)]
        case "maintenance.request":
            values = ["stage_id": .int(1), "maintenance_team_id": .int(1), "maintenance_type": "corrective",
                      "priority": "0", "kanban_state": "normal", "request_date": .string(String(now.prefix(10))), "user_id": false]
        case "mail.activity":
            values = ["date_deadline": .string(String(now.prefix(10))), "user_id": .int(context.uid)]
        case "ir.model.data": values = ["noupdate": false]
        case "base.automation": values = ["active": true, "trigger": "on_create_or_write"]
        case "ir.actions.server": values = ["state": "code", "usage": "ir_actions_server", "webhook_url": false]
        case "mrp.bom": values = ["product_qty": .number("1"), "type": "normal", "active": true, "consumption": "warning", "sequence": 0, "code": false, "product_id": false]
        case "product.template": values = ["active": true, "default_code": false]
        case "res.users": values = ["active": true, "tz": false, "lang": "en_US"]
        case "mrp.workcenter": values = ["active": true, "code": false]
        case "mrp.workorder": values = ["state": "ready", "qty_produced": .number("0"), "qty_reported_from_previous_wo": .number("0")]
        case "mrp.workcenter.productivity": values = ["user_id": .int(context.uid), "description": false, "date_end": false]
        default: values = [:]
        }
        // `default_<field>` keys of the context, as Odoo applies them.
        for (key, value) in context.raw where key.hasPrefix("default_") {
            let field = String(key.dropFirst("default_".count))
            if specs[model]?.fields[field] != nil { values[field] = value }
        }
        return values
    }

    /// Creates that do not make a plain new record (quants in inventory mode, duplicate lots).
    mutating func createOverride(_ model: String, _ vals: [String: JSONValue], context: OdooContext) throws -> Int? {
        switch model {
        case "stock.quant" where context.flag("inventory_mode"):
            return try createQuantInInventoryMode(vals, context: context)
        case "stock.lot":
            if let name = vals["name"]?.stringValue, let product = vals["product_id"]?.intValue {
                let duplicate = ids("stock.lot").contains {
                    string("stock.lot", $0, "name") == name && int("stock.lot", $0, "product_id") == product
                }
                if duplicate {
                    throw OdooFault.validationError("The combination of lot/serial number and product must be unique within a company including when no company is defined.\nThe following combinations contain duplicates:\n - Product: \(displayName("product.product", product)), Lot/Serial Number: \(name)")
                }
            }
            return nil
        case "ir.model.data":
            if let module = vals["module"]?.stringValue, let name = vals["name"]?.stringValue,
               ids("ir.model.data").contains(where: { string("ir.model.data", $0, "module") == module && string("ir.model.data", $0, "name") == name }) {
                throw OdooFault.constraint("duplicate key value violates unique constraint \"ir_model_data_module_name_uniq_index\"\nDETAIL:  Key (module, name)=(\(module), \(name)) already exists.\n")
            }
            return nil
        case "res.users":
            if let login = vals["login"]?.stringValue, ids("res.users").contains(where: { string("res.users", $0, "login") == login }) {
                throw OdooFault.constraint("You can not have two users with the same login!")
            }
            return nil
        default:
            return nil
        }
    }

    mutating func prepareCreate(_ model: String, _ record: inout OdooRecord, context: OdooContext) throws {
        switch model {
        case "product.product":
            // Odoo creates the template of a product made without one (`_inherits`).
            if record["product_tmpl_id"]?.intValue == nil {
                record["product_tmpl_id"] = .int(insert("product.template", [
                    "name": record["name"] ?? "", "default_code": record["default_code"] ?? false, "active": true,
                ]))
            }
        case "stock.location":
            let name = record["name"]?.stringValue ?? ""
            if let parent = record["location_id"]?.intValue {
                record["complete_name"] = .string("\(displayName("stock.location", parent))/\(name)")
            } else {
                record["complete_name"] = .string(name)
            }
        case "mrp.production":
            guard let product = record["product_id"]?.intValue else { return }
            if record["product_uom_id"]?.intValue == nil { record["product_uom_id"] = value("product.product", product, "uom_id") }
            if record["bom_id"]?.intValue == nil {
                record["bom_id"] = bomFind(product).map { .int($0) } ?? .bool(false)
            }
            let name = record["name"]?.stringValue ?? "New"
            if name == "New" || name.isEmpty {
                record["name"] = .string(String(format: "WH/MO/%05d", nextSequence("mrp.production")))
            }
            if record["production_group_id"]?.intValue == nil {
                record["production_group_id"] = .int(insert("mrp.production.group", ["name": record["name"] ?? "New"]))
            }
        case "stock.picking":
            if let type = record["picking_type_id"]?.intValue {
                if record["location_id"]?.intValue == nil { record["location_id"] = value("stock.picking.type", type, "default_location_src_id") }
                if record["location_dest_id"]?.intValue == nil { record["location_dest_id"] = value("stock.picking.type", type, "default_location_dest_id") }
                let prefix = string("stock.picking.type", type, "sequence_code") ?? "INT"
                record["name"] = .string(String(format: "WH/%@/%05d", prefix, nextSequence("stock.picking.\(prefix)")))
            }
        case "stock.move":
            if record["product_uom"]?.intValue == nil, let product = record["product_id"]?.intValue {
                record["product_uom"] = value("product.product", product, "uom_id")
            }
            if record["name"] == nil, let product = record["product_id"]?.intValue {
                record["name"] = .string(string("product.product", product, "name") ?? "")
            }
        case "stock.move.line":
            if let move = record["move_id"]?.intValue {
                for field in ["product_id", "location_id", "location_dest_id", "picking_id"] where record[field]?.intValue == nil {
                    record[field] = value("stock.move", move, field)
                }
                record["product_uom_id"] = value("stock.move", move, "product_uom")
            }
        case "stock.scrap":
            if record["product_uom_id"]?.intValue == nil, let product = record["product_id"]?.intValue {
                record["product_uom_id"] = value("product.product", product, "uom_id")
            }
        case "mail.activity":
            if let modelID = record["res_model_id"]?.intValue {
                record["res_model"] = value("ir.model", modelID, "model")
            }
        case "ir.model.data":
            record["complete_name"] = .string("\(record["module"]?.stringValue ?? "").\(record["name"]?.stringValue ?? "")")
        case "ir.model.fields":
            if let modelID = record["model_id"]?.intValue, let modelName = string("ir.model", modelID, "model"),
               let fieldName = record["name"]?.stringValue {
                record["model"] = .string(modelName)
                let label = record["field_description"]?.stringValue ?? fieldName
                let kind: OdooFieldKind = switch record["ttype"]?.stringValue {
                case "integer": .integer
                case "float": .float
                case "boolean": .boolean
                case "text": .text
                default: .char
                }
                specs[modelName]?.fields[fieldName] = OdooFieldSpec(kind: kind, label: label)
            }
        default:
            break
        }
    }

    mutating func afterCreate(_ model: String, _ id: Int, _ vals: [String: JSONValue], context: OdooContext) throws {
        switch model {
        case "mrp.production":
            explodeBillOfMaterials(id)
        case "stock.move.line":
            if let move = int(model, id, "move_id") { syncMoveQuantity(move) }
        case "mrp.production.backorder":
            // Lines from the context's defaults, as the wizard's form would create them.
            if idList(model, id, "mrp_production_backorder_line_ids").isEmpty,
               let lines = context["default_mrp_production_backorder_line_ids"] {
                try applyRelational(model, id, [("mrp_production_backorder_line_ids", lines)], context: OdooContext(nil))
            }
        default:
            break
        }
    }

    mutating func beforeWrite(_ model: String, _ id: Int, _ values: OdooRecord, context: OdooContext) throws {
        if model == "mrp.workorder" { try checkWorkOrderWrite(id, values) }
        if model == "stock.quant", values["inventory_quantity"] != nil {
            tables[model]?[id]?["inventory_quantity_set"] = .bool(true)
        }
    }

    mutating func afterWrite(_ model: String, _ id: Int, _ values: OdooRecord, context: OdooContext) throws {
        switch model {
        case "stock.move":
            if let quantity = values["quantity"]?.decimalValue {
                setMoveQuantity(id, quantity)
            }
            if let picked = values["picked"] {
                for line in idList(model, id, "move_line_ids") { tables["stock.move.line"]?[line]?["picked"] = picked }
            }
        case "stock.move.line":
            if let move = int(model, id, "move_id") { syncMoveQuantity(move) }
        case "mrp.workorder":
            if let produced = values["qty_produced"]?.decimalValue, produced > 0 { workOrderQuantityWritten(id) }
        case "stock.quant":
            if let auto = values["inventory_quantity_auto_apply"]?.decimalValue {
                applyInventory(id, counted: auto)
            }
        default:
            break
        }
    }

    mutating func afterRelationalChange(_ model: String, _ id: Int, _ field: String) throws {
        if model == "stock.move" && field == "move_line_ids" { syncMoveQuantity(id) }
    }

    // MARK: Computed fields

    func computedValue(_ model: String, _ id: Int, _ field: String, context: OdooContext) -> JSONValue? {
        switch (model, field) {
        case (_, "id"): return .int(id)
        case (_, "display_name"): return .string(displayName(model, id))
        case ("product.product", "qty_available"), ("product.product", "free_qty"):
            let location = context["location"]?.intValue
            let lot = context["lot_id"]?.intValue
            let quants = ids("stock.quant").filter { quant in
                guard int("stock.quant", quant, "product_id") == id else { return false }
                if let lot, int("stock.quant", quant, "lot_id") != lot { return false }
                guard let where_ = int("stock.quant", quant, "location_id") else { return false }
                if let location { return isDescendant("stock.location", where_, of: [location]) }
                return isInternal(where_)
            }
            let total = quants.reduce(Decimal(0)) { sum, quant in
                sum + (field == "qty_available" ? decimal("stock.quant", quant, "quantity") : availableQuantity(quant))
            }
            return .float(total)
        case ("stock.quant", "reserved_quantity"): return .float(reservedQuantity(id))
        case ("stock.quant", "available_quantity"): return .float(availableQuantity(id))
        case ("stock.quant", "inventory_diff_quantity"):
            return .float(bool(model, id, "inventory_quantity_set") ? decimal(model, id, "inventory_quantity") - decimal(model, id, "quantity") : 0)
        case ("stock.quant", "product_uom_id"):
            guard let product = int(model, id, "product_id"), let uom = int("product.product", product, "uom_id") else { return .bool(false) }
            return .array([.int(uom), .string(displayName("uom.uom", uom))])
        case ("stock.lot", "product_qty"):
            let total = ids("stock.quant").filter {
                int("stock.quant", $0, "lot_id") == id && isInternal(int("stock.quant", $0, "location_id") ?? 0)
            }.reduce(Decimal(0)) { $0 + decimal("stock.quant", $1, "quantity") }
            return .float(total)
        case ("stock.move.line", "state"):
            guard let move = int(model, id, "move_id") else { return .bool(false) }
            return value("stock.move", move, "state")
        case ("mrp.production", "state"):
            return .string(productionState(id))
        case ("mrp.production", "reservation_state"):
            let state = productionState(id)
            guard ["confirmed", "progress", "to_close"].contains(state) else { return .bool(false) }
            let moves = idList(model, id, "move_raw_ids").filter { !["done", "cancel"].contains(string("stock.move", $0, "state") ?? "") }
            let ready = moves.allSatisfy { decimal("stock.move", $0, "quantity") >= decimal("stock.move", $0, "product_uom_qty") }
            return .string(ready ? "assigned" : "confirmed")
        case ("mrp.workorder", "qty_production"):
            guard let mo = int(model, id, "production_id") else { return .float(0) }
            return .float(decimal("mrp.production", mo, "product_qty"))
        case ("mrp.workorder", "qty_remaining"): return .float(workOrderRemaining(id))
        case ("mrp.workorder", "duration"): return .float(workOrderDuration(id))
        case ("mrp.workcenter.productivity", "duration"): return .float(timeLineMinutes(id))
        case ("mrp.workcenter.productivity", "production_id"):
            guard let wo = int(model, id, "workorder_id"), let mo = int("mrp.workorder", wo, "production_id") else { return .bool(false) }
            return .array([.int(mo), .string(displayName("mrp.production", mo))])
        case ("mrp.workcenter.productivity", "loss_type"):
            guard let loss = int(model, id, "loss_id") else { return .bool(false) }
            return value("mrp.workcenter.productivity.loss", loss, "loss_type")
        case ("mrp.production", "activity_state"), ("mail.activity", "state"):
            let activities = model == "mail.activity" ? [id] : idList(model, id, "activity_ids")
            guard let deadline = activities.compactMap({ string("mail.activity", $0, "date_deadline") }).min() else { return .bool(false) }
            let today = String(now.prefix(10))
            return .string(deadline < today ? "overdue" : (deadline == today ? "today" : "planned"))
        case ("mrp.production", "activity_summary"):
            guard let first = idList(model, id, "activity_ids").first else { return .bool(false) }
            return value("mail.activity", first, "summary")
        default:
            return nil
        }
    }

    func isInternal(_ location: Int) -> Bool { string("stock.location", location, "usage") == "internal" }

    /// Odoo's `_bom_find` for one product: active BoMs of the variant, or of its template without a
    /// variant, ordered by `sequence, product_id, id` (PostgreSQL sorts NULL product_id last).
    func bomFind(_ product: Int) -> Int? {
        let template = int("product.product", product, "product_tmpl_id")
        let candidates = ids("mrp.bom").filter { bom in
            guard value("mrp.bom", bom, "active").boolValue ?? true else { return false }
            if let variant = int("mrp.bom", bom, "product_id") { return variant == product }
            return template != nil && int("mrp.bom", bom, "product_tmpl_id") == template
        }
        return candidates.min { a, b in
            let key = { (bom: Int) in (self.int("mrp.bom", bom, "sequence") ?? 0, self.int("mrp.bom", bom, "product_id") == nil ? 1 : 0, bom) }
            return key(a) < key(b)
        }
    }
}
