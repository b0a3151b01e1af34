import Foundation
import MillwrightCore

/// On-hand stock of a product in a location (and its children), optionally one lot.
public struct OnHand: Sendable, Equatable {
    public var quantity: Decimal
    public var reserved: Decimal
    public var available: Decimal { quantity - reserved }
    /// The product's Odoo unit.
    public var uom: String
}

extension OdooOperations {
    // MARK: - Scrap

    /// Scraps a quantity (`stock.scrap` then `action_validate`). The event key is the scrap's `origin`:
    /// re-run → `done` nothing to do, `draft` validate again, none → create.
    public func scrap(_ event: ScrapReported, key: String) async throws(OdooError) -> OperationResult {
        try await withFreshReferences { () async throws(OdooError) -> OperationResult in
            var orderID: Int?
            if let order = event.order {
                orderID = try await findOrders(OrderQuery(name: order)).max(by: { $0.backorderSequence < $1.backorderSequence })?.id
                if orderID == nil { throw OdooError(.notFound, "production order '\(order.rawValue)' is not in Odoo") }
            }
            return try await scrapProduct(
                product: event.product, quantity: event.quantity, uom: event.uom, location: event.location, lot: event.lot,
                orderID: orderID, reason: event.reason, key: key)
        }
    }

    func scrapProduct(
        product reference: ProductReference, quantity: Decimal, uom: UnitCode?, location: LocationReference?, lot: LotReference?,
        orderID: Int?, reason _: String?, key: String
    ) async throws(OdooError) -> OperationResult {
        let origin = Self.marker(key)
        let existing = try await client.searchRead("stock.scrap", [.leaf("origin", "=", .string(origin))], fields: ["name", "state"])
        var scrapID: Int
        if let found = existing.first {
            if found.string("state") == "done" {
                return OperationResult(.alreadyApplied, "\(found.string("name") ?? "scrap") already done", records: ["scrap": found.id])
            }
            scrapID = found.id
        } else {
            let product = try await product(reference)
            let amount = try await uom.asyncMap { (code) async throws(OdooError) -> Decimal in try await self.quantity(quantity, code, in: product.uomID) } ?? quantity
            let locationID = try await self.location(location ?? stockLocation)
            var vals: [String: JSONValue] = [
                "product_id": .int(product.id), "scrap_qty": .decimal(amount), "product_uom_id": .int(product.uomID),
                "location_id": .int(locationID), "origin": .string(origin),
            ]
            if let lot {
                let ids = try await lots([lot.rawValue], product: product, create: false)
                vals["lot_id"] = ids[lot.rawValue].map(JSONValue.int) ?? .null
            }
            if let orderID { vals["production_id"] = .int(orderID) }
            scrapID = try await client.create("stock.scrap", [vals]).first ?? 0
        }
        let answer = try await client.call("stock.scrap", "action_validate", ids: [scrapID])
        let after = try await client.read("stock.scrap", [scrapID], fields: ["name", "state"]).first
        guard after?.string("state") == "done" else {
            if let action = OdooAction(answer) {
                throw OdooError(
                    .needsDecision,
                    "Odoo did not scrap: \(action.name ?? action.resModel ?? "a wizard") (\(action.resModel ?? "?")), usually not enough stock of that product/lot at the location; the scrap \(after?.string("name") ?? "") stays draft and is validated when this is retried")
            }
            throw OdooError(.userError, "scrap \(scrapID) is \(after?.string("state") ?? "gone") after action_validate")
        }
        return OperationResult(.applied, "\(after?.string("name") ?? "scrap") done: \(quantity) \(uom?.rawValue ?? "") of \(reference.rawValue)", records: ["scrap": scrapID])
    }

    // MARK: - Inventory count

    /// Sets the counted quantity of a product (and lot) in a location and applies it at once:
    /// `stock.quant/create` with `inventory_quantity_auto_apply` in `inventory_mode` (without that context
    /// Odoo makes a second quant row). Absolute, so idempotent by nature.
    public func countInventory(_ event: InventoryCounted, key: String) async throws(OdooError) -> OperationResult {
        try await withFreshReferences { () async throws(OdooError) -> OperationResult in
            let product = try await product(event.product)
            let amount = try await quantity(event.quantity, event.uom, in: product.uomID)
            let locationID = try await location(event.location)
            var domain: [JSONValue] = [.leaf("product_id", "=", .int(product.id)), .leaf("location_id", "=", .int(locationID))]
            var vals: [String: JSONValue] = ["product_id": .int(product.id), "location_id": .int(locationID), "inventory_quantity_auto_apply": .decimal(amount)]
            if let lot = event.lot {
                let ids = try await lots([lot.rawValue], product: product, create: true)
                vals["lot_id"] = ids[lot.rawValue].map(JSONValue.int) ?? .null
                domain.append(.leaf("lot_id", "=", vals["lot_id"] ?? .null))
            } else {
                domain.append(.leaf("lot_id", "=", false))
            }
            let before = try await client.searchRead("stock.quant", domain, fields: ["quantity"])
            let current = before.reduce(Decimal(0)) { $0 + ($1.decimal("quantity") ?? 0) }
            if !before.isEmpty, current == amount {
                return OperationResult(.alreadyApplied, "\(event.product.rawValue) at \(event.location.rawValue) already \(amount)", records: ["quant": before[0].id])
            }
            if before.count > 1 {
                // Odoo keeps a negative quant apart from the positive one (stock consumed beyond what was
                // there), and a create in inventory mode adjusts one of them only: the total stays wrong.
                // Count each quant instead, the first to the amount and the rest to 0, and apply them together;
                // the total is then the amount (observed on Odoo 19). Absolute values: a retry repeats them.
                let ids = before.map(\.id)
                let context: [String: JSONValue] = ["inventory_mode": true]
                try await client.write("stock.quant", [ids[0]], ["inventory_quantity": .decimal(amount)], context: context)
                try await client.write("stock.quant", Array(ids.dropFirst()), ["inventory_quantity": .int(0)], context: context)
                _ = try await client.call("stock.quant", "action_apply_inventory", ids: ids, context: context)
                return OperationResult(.applied, "\(event.product.rawValue) at \(event.location.rawValue): \(current) → \(amount) over \(ids.count) quants", records: ["quant": ids[0]])
            }
            let ids = try await client.create("stock.quant", [vals], context: ["inventory_mode": true])
            return OperationResult(.applied, "\(event.product.rawValue) at \(event.location.rawValue): \(current) → \(amount)", records: ["quant": ids.first ?? 0])
        }
    }

    // MARK: - Internal move

    /// Moves stock between two internal locations with an internal transfer (`stock.picking`): create,
    /// confirm (reserves), the lot on the reserved line, picked, validate. The event key is the
    /// picking's `origin`: re-run continues from the state it finds.
    public func moveStock(_ event: StockMoved, key: String) async throws(OdooError) -> OperationResult {
        try await withFreshReferences { () async throws(OdooError) -> OperationResult in
            let product = try await product(event.product)
            let amount = try await quantity(event.quantity, event.uom, in: product.uomID)
            return try await transfer(product: product, amount: amount, from: event.fromLocation, to: event.toLocation, lot: event.lot, origin: Self.marker(key))
        }
    }

    func internalPickingType() async throws(OdooError) -> Int {
        if case .number(let n)? = await cache.get("picking-type:internal"), let id = Int(n) { return id }
        let found = try await client.searchRead(
            "stock.picking.type", [.leaf("code", "=", "internal")], fields: ["name", "active"], order: "active desc, id asc", limit: 1,
            context: ["active_test": false])
        guard let id = found.first?.id else { throw OdooError(.notFound, "Odoo has no Internal Transfers operation type (stock.picking.type with code internal)") }
        await cache.set("picking-type:internal", .int(id))
        return id
    }

    /// `amount` is in the product's Odoo unit. A transfer found by `origin` keeps the quantity it was
    /// created with (the plan lives in Odoo).
    func transfer(product: ProductInfo, amount: Decimal, from: LocationReference, to: LocationReference, lot: LotReference?, origin: String) async throws(OdooError) -> OperationResult {
        let fields = ["name", "state", "move_ids"]
        var picking = try await client.searchRead("stock.picking", [.leaf("origin", "=", .string(origin))], fields: fields).first
        if let picking, picking.string("state") == "done" {
            return OperationResult(.alreadyApplied, "\(picking.string("name") ?? "transfer") already done", records: ["picking": picking.id])
        }
        var lotID: Int?
        if let lot { lotID = try await lots([lot.rawValue], product: product, create: false)[lot.rawValue] }
        if picking == nil {
            guard amount > 0 else { throw OdooError(.dataProblem, "nothing to move: the quantity of \(product.code) is \(amount)") }
            let source = try await location(from)
            let destination = try await location(to)
            let type = try await internalPickingType()
            let move: [String: JSONValue] = [
                "product_id": .int(product.id), "product_uom_qty": .decimal(amount), "product_uom": .int(product.uomID),
                "location_id": .int(source), "location_dest_id": .int(destination),
            ]
            let id = try await client.create("stock.picking", [[
                "picking_type_id": .int(type), "location_id": .int(source), "location_dest_id": .int(destination),
                "origin": .string(origin), "move_ids": [[0, 0, .object(move)]],
            ]]).first ?? 0
            picking = try await client.read("stock.picking", [id], fields: fields).first
        }
        guard let picking else { throw OdooError(.unexpectedAnswer, "the transfer for \(origin) vanished after create") }
        if picking.string("state") == "draft" {
            _ = try await client.call("stock.picking", "action_confirm", ids: [picking.id])
        }
        let moves = try await client.read("stock.move", picking.ids("move_ids"), fields: ["product_uom_qty"])
        try await applyConsumption(moves.map { move in
            var entry: [String: JSONValue] = ["move": .int(move.id), "quantity": .decimal(move.decimal("product_uom_qty") ?? amount)]
            if let lotID { entry["lot"] = .int(lotID) }
            return .object(entry)
        })
        let answer = try await client.call("stock.picking", "button_validate", ids: [picking.id])
        let after = try await client.read("stock.picking", [picking.id], fields: ["name", "state"]).first
        guard after?.string("state") == "done" else {
            if let action = OdooAction(answer) {
                throw OdooError(.needsDecision, "Odoo did not validate transfer \(after?.string("name") ?? ""): \(action.name ?? action.resModel ?? "a wizard") (\(action.resModel ?? "?")); not enough stock to move? It stays open and is validated when this is retried")
            }
            throw OdooError(.userError, "transfer \(after?.string("name") ?? "") is \(after?.string("state") ?? "gone") after button_validate")
        }
        return OperationResult(.applied, "\(after?.string("name") ?? "transfer") done: \(amount) of \(product.code) \(from.rawValue) → \(to.rawValue)", records: ["picking": picking.id])
    }

    // MARK: - On hand

    /// On hand in a location and its children, internal locations only (quants also live in virtual
    /// locations with negative balances).
    public func onHand(product reference: ProductReference, location: LocationReference? = nil, lot: LotReference? = nil) async throws(OdooError) -> OnHand {
        let product = try await product(reference)
        let locationID = try await self.location(location ?? stockLocation)
        var domain: [JSONValue] = [
            .leaf("product_id", "=", .int(product.id)), .leaf("location_id", "child_of", .int(locationID)),
            .leaf("location_id.usage", "=", "internal"),
        ]
        if let lot { domain.append(.leaf("lot_id.name", "=", .string(lot.rawValue))) }
        let quants = try await client.searchRead("stock.quant", domain, fields: ["quantity", "reserved_quantity"])
        let units = try await units()
        return OnHand(
            quantity: quants.reduce(0) { $0 + ($1.decimal("quantity") ?? 0) },
            reserved: quants.reduce(0) { $0 + ($1.decimal("reserved_quantity") ?? 0) },
            uom: units.units[product.uomID]?.name ?? "#\(product.uomID)")
    }
}

extension Optional {
    func asyncMap<T, E: Error>(_ transform: (Wrapped) async throws(E) -> T) async throws(E) -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
