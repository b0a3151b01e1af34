import Foundation
import MillwrightCore

/// Quants, reservations, moves, transfers, scrap and inventory counts.
extension OdooDatabase {
    // MARK: Quants

    func quant(product: Int, location: Int, lot: Int?) -> Int? {
        ids("stock.quant").first {
            int("stock.quant", $0, "product_id") == product && int("stock.quant", $0, "location_id") == location
                && int("stock.quant", $0, "lot_id") == lot
        }
    }

    /// Reserved = the quantity of open move lines taking from this quant (lines orphaned by `[5]` included).
    func reservedQuantity(_ quant: Int) -> Decimal {
        let product = int("stock.quant", quant, "product_id")
        let location = int("stock.quant", quant, "location_id") ?? 0
        guard isInternal(location) else { return 0 }
        let lot = int("stock.quant", quant, "lot_id")
        // The lines that can hold a reservation: orphaned ones, and those of moves still open.
        var lines = having("stock.move.line", "orphaned", .bool(true))
        for (state, moves) in values["stock.move"]?["state"] ?? [:] where !["\"done\"", "\"cancel\"", "\"draft\""].contains(state) {
            for move in moves { lines += pointing("stock.move.line", "move_id", at: move) }
        }
        return Set(lines).filter { line in
            guard int("stock.move.line", line, "product_id") == product,
                  int("stock.move.line", line, "location_id") == location,
                  int("stock.move.line", line, "lot_id") == lot else { return false }
            if bool("stock.move.line", line, "orphaned") { return true }
            guard let move = int("stock.move.line", line, "move_id") else { return false }
            return !["done", "cancel", "draft"].contains(string("stock.move", move, "state") ?? "")
        }.reduce(Decimal(0)) { $0 + decimal("stock.move.line", $1, "quantity") }
    }

    func availableQuantity(_ quant: Int) -> Decimal {
        decimal("stock.quant", quant, "quantity") - reservedQuantity(quant)
    }

    mutating func addQuantity(product: Int, location: Int, lot: Int?, _ delta: Decimal) {
        if let existing = quant(product: product, location: location, lot: lot) {
            update("stock.quant", existing, ["quantity": .float(decimal("stock.quant", existing, "quantity") + delta)])
        } else {
            insert("stock.quant", ["product_id": .int(product), "location_id": .int(location),
                                   "lot_id": lot.map { .int($0) } ?? .bool(false), "quantity": .float(delta),
                                   "inventory_quantity": .number("0"), "inventory_quantity_set": false, "in_date": .string(now)])
        }
    }

    func isStorable(_ product: Int) -> Bool { bool("product.product", product, "is_storable") }

    // MARK: Moves and reservation

    /// Reserves what is missing on a move from the quants under its source location, oldest first.
    mutating func reserve(_ move: Int) {
        let state = string("stock.move", move, "state") ?? ""
        guard !["done", "cancel", "draft"].contains(state) else { return }
        guard let product = int("stock.move", move, "product_id"), let source = int("stock.move", move, "location_id") else { return }
        let demand = decimal("stock.move", move, "product_uom_qty")
        var missing = demand - decimal("stock.move", move, "quantity")
        if !isStorable(product) {
            if missing > 0 { setMoveQuantity(move, demand) }
        } else {
            let candidates = ids("stock.quant").filter {
                int("stock.quant", $0, "product_id") == product
                    && isDescendant("stock.location", int("stock.quant", $0, "location_id") ?? 0, of: [source])
                    && isInternal(int("stock.quant", $0, "location_id") ?? 0)
            }
            for quant in candidates where missing > 0 {
                let available = availableQuantity(quant)
                guard available > 0 else { continue }
                let take = min(available, missing)
                let lot = int("stock.quant", quant, "lot_id")
                let location = int("stock.quant", quant, "location_id") ?? source
                if let line = idList("stock.move", move, "move_line_ids").first(where: {
                    int("stock.move.line", $0, "lot_id") == lot && int("stock.move.line", $0, "location_id") == location
                }) {
                    update("stock.move.line", line, ["quantity": .float(decimal("stock.move.line", line, "quantity") + take)])
                } else {
                    insertMoveLine(move, location: location, lot: lot, quantity: take)
                }
                missing -= take
            }
            syncMoveQuantity(move)
        }
        let quantity = decimal("stock.move", move, "quantity")
        let newState = quantity >= demand ? "assigned" : (quantity > 0 ? "partially_available" : "confirmed")
        update("stock.move", move, ["state": .string(newState)])
    }

    @discardableResult
    mutating func insertMoveLine(_ move: Int, location: Int, lot: Int?, quantity: Decimal) -> Int {
        insert("stock.move.line", [
            "move_id": .int(move), "product_id": value("stock.move", move, "product_id"),
            "location_id": .int(location), "location_dest_id": value("stock.move", move, "location_dest_id"),
            "picking_id": value("stock.move", move, "picking_id"), "product_uom_id": value("stock.move", move, "product_uom"),
            "lot_id": lot.map { .int($0) } ?? .bool(false), "quantity": .float(quantity),
            "picked": value("stock.move", move, "picked"),
        ])
    }

    /// A move's quantity is the sum of its lines.
    mutating func syncMoveQuantity(_ move: Int) {
        guard exists("stock.move", move) else { return }
        let total = idList("stock.move", move, "move_line_ids").reduce(Decimal(0)) { $0 + decimal("stock.move.line", $1, "quantity") }
        tables["stock.move"]?[move]?["quantity"] = .float(total)
    }

    /// Sets a move's quantity as writing `quantity` does: grows the last line (or adds one), shrinks from the last.
    mutating func setMoveQuantity(_ move: Int, _ target: Decimal) {
        var lines = idList("stock.move", move, "move_line_ids")
        var current = lines.reduce(Decimal(0)) { $0 + decimal("stock.move.line", $1, "quantity") }
        if target > current {
            if let last = lines.last {
                update("stock.move.line", last, ["quantity": .float(decimal("stock.move.line", last, "quantity") + target - current)])
            } else {
                insertMoveLine(move, location: int("stock.move", move, "location_id") ?? Seed.stock, lot: nil, quantity: target)
            }
        } else {
            while current > target, let last = lines.last {
                let quantity = decimal("stock.move.line", last, "quantity")
                let excess = current - target
                if quantity <= excess {
                    delete("stock.move.line", last)
                    lines.removeLast()
                    current -= quantity
                } else {
                    update("stock.move.line", last, ["quantity": .float(quantity - excess)])
                    current = target
                }
            }
        }
        syncMoveQuantity(move)
    }

    /// Posts a move: every line moves its quantity from source to destination quant.
    mutating func doneMove(_ move: Int) {
        guard let product = int("stock.move", move, "product_id") else { return }
        if isStorable(product) {
            for line in idList("stock.move", move, "move_line_ids") {
                let quantity = decimal("stock.move.line", line, "quantity")
                let lot = int("stock.move.line", line, "lot_id")
                let source = int("stock.move.line", line, "location_id") ?? int("stock.move", move, "location_id") ?? 0
                let destination = int("stock.move.line", line, "location_dest_id") ?? int("stock.move", move, "location_dest_id") ?? 0
                addQuantity(product: product, location: source, lot: lot, -quantity)
                addQuantity(product: product, location: destination, lot: lot, quantity)
                update("stock.move.line", line, ["picked": true])
            }
        }
        update("stock.move", move, ["state": "done", "picked": true])
    }

    mutating func cancelMove(_ move: Int) {
        for line in idList("stock.move", move, "move_line_ids") { delete("stock.move.line", line) }
        update("stock.move", move, ["state": "cancel", "quantity": .number("0")])
    }

    // MARK: Transfers

    mutating func confirmPicking(_ picking: Int) {
        for move in idList("stock.picking", picking, "move_ids") where string("stock.move", move, "state") == "draft" {
            update("stock.move", move, ["state": "confirmed"])
        }
        assignPicking(picking)
    }

    mutating func assignPicking(_ picking: Int) {
        let moves = idList("stock.picking", picking, "move_ids")
        for move in moves { reserve(move) }
        let open = moves.filter { !["done", "cancel"].contains(string("stock.move", $0, "state") ?? "") }
        // Odoo 19 (move type "direct"): a transfer is ready as soon as anything is reserved.
        let anything = open.contains { decimal("stock.move", $0, "quantity") > 0 }
        if string("stock.picking", picking, "state") != "done" {
            update("stock.picking", picking, ["state": .string(anything ? "assigned" : "confirmed")])
        }
    }

    /// `button_validate`: `true` when every move has its quantity, else the "Create Backorder?" wizard
    /// (nothing changes). A draft transfer is confirmed first.
    mutating func validatePicking(_ picking: Int) -> JSONValue {
        if string("stock.picking", picking, "state") == "draft" { confirmPicking(picking) }
        let open = idList("stock.picking", picking, "move_ids").filter { !["done", "cancel"].contains(string("stock.move", $0, "state") ?? "") }
        if open.contains(where: { decimal("stock.move", $0, "quantity") < decimal("stock.move", $0, "product_uom_qty") }) {
            return [
                "name": "Create Backorder?", "type": "ir.actions.act_window", "view_mode": "form",
                "res_model": "stock.backorder.confirmation", "views": [[937, "form"]], "view_id": 937, "target": "new",
                "context": ["button_validate_picking_ids": .ids([picking]), "default_show_transfers": false,
                            "default_pick_ids": [[4, .int(picking)]]],
            ]
        }
        for move in open { doneMove(move) }
        update("stock.picking", picking, ["state": "done", "date_done": .string(now)])
        return .bool(true)
    }

    // MARK: Scrap

    /// `action_validate`: scraps when enough is on hand at the location (and lot), else the wizard action.
    mutating func validateScrap(_ scrap: Int) -> JSONValue {
        guard let product = int("stock.scrap", scrap, "product_id") else { return .bool(true) }
        let location = int("stock.scrap", scrap, "location_id") ?? Seed.stock
        let lot = int("stock.scrap", scrap, "lot_id")
        let quantity = decimal("stock.scrap", scrap, "scrap_qty")
        if isStorable(product) {
            let available = ids("stock.quant").filter {
                int("stock.quant", $0, "product_id") == product && int("stock.quant", $0, "location_id") == location
                    && (lot == nil || int("stock.quant", $0, "lot_id") == lot)
            }.reduce(Decimal(0)) { $0 + availableQuantity($1) }
            if available < quantity {
                let uom = int("product.product", product, "uom_id") ?? 1
                return [
                    "context": [
                        "default_location_id": .int(location), "default_product_id": .int(product),
                        "default_product_uom_name": .string(displayName("uom.uom", uom)), "default_quantity": .float(quantity),
                        "default_scrap_id": .int(scrap),
                    ],
                    "name": .string("\(displayName("product.product", product)): Insufficient Quantity To Scrap"),
                    "res_model": "stock.warn.insufficient.qty.scrap", "target": "new", "type": "ir.actions.act_window",
                    "view_id": .int(945), "view_mode": "form",
                ]
            }
        }
        doScrap(scrap)
        return .bool(true)
    }

    mutating func doScrap(_ scrap: Int) {
        guard string("stock.scrap", scrap, "state") != "done", let product = int("stock.scrap", scrap, "product_id") else { return }
        let source = int("stock.scrap", scrap, "location_id") ?? Seed.stock
        let quantity = decimal("stock.scrap", scrap, "scrap_qty")
        let name = String(format: "SP/%05d", nextSequence("stock.scrap"))
        let move = insert("stock.move", [
            "name": .string(name), "reference": .string(name), "origin": value("stock.scrap", scrap, "origin"),
            "product_id": .int(product), "product_uom_qty": .float(quantity), "quantity": .number("0"),
            "product_uom": value("product.product", product, "uom_id"), "state": "assigned", "picked": true,
            "location_id": .int(source), "location_dest_id": value("stock.scrap", scrap, "scrap_location_id"),
            "scrap_id": .int(scrap), "picking_id": false,
        ])
        insertMoveLine(move, location: source, lot: int("stock.scrap", scrap, "lot_id"), quantity: quantity)
        syncMoveQuantity(move)
        doneMove(move)
        update("stock.scrap", scrap, ["state": "done", "name": .string(name), "date_done": .string(now)])
    }

    // MARK: Inventory counts

    /// `stock.quant/create` in inventory mode: the existing quant of product/location/lot gets the count.
    mutating func createQuantInInventoryMode(_ vals: [String: JSONValue], context: OdooContext) throws -> Int {
        let (plain, _) = try convert("stock.quant", vals)
        try checkRequired("stock.quant", plain)
        guard let product = plain["product_id"]?.intValue, let location = plain["location_id"]?.intValue else { return 0 }
        let lot = plain["lot_id"]?.intValue
        let id: Int
        if let existing = quant(product: product, location: location, lot: lot) {
            id = existing
        } else {
            id = insert("stock.quant", ["product_id": .int(product), "location_id": .int(location),
                                        "lot_id": lot.map { .int($0) } ?? .bool(false), "quantity": .number("0"),
                                        "inventory_quantity": .number("0"), "inventory_quantity_set": false, "in_date": .string(now)])
        }
        if let auto = plain["inventory_quantity_auto_apply"]?.decimalValue {
            applyInventory(id, counted: auto)
        } else if let counted = plain["inventory_quantity"] {
            update("stock.quant", id, ["inventory_quantity": counted, "inventory_quantity_set": true])
        }
        return id
    }

    /// Applies a count: an inventory move between "Inventory adjustment" and the quant's location.
    mutating func applyInventory(_ quant: Int, counted: Decimal) {
        guard let product = int("stock.quant", quant, "product_id"), let location = int("stock.quant", quant, "location_id") else { return }
        let lot = int("stock.quant", quant, "lot_id")
        let difference = counted - decimal("stock.quant", quant, "quantity")
        let inbound = difference >= 0
        let move = insert("stock.move", [
            "name": "Product Quantity Updated", "reference": "Product Quantity Updated", "product_id": .int(product),
            "product_uom_qty": .float(abs(difference)), "quantity": .number("0"),
            "product_uom": value("product.product", product, "uom_id"), "state": "assigned", "picked": true,
            "location_id": .int(inbound ? Seed.inventoryAdjustment : location),
            "location_dest_id": .int(inbound ? location : Seed.inventoryAdjustment), "picking_id": false,
        ])
        insertMoveLine(move, location: inbound ? Seed.inventoryAdjustment : location, lot: lot, quantity: abs(difference))
        syncMoveQuantity(move)
        doneMove(move)
        update("stock.quant", quant, ["inventory_quantity": .number("0"), "inventory_quantity_set": false])
    }
}
