import Foundation
import MillwrightCore

extension OdooOperations {
    /// An engineering change released by PLM, as Odoo Community can hold it (it has no PLM app): a new
    /// bill of materials for the product whose Reference (`code`) is the revision, made the one Odoo uses.
    ///
    /// Calls: the product and the components (`search_read`), the BoMs of the product's template
    /// (`search_read`, archived ones too), then `create` of the BoM with its lines in one call (the
    /// revision in `code` is the idempotency marker, written in the same call), then `write active=false`
    /// on the earlier BoMs that served this product. A retry after a crash between the two writes finds
    /// the revision and only archives (an absolute write). A revision that exists with other components is
    /// refused: a revision names one content.
    ///
    /// Which earlier BoMs are archived: those for this variant, and the template's own BoMs when the
    /// template has this one variant. A template BoM that serves other variants stays; the new BoM is
    /// variant-specific with the lowest sequence, so Odoo's `_bom_find` (`order='sequence, product_id, id'`)
    /// picks it for this product.
    public func releaseEngineeringChange(_ change: EngineeringChangeReleased) async throws(OdooError) -> OperationResult {
        try await withFreshReferences { () async throws(OdooError) -> OperationResult in
            let product = try await self.product(change.product)
            guard let template = try await client.read("product.product", [product.id], fields: ["product_tmpl_id"]).first?.many2one("product_tmpl_id") else {
                throw OdooError(.unexpectedAnswer, "product \(change.product.rawValue) has no product_tmpl_id")
            }
            var lines: [(product: ProductInfo, quantity: Decimal)] = []
            for component in change.components {
                let info = try await self.product(component.product)
                let quantity = try await self.quantity(component.quantity, component.uom, in: info.uomID)
                lines.append((info, quantity))
            }
            let boms = try await client.searchRead(
                "mrp.bom", [.leaf("product_tmpl_id", "=", .int(template))],
                fields: ["code", "active", "product_id", "sequence", "bom_line_ids"], order: "sequence, id", context: ["active_test": false])
            let variants = try await client.searchRead("product.product", [.leaf("product_tmpl_id", "=", .int(template))], fields: ["id"], context: ["active_test": false])
            let serving = boms.filter { bom in
                guard bom.bool("active"), bom.string("code") != change.revision else { return false }
                if let variant = bom.many2one("product_id") { return variant == product.id }
                return variants.count <= 1
            }
            var records: [String: Int] = [:]
            var summary: String
            let effect: OperationResult.Effect
            if let existing = boms.first(where: { $0.string("code") == change.revision && ($0.many2one("product_id") ?? product.id) == product.id }) {
                let wanted = Dictionary(lines.map { ($0.product.id, $0.quantity) }, uniquingKeysWith: +)
                let have = try await client.read("mrp.bom.line", existing.ids("bom_line_ids"), fields: ["product_id", "product_qty"])
                let actual = Dictionary(have.compactMap { line in line.many2one("product_id").map { ($0, line.decimal("product_qty") ?? 0) } }, uniquingKeysWith: +)
                guard actual == wanted else {
                    throw OdooError(.dataProblem, "revision '\(change.revision)' of \(change.product.rawValue) is already in Odoo (BoM \(existing.id)) with other components: a revision names one content; release a new revision")
                }
                if !existing.bool("active") {
                    try await client.write("mrp.bom", [existing.id], ["active": true])
                }
                records["bom"] = existing.id
                summary = "BoM \(existing.id) is revision \(change.revision) of \(change.product.rawValue)"
                effect = serving.isEmpty && existing.bool("active") ? .alreadyApplied : .applied
            } else {
                let lowest = boms.filter { $0.bool("active") }.compactMap { $0.int("sequence") }.min() ?? 0
                let vals: [String: JSONValue] = [
                    "product_tmpl_id": .int(template), "product_id": .int(product.id), "code": .string(change.revision),
                    "product_qty": .int(1), "product_uom_id": .int(product.uomID), "type": "normal", "sequence": .int(min(lowest, 0)),
                    "bom_line_ids": .array(lines.map { line in
                        .array([.int(0), .int(0), .object(["product_id": .int(line.product.id), "product_qty": .decimal(line.quantity), "product_uom_id": .int(line.product.uomID)])])
                    }),
                ]
                let id = try await client.create("mrp.bom", [vals]).first ?? 0
                records["bom"] = id
                summary = "BoM \(id) made for revision \(change.revision) of \(change.product.rawValue) with \(lines.count) components"
                effect = .applied
            }
            if !serving.isEmpty {
                try await client.write("mrp.bom", serving.map(\.id), ["active": false])
                summary += "; archived the earlier BoM\(serving.count == 1 ? "" : "s") \(serving.map { String($0.id) }.joined(separator: ", "))"
            }
            return OperationResult(effect, summary, records: records)
        }
    }
}
