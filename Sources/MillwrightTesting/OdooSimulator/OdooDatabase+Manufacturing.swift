import Foundation
import MillwrightCore

/// Production orders: BoM explosion, confirmation, `set_qty_producing`, `button_mark_done` and backorders.
extension OdooDatabase {
    /// Stored state `confirmed` reads as `progress` once something is producing, `to_close` when all is
    /// (with work orders: when they are all finished).
    func productionState(_ mo: Int) -> String {
        let stored = string("mrp.production", mo, "state") ?? "draft"
        guard stored == "confirmed" else { return stored }
        let producing = decimal("mrp.production", mo, "qty_producing")
        let remaining = decimal("mrp.production", mo, "product_qty") - decimal("mrp.production", mo, "qty_produced")
        let workOrders = idList("mrp.production", mo, "workorder_ids")
        if workOrders.isEmpty {
            if producing > 0 && producing >= remaining { return "to_close" }
        } else if workOrders.allSatisfy({ ["done", "cancel"].contains(string("mrp.workorder", $0, "state") ?? "") }) {
            // With work orders, only their being finished closes the order (observed: button_finish → to_close).
            return "to_close"
        }
        let picked = idList("mrp.production", mo, "move_raw_ids").contains { bool("stock.move", $0, "picked") }
        // A work order started, finished, or with a quantity done puts the order in progress (observed).
        let working = workOrders.contains {
            ["progress", "done"].contains(string("mrp.workorder", $0, "state") ?? "") || decimal("mrp.workorder", $0, "qty_produced") > 0
        }
        return producing > 0 || picked || working ? "progress" : "confirmed"
    }

    /// Raw moves from the BoM lines (`line qty × product_qty / bom qty`) and the finished move.
    mutating func explodeBillOfMaterials(_ mo: Int) {
        guard let product = int("mrp.production", mo, "product_id") else { return }
        let quantity = decimal("mrp.production", mo, "product_qty")
        let name = value("mrp.production", mo, "name")
        if let bom = int("mrp.production", mo, "bom_id") {
            let bomQuantity = decimal("mrp.bom", bom, "product_qty")
            for line in idList("mrp.bom", bom, "bom_line_ids") {
                guard let component = int("mrp.bom.line", line, "product_id") else { continue }
                let demand = decimal("mrp.bom.line", line, "product_qty") * quantity / (bomQuantity == 0 ? 1 : bomQuantity)
                addRawMove(mo, component: component, demand: demand, uom: value("mrp.bom.line", line, "product_uom_id"),
                           unitFactor: quantity == 0 ? 0 : demand / quantity, state: "draft")
            }
        }
        insert("stock.move", [
            "name": .string(string("product.product", product, "name") ?? ""), "reference": name, "origin": name,
            "product_id": .int(product), "product_uom_qty": .float(quantity), "quantity": .number("0"),
            "product_uom": value("mrp.production", mo, "product_uom_id"), "state": "draft", "picked": false,
            "location_id": .int(Seed.production), "location_dest_id": value("mrp.production", mo, "location_dest_id"),
            "production_id": .int(mo), "raw_material_production_id": false, "picking_id": false, "unit_factor": .number("1"),
        ])
    }

    @discardableResult
    mutating func addRawMove(_ mo: Int, component: Int, demand: Decimal, uom: JSONValue, unitFactor: Decimal, state: String) -> Int {
        let name = value("mrp.production", mo, "name")
        return insert("stock.move", [
            "name": name, "reference": name, "origin": name,
            "product_id": .int(component), "product_uom_qty": .float(demand), "quantity": .number("0"),
            "product_uom": uom.intValue == nil ? value("product.product", component, "uom_id") : uom,
            "state": .string(state), "picked": false,
            "location_id": value("mrp.production", mo, "location_src_id"), "location_dest_id": .int(Seed.production),
            "raw_material_production_id": .int(mo), "production_id": false, "picking_id": false,
            "unit_factor": .float(unitFactor),
        ])
    }

    mutating func confirmProduction(_ mo: Int) {
        guard string("mrp.production", mo, "state") == "draft" else { return }
        update("mrp.production", mo, ["state": "confirmed"])
        createWorkOrders(mo)
        for move in idList("mrp.production", mo, "move_raw_ids") where string("stock.move", move, "state") == "draft" {
            update("stock.move", move, ["state": "confirmed"])
        }
        // The finished move is ready at once: quantity = demand (observed on Odoo 19).
        for move in idList("mrp.production", mo, "move_finished_ids") where string("stock.move", move, "state") == "draft" {
            update("stock.move", move, ["state": "assigned", "quantity": value("stock.move", move, "product_uom_qty")])
        }
        for move in idList("mrp.production", mo, "move_raw_ids") { reserve(move) }
    }

    /// `set_qty_producing`: every open component move to `(qty_producing − qty_produced) × unit_factor`, picked.
    mutating func setQuantityProducing(_ mo: Int) {
        let producing = decimal("mrp.production", mo, "qty_producing") - decimal("mrp.production", mo, "qty_produced")
        for move in idList("mrp.production", mo, "move_raw_ids") where !["done", "cancel"].contains(string("stock.move", move, "state") ?? "") {
            let target = (producing * decimal("stock.move", move, "unit_factor")).rounded(2)
            setMoveQuantity(move, target)
            update("stock.move", move, ["picked": true])
            for line in idList("stock.move", move, "move_line_ids") { update("stock.move.line", line, ["picked": true]) }
        }
    }

    /// `button_mark_done` for one order, with the contexts `skip_consumption`, `skip_backorder`, `mo_ids_to_backorder`.
    mutating func markDone(_ mo: Int, context: OdooContext) throws -> JSONValue {
        let toBackorder = (context["mo_ids_to_backorder"]?.arrayValue ?? []).compactMap(\.intValue)
        let skipBackorder = context.flag("skip_backorder")
        let state = productionState(mo)
        guard let product = int("mrp.production", mo, "product_id") else { return .bool(true) }
        let tracking = string("product.product", product, "tracking") ?? "none"

        if state == "done" {
            if skipBackorder && toBackorder.contains(mo) {
                throw OdooFault.constraint("The quantity to produce must be positive!")
            }
            if context.flag("skip_consumption") { return .bool(true) }
            if let warning = consumptionWarning(mo, context: context) { return warning }
            return .bool(true)
        }
        if state == "draft" { confirmProduction(mo) }

        var lots = idList("mrp.production", mo, "lot_producing_ids")
        if tracking == "lot" && lots.isEmpty {
            // Odoo 19 names a lot from the `stock.lot.serial` sequence and produces into it.
            let lot = insert("stock.lot", ["name": .string(String(format: "%07d", nextSequence("stock.lot.serial"))),
                                           "product_id": .int(product), "company_id": false])
            update("mrp.production", mo, ["lot_producing_ids": .ids([lot])])
            lots = [lot]
        }
        if tracking == "serial" && lots.isEmpty {
            return assignSerialNumbersAction(mo)
        }
        if tracking == "serial" {
            let produced = lots.filter { lot in
                ids("stock.quant").contains {
                    int("stock.quant", $0, "lot_id") == lot && isInternal(int("stock.quant", $0, "location_id") ?? 0)
                        && decimal("stock.quant", $0, "quantity") > 0
                }
            }
            if !produced.isEmpty {
                throw OdooFault.userError("Serial number(s) for product \(string("product.product", product, "name") ?? "") already produced")
            }
        }
        if decimal("mrp.production", mo, "qty_producing") == 0 {
            let remaining = decimal("mrp.production", mo, "product_qty") - decimal("mrp.production", mo, "qty_produced")
            update("mrp.production", mo, ["qty_producing": .float(remaining)])
            setQuantityProducing(mo)
        }
        if !context.flag("skip_consumption"), let warning = consumptionWarning(mo, context: context) {
            return warning
        }
        let producing = decimal("mrp.production", mo, "qty_producing")
        let remaining = decimal("mrp.production", mo, "product_qty") - decimal("mrp.production", mo, "qty_produced")
        let pickingType = int("mrp.production", mo, "picking_type_id") ?? Seed.manufacturingType
        let always = string("stock.picking.type", pickingType, "create_backorder") == "always"
        let short = producing < remaining
        var backorder: Int?
        if short {
            if (skipBackorder && toBackorder.contains(mo)) || (always && !skipBackorder) {
                backorder = try postProduction(mo, backorder: true)
            } else if skipBackorder {
                _ = try postProduction(mo, backorder: false)
            } else {
                return backorderWizardAction(mo, context: context)
            }
        } else {
            _ = try postProduction(mo, backorder: false)
        }
        guard let backorder else { return .bool(true) }
        var answerContext = context.raw
        answerContext["uid"] = nil
        if always && !skipBackorder { answerContext["marked_as_done"] = true }
        answerContext["mo_ids_to_backorder"] = .null
        answerContext["skip_backorder"] = false
        if answerContext["skip_consumption"] != nil { answerContext["skip_consumption"] = false }
        return [
            "context": .object(answerContext), "res_id": .int(backorder), "res_model": "mrp.production",
            "type": "ir.actions.act_window", "view_mode": "form", "views": [[false, "form"]],
        ]
    }

    /// Posts the produced quantity; with `backorder`, renames the order `NAME-001` and opens `NAME-00N`.
    mutating func postProduction(_ mo: Int, backorder: Bool) throws -> Int? {
        guard let product = int("mrp.production", mo, "product_id") else { return nil }
        let producing = decimal("mrp.production", mo, "qty_producing")
        if producing <= 0 { throw OdooFault.constraint("The quantity to produce must be positive!") }
        let planned = decimal("mrp.production", mo, "product_qty")
        let produced = decimal("mrp.production", mo, "qty_produced")
        let remaining = planned - produced - producing
        let tracking = string("product.product", product, "tracking") ?? "none"
        // button_mark_done finishes every open work order before anything is posted.
        for wo in idList("mrp.production", mo, "workorder_ids") { finishWorkOrder(wo) }
        fillWorkOrderDurations(mo)

        // Components: picked moves are consumed as recorded, the others are cancelled.
        var plan: [(component: Int, uom: JSONValue, unitFactor: Decimal)] = []
        for move in idList("mrp.production", mo, "move_raw_ids") where !["done", "cancel"].contains(string("stock.move", move, "state") ?? "") {
            if let component = int("stock.move", move, "product_id") {
                plan.append((component, value("stock.move", move, "product_uom"), decimal("stock.move", move, "unit_factor")))
            }
            if backorder {
                update("stock.move", move, ["product_uom_qty": .float((producing * decimal("stock.move", move, "unit_factor")).rounded(2))])
            }
            if bool("stock.move", move, "picked") && decimal("stock.move", move, "quantity") > 0 {
                doneMove(move)
            } else {
                cancelMove(move)
            }
        }
        // Finished product, with the producing lots (one line per serial).
        let lots = idList("mrp.production", mo, "lot_producing_ids")
        for move in idList("mrp.production", mo, "move_finished_ids") where !["done", "cancel"].contains(string("stock.move", move, "state") ?? "") {
            for line in idList("stock.move", move, "move_line_ids") { delete("stock.move.line", line) }
            let source = int("stock.move", move, "location_id") ?? Seed.production
            if tracking == "serial" && !lots.isEmpty {
                for lot in lots { insertMoveLine(move, location: source, lot: lot, quantity: 1) }
            } else {
                insertMoveLine(move, location: source, lot: lots.first, quantity: producing)
            }
            syncMoveQuantity(move)
            update("stock.move", move, ["product_uom_qty": .float(backorder ? producing : decimal("stock.move", move, "product_uom_qty")), "picked": true])
            doneMove(move)
        }
        var values: OdooRecord = ["state": "done", "qty_produced": .float(produced + producing),
                                  "date_finished": .string(now), "is_locked": true, "priority": "0"]
        guard backorder, remaining > 0 else {
            update("mrp.production", mo, values)
            return nil
        }
        let group = int("mrp.production", mo, "production_group_id")
        let base = group.flatMap { string("mrp.production.group", $0, "name") } ?? string("mrp.production", mo, "name") ?? ""
        let chain = ids("mrp.production").filter { int("mrp.production", $0, "production_group_id") == group }
        let lastSequence = chain.map { int("mrp.production", $0, "backorder_sequence") ?? 0 }.max() ?? 0
        var sequence = int("mrp.production", mo, "backorder_sequence") ?? 0
        if sequence == 0 {
            sequence = 1
            values["name"] = .string(String(format: "%@-%03d", base, sequence))
            values["backorder_sequence"] = .int(sequence)
        }
        values["product_qty"] = .float(produced + producing)
        update("mrp.production", mo, values)

        let nextSequence = max(lastSequence, sequence) + 1
        let nextName = String(format: "%@-%03d", base, nextSequence)
        let next = insert("mrp.production", [
            "name": .string(nextName), "product_id": .int(product), "product_qty": .float(remaining),
            "product_uom_id": value("mrp.production", mo, "product_uom_id"), "bom_id": value("mrp.production", mo, "bom_id"),
            "state": "confirmed", "qty_producing": .number("0"), "qty_produced": .number("0"),
            "backorder_sequence": .int(nextSequence), "production_group_id": group.map { .int($0) } ?? .bool(false),
            "is_locked": true, "priority": "0", "origin": value("mrp.production", mo, "origin"),
            "location_src_id": value("mrp.production", mo, "location_src_id"),
            "location_dest_id": value("mrp.production", mo, "location_dest_id"),
            "picking_type_id": value("mrp.production", mo, "picking_type_id"), "date_start": .string(now),
            "lot_producing_ids": .array([]),
        ])
        splitWorkOrders(from: mo, initialQuantity: planned, to: next)
        for step in plan {
            let move = addRawMove(next, component: step.component, demand: (remaining * step.unitFactor).rounded(2),
                                  uom: step.uom, unitFactor: step.unitFactor, state: "confirmed")
            reserve(move)
        }
        insert("stock.move", [
            "name": .string(string("product.product", product, "name") ?? ""), "reference": .string(nextName), "origin": .string(nextName),
            "product_id": .int(product), "product_uom_qty": .float(remaining), "quantity": .float(remaining),
            "product_uom": value("mrp.production", mo, "product_uom_id"), "state": "assigned", "picked": false,
            "location_id": .int(Seed.production), "location_dest_id": value("mrp.production", mo, "location_dest_id"),
            "production_id": .int(next), "raw_material_production_id": false, "picking_id": false, "unit_factor": .number("1"),
        ])
        return next
    }

    /// The `mrp.consumption.warning` action when picked quantities differ from the BoM for `qty_producing`
    /// (BoMs with consumption `warning`); nil when they match or the BoM is flexible.
    func consumptionWarning(_ mo: Int, context: OdooContext) -> JSONValue? {
        guard let bom = int("mrp.production", mo, "bom_id"), string("mrp.bom", bom, "consumption") != "flexible" else { return nil }
        let producing = decimal("mrp.production", mo, "qty_producing")
        let bomQuantity = decimal("mrp.bom", bom, "product_qty")
        var expected: [(product: Int, uom: JSONValue, quantity: Decimal)] = []
        for line in idList("mrp.bom", bom, "bom_line_ids") {
            guard let product = int("mrp.bom.line", line, "product_id") else { continue }
            let quantity = (decimal("mrp.bom.line", line, "product_qty") * producing / (bomQuantity == 0 ? 1 : bomQuantity)).rounded(2)
            if let index = expected.firstIndex(where: { $0.product == product }) {
                expected[index].quantity += quantity
            } else {
                expected.append((product, value("mrp.bom.line", line, "product_uom_id"), quantity))
            }
        }
        let moves = idList("mrp.production", mo, "move_raw_ids").filter {
            string("stock.move", $0, "state") != "cancel" && bool("stock.move", $0, "picked")
        }
        for move in moves {
            guard let product = int("stock.move", move, "product_id"), !expected.contains(where: { $0.product == product }) else { continue }
            expected.append((product, value("stock.move", move, "product_uom"), 0))
        }
        var lines: [JSONValue] = []
        for item in expected {
            let consumed = moves.filter { int("stock.move", $0, "product_id") == item.product }
                .reduce(Decimal(0)) { $0 + decimal("stock.move", $1, "quantity") }
            guard consumed != item.quantity else { continue }
            lines.append([0, 0, [
                "consumption": "warning", "mrp_production_id": .int(mo),
                "product_consumed_qty_uom": .float(consumed), "product_expected_qty_uom": .float(item.quantity),
                "product_id": .int(item.product), "product_uom_id": item.uom,
            ]])
        }
        guard !lines.isEmpty else { return nil }
        return Self.windowAction(id: 421, name: "Consumption Warning", model: "mrp.consumption.warning",
                                 xmlID: "mrp.action_mrp_consumption_warning", context: [
                                     "default_mrp_consumption_warning_line_ids": .array(lines),
                                     "default_mrp_production_ids": .ids([mo]), "form_view_ref": false,
                                 ])
    }

    func backorderWizardAction(_ mo: Int, context: OdooContext) -> JSONValue {
        var wizardContext = context.raw
        wizardContext["uid"] = nil
        wizardContext["always_backorder_mo_ids"] = .array([])
        wizardContext["default_mrp_production_backorder_line_ids"] = [[0, 0, ["mrp_production_id": .int(mo), "to_backorder": true]]]
        wizardContext["default_mrp_production_ids"] = .ids([mo])
        return Self.windowAction(id: 420, name: "You produced less than the initial demand", model: "mrp.production.backorder",
                                 xmlID: "mrp.action_mrp_production_backorder", context: .object(wizardContext))
    }

    func assignSerialNumbersAction(_ mo: Int) -> JSONValue {
        guard case .object(var action) = Self.windowAction(id: 424, name: "Assign Serial Numbers", model: "mrp.production.serials",
                                                           xmlID: "mrp.action_assign_serial_numbers",
                                                           context: ["default_production_id": .int(mo)]) else { return .null }
        action["view_id"] = [1110, "mrp_production_serials"]
        action["views"] = [[1110, "form"]]
        return .object(action)
    }

    /// The full `ir.actions.act_window` dict Odoo 19 returns for a wizard.
    static func windowAction(id: Int, name: String, model: String, xmlID: String, context: JSONValue) -> JSONValue {
        [
            "binding_model_id": false, "binding_type": "action", "binding_view_types": "list,form", "cache": true,
            "context": context, "display_name": .string(name), "domain": false, "embedded_action_ids": [], "filter": false,
            "group_ids": [], "help": false, "id": .int(id), "limit": 80, "mobile_view_mode": "kanban", "name": .string(name),
            "path": false, "res_id": 0, "res_model": .string(model), "search_view_id": false, "target": "new",
            "type": "ir.actions.act_window", "view_id": false, "view_mode": "form", "views": [[false, "form"]],
            "xml_id": .string(xmlID),
        ]
    }
}
