/// The canonical event catalogue (v1): every type of `EVENTS.md`, with its fields and rules.
public struct Catalogue: Sendable {
    public let types: [String: EventTypeSpec]
    public let units: UnitCatalogue

    public init(_ specs: [EventTypeSpec], units: UnitCatalogue = .standard) {
        self.types = Dictionary(specs.map { ($0.type, $0) }, uniquingKeysWith: { first, _ in first })
        self.units = units
    }

    public func spec(_ type: String) -> EventTypeSpec? { types[type] }

    public var sortedTypes: [EventTypeSpec] { types.values.sorted { $0.type < $1.type } }

    /// The v1 catalogue.
    public static let v1 = Catalogue(CatalogueV1.specs)
}

/// Field shapes shared by several types.
enum Shapes {
    static let productLine: FieldKind = .object([
        FieldSpec("product", .reference(.product), required: true, "Internal reference of the component (Odoo default_code)."),
        FieldSpec("quantity", .quantity, required: true),
        FieldSpec("uom", .unit, required: true),
    ])
    static let productLineWithLot: FieldKind = .object([
        FieldSpec("product", .reference(.product), required: true, "Internal reference of the product (Odoo default_code)."),
        FieldSpec("quantity", .quantity, required: true),
        FieldSpec("uom", .unit, required: true),
        FieldSpec("lot", .reference(.lot), "Lot or serial number, when tracked."),
    ])
    static let plannedOperation: FieldKind = .object([
        FieldSpec("operation", .reference(.operation), required: true, "The work order's name: what `mfg.operation.completed.v1` reports on."),
        FieldSpec("work_center", .reference(.workCenter)),
        FieldSpec("duration_expected_minutes", .nonNegativeQuantity),
    ])
}

enum CatalogueV1 {
    static let specs: [EventTypeSpec] = [
        EventTypeSpec(
            "mfg.product.upserted.v1", "A product was created or changed in the system that owns it", from: "PLM/ERP", to: "any",
            fields: [
                FieldSpec("product", .reference(.product), required: true, "Internal reference (Odoo default_code)."),
                FieldSpec("name", .text, required: true),
                FieldSpec("uom", .unit, required: true, "The unit the product is kept in."),
                FieldSpec("type", .enumeration(["goods", "service", "combo"])),
                FieldSpec("tracking", .enumeration(["none", "lot", "serial"])),
                FieldSpec("barcode", .text),
                FieldSpec("category", .text),
            ]
        ),
        EventTypeSpec(
            "mfg.engineering_change.released.v1", "A new revision of a product's bill of materials was released", from: "PLM", to: "Odoo",
            fields: [
                FieldSpec("product", .reference(.product), required: true),
                FieldSpec("revision", .text, required: true),
                FieldSpec("components", .array(Shapes.productLine, minItems: 1), required: true),
                FieldSpec("effective_from", .dateTime),
            ]
        ),
        EventTypeSpec(
            "mfg.production_order.released.v1", "A production order was released to the shop floor", from: "Odoo", to: "MES",
            fields: [
                FieldSpec("order", .reference(.order), required: true, "Production order reference (mrp.production name)."),
                FieldSpec("product", .reference(.product), required: true),
                FieldSpec("quantity", .quantity, required: true),
                FieldSpec("uom", .unit, required: true),
                FieldSpec("work_center", .reference(.workCenter)),
                FieldSpec("scheduled_start", .dateTime),
                FieldSpec("scheduled_end", .dateTime),
                FieldSpec("components", .array(Shapes.productLine, minItems: 0)),
                FieldSpec("operations", .array(Shapes.plannedOperation, minItems: 0), "The order's work orders in sequence, when Odoo plans them."),
            ]
        ),
        EventTypeSpec(
            "mfg.production_order.status_changed.v1", "A production order changed state", from: "MES", to: "Odoo",
            fields: [
                FieldSpec("order", .reference(.order), required: true),
                FieldSpec("state", .enumeration(["released", "in_progress", "blocked", "completed", "quarantined", "closed", "cancelled"]), required: true, "Canonical state."),
                FieldSpec("native_state", .text, "The state as the sending system names it."),
                FieldSpec("reason", .text),
            ]
        ),
        EventTypeSpec(
            "mfg.operation.completed.v1", "An operation (work order step) of a production order was completed", from: "MES", to: "Odoo",
            fields: [
                FieldSpec("order", .reference(.order), required: true),
                FieldSpec("operation", .reference(.operation), required: true, "Operation name or code within the routing."),
                FieldSpec("work_center", .reference(.workCenter)),
                FieldSpec("quantity_good", .nonNegativeQuantity),
                FieldSpec("quantity_scrap", .nonNegativeQuantity),
                FieldSpec("uom", .unit),
                FieldSpec("duration_minutes", .nonNegativeQuantity),
                FieldSpec("operator", .text),
            ]
        ),
        EventTypeSpec(
            "mfg.production.completed.v1", "Finished goods were reported for a production order (partial or final)", from: "MES", to: "Odoo",
            fields: [
                FieldSpec("order", .reference(.order), required: true),
                FieldSpec("quantity", .quantity, required: true, "Good quantity produced by this report."),
                FieldSpec("uom", .unit, required: true),
                FieldSpec("final", .boolean, "true closes the order; false is a partial completion that leaves a backorder."),
                FieldSpec("product", .reference(.product)),
                FieldSpec("lots", .array(.object([
                    FieldSpec("lot", .reference(.lot), required: true),
                    FieldSpec("quantity", .quantity, required: true),
                ]), minItems: 0), "Lots or serial numbers produced."),
                FieldSpec("consumed", .array(Shapes.productLineWithLot, minItems: 0), "Components consumed."),
                FieldSpec("scrap", .array(.object([
                    FieldSpec("product", .reference(.product), required: true),
                    FieldSpec("quantity", .quantity, required: true),
                    FieldSpec("uom", .unit, required: true),
                    FieldSpec("reason", .text),
                ]), minItems: 0), "Scrap reported with this completion."),
            ]
        ),
        EventTypeSpec(
            "mfg.material.consumed.v1", "Material was consumed against a production order", from: "MES", to: "Odoo",
            fields: [
                FieldSpec("order", .reference(.order), required: true),
                FieldSpec("product", .reference(.product), required: true),
                FieldSpec("quantity", .quantity, required: true),
                FieldSpec("uom", .unit, required: true),
                FieldSpec("lot", .reference(.lot)),
                FieldSpec("location", .reference(.location)),
            ]
        ),
        EventTypeSpec(
            "mfg.scrap.reported.v1", "Material was scrapped", from: "MES/QMS", to: "Odoo",
            fields: [
                FieldSpec("product", .reference(.product), required: true),
                FieldSpec("quantity", .quantity, required: true),
                FieldSpec("uom", .unit, required: true),
                FieldSpec("location", .reference(.location)),
                FieldSpec("lot", .reference(.lot)),
                FieldSpec("order", .reference(.order)),
                FieldSpec("reason", .text),
            ]
        ),
        EventTypeSpec(
            "mfg.inventory.counted.v1", "A physical count of a product at a location", from: "WMS", to: "Odoo",
            fields: [
                FieldSpec("product", .reference(.product), required: true),
                FieldSpec("location", .reference(.location), required: true),
                FieldSpec("quantity", .nonNegativeQuantity, required: true, "Counted quantity; zero is a valid count."),
                FieldSpec("uom", .unit, required: true),
                FieldSpec("lot", .reference(.lot)),
                FieldSpec("counted_at", .dateTime),
            ]
        ),
        EventTypeSpec(
            "mfg.stock.moved.v1", "Stock was moved between two locations", from: "WMS", to: "Odoo",
            fields: [
                FieldSpec("product", .reference(.product), required: true),
                FieldSpec("quantity", .quantity, required: true),
                FieldSpec("uom", .unit, required: true),
                FieldSpec("from_location", .reference(.location), required: true),
                FieldSpec("to_location", .reference(.location), required: true),
                FieldSpec("lot", .reference(.lot)),
                FieldSpec("reference", .text),
            ]
        ),
        EventTypeSpec(
            "mfg.goods.received.v1", "Goods were received against a purchase order", from: "WMS/supplier", to: "Odoo",
            fields: [
                FieldSpec("purchase_order", .reference(.purchaseOrder), required: true),
                FieldSpec("lines", .array(Shapes.productLineWithLot, minItems: 1), required: true),
            ]
        ),
        EventTypeSpec(
            "mfg.shipment.dispatched.v1", "A shipment left the plant", from: "WMS", to: "Odoo",
            fields: [
                FieldSpec("picking", .reference(.picking), required: true),
                FieldSpec("carrier", .text),
                FieldSpec("tracking_ref", .text),
                FieldSpec("lines", .array(Shapes.productLineWithLot, minItems: 0)),
            ]
        ),
        EventTypeSpec(
            "mfg.lot.created.v1", "A lot or serial number was created", from: "MES", to: "Odoo",
            fields: [
                FieldSpec("lot", .reference(.lot), required: true),
                FieldSpec("product", .reference(.product), required: true),
                FieldSpec("parent_lots", .array(.reference(.lot), minItems: 0), "Lots this one was made from (genealogy)."),
                FieldSpec("expiration_date", .dateTime),
            ]
        ),
        EventTypeSpec(
            "mfg.quality.inspection.recorded.v1", "A quality inspection was recorded", from: "QMS", to: "Odoo",
            fields: [
                FieldSpec("inspection", .reference(.inspection), required: true),
                FieldSpec("result", .enumeration(["pass", "fail"]), required: true),
                FieldSpec("order", .reference(.order)),
                FieldSpec("product", .reference(.product)),
                FieldSpec("lot", .reference(.lot)),
                FieldSpec("characteristics", .array(.object([
                    FieldSpec("name", .text),
                    FieldSpec("value", .scalar),
                    FieldSpec("unit", .text),
                    FieldSpec("lower", .decimal),
                    FieldSpec("upper", .decimal),
                ]), minItems: 0)),
            ]
        ),
        EventTypeSpec(
            "mfg.quality.hold.placed.v1", "A quality hold was placed on an order, lot or product", from: "QMS", to: "Odoo, MES",
            fields: [
                FieldSpec("hold", .reference(.hold), required: true),
                FieldSpec("reason", .text, required: true),
                FieldSpec("order", .reference(.order), "Scope: the production order held."),
                FieldSpec("lot", .reference(.lot), "Scope: the lot held."),
                FieldSpec("product", .reference(.product), "Scope: the product held."),
                FieldSpec("location", .reference(.location)),
            ],
            requireOneOf: [["order", "lot", "product"]]
        ),
        EventTypeSpec(
            "mfg.quality.hold.released.v1", "A quality hold was released", from: "QMS", to: "Odoo, MES",
            fields: [
                FieldSpec("hold", .reference(.hold), required: true),
                FieldSpec("disposition", .enumeration(["release", "rework", "scrap"])),
            ]
        ),
        EventTypeSpec(
            "mfg.equipment.downtime.started.v1", "A machine stopped", from: "machine/MES", to: "any",
            fields: [
                FieldSpec("equipment", .reference(.equipment), required: true),
                FieldSpec("started_at", .dateTime, required: true),
                FieldSpec("reason_code", .text),
                FieldSpec("work_center", .reference(.workCenter)),
                FieldSpec("order", .reference(.order)),
            ]
        ),
        EventTypeSpec(
            "mfg.equipment.downtime.ended.v1", "A machine runs again", from: "machine/MES", to: "any",
            fields: [
                FieldSpec("equipment", .reference(.equipment), required: true),
                FieldSpec("ended_at", .dateTime, required: true),
                FieldSpec("reason_code", .text),
            ]
        ),
        EventTypeSpec(
            "mfg.equipment.condition.v1", "Condition readings of a machine", from: "machine", to: "any",
            fields: [
                FieldSpec("equipment", .reference(.equipment), required: true),
                FieldSpec("measured_at", .dateTime, required: true),
                FieldSpec("readings", .map(.scalar), required: true, "Readings by name, e.g. {\"temperature\": 71.5}."),
                FieldSpec("status", .text),
            ]
        ),
        EventTypeSpec(
            "mfg.maintenance.requested.v1", "Maintenance was requested for a piece of equipment", from: "any", to: "Odoo/CMMS",
            fields: [
                FieldSpec("equipment", .reference(.equipment), required: true),
                FieldSpec("title", .text, required: true),
                FieldSpec("kind", .enumeration(["corrective", "preventive"])),
                FieldSpec("priority", .integer(0...3), "0 (low) to 3 (very high)."),
                FieldSpec("order", .reference(.order)),
                FieldSpec("description", .text),
            ]
        ),
        EventTypeSpec(
            "mfg.maintenance.completed.v1", "Maintenance work was completed", from: "CMMS", to: "any",
            fields: [
                FieldSpec("equipment", .reference(.equipment), required: true),
                FieldSpec("request", .reference(.maintenanceRequest)),
                FieldSpec("completed_at", .dateTime),
                FieldSpec("duration_minutes", .nonNegativeQuantity),
            ]
        ),
        // Millwright's own integration signals (`mw.*`): not plant facts, but cues to go and read one.
        EventTypeSpec(
            "mw.odoo.record_changed.v1", "A record changed in Odoo (a base_automation webhook): a signal to fetch it, not its content",
            from: "Odoo", to: "Millwright",
            fields: [
                FieldSpec("model", .text, required: true, "The Odoo model, e.g. mrp.production (the webhook's _model)."),
                FieldSpec("record_id", .integer(1...2_147_483_647), required: true, "The record's database id (the webhook's _id)."),
                FieldSpec("action", .text, "The automation that sent it (the webhook's _action)."),
                FieldSpec("fields", .array(.text, minItems: 0), "Names of the other fields the webhook carried; their values are not trusted."),
            ]
        ),
    ]
}
