import Foundation
import MillwrightCore

extension OdooOperations {
    // MARK: - Maintenance

    /// The equipment of a canonical reference: by serial number, then by name.
    func equipment(_ reference: EquipmentReference) async throws(OdooError) -> Int {
        let key = "equipment:" + reference.rawValue
        if case .number(let n)? = await cache.get(key), let id = Int(n) { return id }
        for field in ["serial_no", "name"] {
            let found = try await client.searchRead("maintenance.equipment", [.leaf(field, "=", .string(reference.rawValue))], fields: ["name"])
            if found.count == 1 {
                await cache.set(key, .int(found[0].id))
                return found[0].id
            }
            if found.count > 1 {
                throw OdooError(.dataProblem, "\(found.count) equipments in Odoo have \(field) '\(reference.rawValue)': make it unique")
            }
        }
        throw OdooError(.notFound, "equipment '\(reference.rawValue)' is not in Odoo (searched serial number and name): create it under Maintenance > Equipment or fix the reference")
    }

    /// Opens a maintenance request against an equipment. The event key goes into the request's name
    /// (`title [mw:key]`): re-run finds it and does nothing.
    public func requestMaintenance(_ event: MaintenanceRequested, key: String) async throws(OdooError) -> OperationResult {
        try await withFreshReferences { () async throws(OdooError) -> OperationResult in
            let equipmentID = try await equipment(event.equipment)
            let tag = "[\(Self.marker(key))]"
            let existing = try await client.searchRead(
                "maintenance.request", [.leaf("equipment_id", "=", .int(equipmentID)), .leaf("name", "like", .string(tag))], fields: ["name"])
            if let found = existing.first {
                return OperationResult(.alreadyApplied, "maintenance request '\(found.string("name") ?? "")' exists", records: ["request": found.id])
            }
            var vals: [String: JSONValue] = [
                "name": .string("\(event.title) \(tag)"), "equipment_id": .int(equipmentID),
                "maintenance_type": .string(event.kind?.rawValue ?? "corrective"),
                "priority": .string(String(min(3, max(0, event.priority ?? 1)))),
            ]
            var description = event.description ?? ""
            if let order = event.order { description += (description.isEmpty ? "" : "\n") + "Production order: \(order.rawValue)" }
            if !description.isEmpty { vals["description"] = .string(Self.html(description)) }
            let id = try await client.create("maintenance.request", [vals]).first ?? 0
            return OperationResult(.applied, "maintenance request '\(event.title)' opened for \(event.equipment.rawValue)", records: ["request": id])
        }
    }

    static func html(_ text: String) -> String {
        let escaped = text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        return "<p>" + escaped.replacingOccurrences(of: "\n", with: "<br>") + "</p>"
    }

    // MARK: - Quality hold (Community has no quality app)

    /// A quality hold, represented in Odoo Community as: the lot's stock moved from the stock location to
    /// the quarantine location (an internal transfer with origin `mw:hold:<hold>`), so that nothing
    /// reserves or ships it, plus a To-Do activity on the production order ("QUALITY HOLD … (mw:hold:<hold>)").
    /// A hold on an order without a lot (nothing produced yet) is only the activity.
    public func placeQualityHold(_ event: QualityHoldPlaced, key _: String) async throws(OdooError) -> OperationResult {
        try await withFreshReferences { () async throws(OdooError) -> OperationResult in
            let marker = "mw:hold:" + event.hold
            var records: [String: Int] = [:]
            var done: [String] = []
            var orderID: Int?
            if let order = event.order {
                orderID = try await findOrders(OrderQuery(name: order)).max(by: { $0.backorderSequence < $1.backorderSequence })?.id
                if orderID == nil { throw OdooError(.notFound, "production order '\(order.rawValue)' is not in Odoo") }
            }
            if let lot = event.lot {
                guard let productRef = event.product else {
                    throw OdooError(.dataProblem, "a hold on lot '\(lot.rawValue)' needs the product: lot names are unique per product in Odoo")
                }
                let product = try await product(productRef)
                guard let lotID = try await lots([lot.rawValue], product: product, create: false)[lot.rawValue] else {
                    throw OdooError(.notFound, "lot '\(lot.rawValue)' is not in Odoo")
                }
                let from = event.location ?? stockLocation
                let existing = try await client.searchRead("stock.picking", [.leaf("origin", "=", .string(marker))], fields: ["name", "state"]).first
                var quantity: Decimal = 0
                if existing == nil {
                    let held = try await onHand(product: productRef, location: from, lot: lot)
                    quantity = held.quantity
                }
                if existing != nil || quantity > 0 {
                    let result = try await transfer(product: product, amount: quantity, from: from, to: quarantineLocation, lot: lot, origin: marker)
                    records["picking"] = result.records["picking"]
                    if result.effect == .applied { done.append("lot \(lot.rawValue) moved to \(quarantineLocation.rawValue)") }
                }
                if orderID == nil {
                    orderID = try await client.searchRead("mrp.production", [.leaf("lot_producing_ids", "in", .ints([lotID]))], fields: ["name"], order: "id desc", limit: 1).first?.id
                }
            }
            guard event.lot != nil || orderID != nil else {
                throw OdooError(.dataProblem, "hold \(event.hold) names neither a lot nor a production order: nothing to hold in Odoo")
            }
            if let orderID {
                let activity = try await openHoldActivity(marker: marker, orderID: orderID)
                if let activity {
                    records["activity"] = activity
                } else {
                    let model = try await modelID("mrp.production")
                    let subject = event.lot?.rawValue ?? event.order?.rawValue ?? event.hold
                    records["activity"] = try await client.create("mail.activity", [[
                        "res_model_id": .int(model), "res_id": .int(orderID), "activity_type_id": .int(try await todoActivityType()),
                        "summary": .string("QUALITY HOLD \(subject) (\(marker))"), "note": .string(Self.html(event.reason)), "user_id": .int(client.uid),
                    ]]).first
                    done.append("activity on the order")
                }
                records["order"] = orderID
            }
            return OperationResult(done.isEmpty ? .alreadyApplied : .applied, "hold \(event.hold): " + (done.isEmpty ? "already in place" : done.joined(separator: ", ")), records: records)
        }
    }

    /// Releases a hold: the held stock moves back (origin `mw:release:<hold>`), or is scrapped for a
    /// `scrap` disposition, and the hold activity is marked done with the disposition as feedback.
    public func releaseQualityHold(_ event: QualityHoldReleased, key _: String) async throws(OdooError) -> OperationResult {
        try await withFreshReferences { () async throws(OdooError) -> OperationResult in
            let hold = "mw:hold:" + event.hold
            let release = "mw:release:" + event.hold
            var done: [String] = []
            var records: [String: Int] = [:]
            if let picking = try await client.searchRead("stock.picking", [.leaf("origin", "=", .string(hold))], fields: ["state", "move_ids", "location_id", "location_dest_id"]).first {
                let lines = try await client.searchRead(
                    "stock.move.line", [.leaf("picking_id", "=", .int(picking.id))], fields: ["product_id", "lot_id", "quantity"])
                for (index, line) in lines.enumerated() {
                    guard let productID = line.many2one("product_id"), let quantity = line.decimal("quantity"), quantity > 0 else { continue }
                    let product = try await productByID(productID)
                    let lot = line.many2oneName("lot_id").map { LotReference(rawValue: $0) }
                    let source = picking.many2oneName("location_dest_id").map { LocationReference(rawValue: $0) } ?? quarantineLocation
                    let back = picking.many2oneName("location_id").map { LocationReference(rawValue: $0) } ?? stockLocation
                    let productRef = ProductReference(rawValue: product.code)
                    if event.disposition == .scrap {
                        let result = try await scrapProduct(product: productRef, quantity: quantity, uom: nil, location: source, lot: lot, orderID: nil, reason: "quality hold \(event.hold)", key: "release:\(event.hold)/\(index)")
                        records["scrap"] = result.records["scrap"]
                        if result.effect == .applied { done.append("\(quantity) of lot \(lot?.rawValue ?? "-") scrapped") }
                    } else {
                        let suffix = index == 0 ? "" : "/\(index)"
                        let result = try await transfer(product: product, amount: quantity, from: source, to: back, lot: lot, origin: release + suffix)
                        records["picking"] = result.records["picking"]
                        if result.effect == .applied { done.append("lot \(lot?.rawValue ?? "-") back to \(back.rawValue)") }
                    }
                }
            }
            let activities = try await client.searchRead(
                "mail.activity", [.leaf("res_model", "=", "mrp.production"), .leaf("summary", "like", .string("(\(hold))"))], fields: ["res_id"])
            for activity in activities {
                _ = try await client.call("mail.activity", "action_feedback", ids: [activity.id], ["feedback": .string("Released by Millwright: \(event.disposition?.rawValue ?? "release")")])
                done.append("activity done")
                records["order"] = activity.int("res_id")
            }
            return OperationResult(done.isEmpty ? .alreadyApplied : .applied, "hold \(event.hold): " + (done.isEmpty ? "nothing left to release" : done.joined(separator: ", ")), records: records)
        }
    }

    func openHoldActivity(marker: String, orderID: Int) async throws(OdooError) -> Int? {
        try await client.searchRead(
            "mail.activity",
            [.leaf("res_model", "=", "mrp.production"), .leaf("res_id", "=", .int(orderID)), .leaf("summary", "like", .string("(\(marker))"))],
            fields: ["summary"]
        ).first?.id
    }

    func modelID(_ model: String) async throws(OdooError) -> Int {
        let key = "model:" + model
        if case .number(let n)? = await cache.get(key), let id = Int(n) { return id }
        guard let id = try await client.searchRead("ir.model", [.leaf("model", "=", .string(model))], fields: ["model"]).first?.id else {
            throw OdooError(.notFound, "model \(model) is not installed in Odoo")
        }
        await cache.set(key, .int(id))
        return id
    }

    func todoActivityType() async throws(OdooError) -> Int {
        if case .number(let n)? = await cache.get("activity:todo"), let id = Int(n) { return id }
        let found = try await client.searchRead(
            "ir.model.data", [.leaf("module", "=", "mail"), .leaf("name", "=", "mail_activity_data_todo")], fields: ["res_id"], limit: 1)
        // The external id can be gone in a customised database: then the type named To-Do.
        let byName = found.isEmpty ? try await client.searchRead("mail.activity.type", [.leaf("name", "=", "To-Do")], fields: ["name"], limit: 1) : []
        guard let id = found.first?.int("res_id") ?? byName.first?.id else {
            throw OdooError(.notFound, "Odoo has no To-Do activity type (mail.mail_activity_data_todo)")
        }
        await cache.set("activity:todo", .int(id))
        return id
    }
}
