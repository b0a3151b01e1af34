import MillwrightCore

/// The kind of an Odoo field, as far as reading, writing and searching need it.
enum OdooFieldKind: Sendable, Equatable {
    case char, text, html, integer, float, boolean, selection, date, datetime
    case many2one(String)
    /// Records of the comodel whose `inverse` many2one points here; computed on read.
    case one2many(String, inverse: String)
    case many2many(String)
}

extension OdooFieldKind {
    /// The `ttype` of `ir.model.fields`.
    var ttype: String {
        switch self {
        case .char: "char"
        case .text: "text"
        case .html: "html"
        case .integer: "integer"
        case .float: "float"
        case .boolean: "boolean"
        case .selection: "selection"
        case .date: "date"
        case .datetime: "datetime"
        case .many2one: "many2one"
        case .one2many: "one2many"
        case .many2many: "many2many"
        }
    }
}

struct OdooFieldSpec: Sendable {
    var kind: OdooFieldKind
    var label: String
    var required = false
    /// Computed on read; writing it is accepted and ignored, as Odoo ignores readonly computed fields.
    var computed = false
}

/// One model: its technical name, its description (used in error messages) and its fields.
struct OdooModelSpec: Sendable {
    let name: String
    let description: String
    var fields: [String: OdooFieldSpec]
    /// Record methods (take `ids`) callable on this model besides the ORM's.
    var recordMethods: Set<String> = []
    /// `@api.model` methods (refuse `ids`) besides `create`.
    var modelMethods: Set<String> = []
    /// Groups named in the AccessError a user without rights gets, per operation.
    var accessGroups: [String] = []
    /// The model's `_order`, used when a search names no `order` (as observed on Odoo 19).
    var defaultOrder: String {
        switch name {
        case "product.product": "default_code, name, id"
        case "mrp.production": "priority desc, date_start, id"
        case "mrp.bom": "sequence, id"
        case "stock.lot": "name, id"
        case "stock.location": "complete_name, id"
        case "stock.scrap", "maintenance.request", "stock.picking": "id desc"
        case "mail.activity": "date_deadline, id"
        default: "id"
        }
    }

    init(_ name: String, _ description: String, _ fields: [String: OdooFieldSpec],
         record: Set<String> = [], model: Set<String> = [], groups: [String] = []) {
        self.name = name
        self.description = description
        var all = fields
        all["id"] = OdooFieldSpec(kind: .integer, label: "ID", computed: true)
        all["display_name"] = OdooFieldSpec(kind: .char, label: "Display Name", computed: true)
        all["create_date"] = OdooFieldSpec(kind: .datetime, label: "Created on", computed: true)
        all["write_date"] = OdooFieldSpec(kind: .datetime, label: "Last Updated on", computed: true)
        self.fields = all
        self.recordMethods = record
        self.modelMethods = model
        self.accessGroups = groups
    }
}

extension OdooFieldSpec {
    // Short builders so the schema below reads like a model definition.
    static func char(_ label: String, required: Bool = false) -> OdooFieldSpec { OdooFieldSpec(kind: .char, label: label, required: required) }
    static func text(_ label: String) -> OdooFieldSpec { OdooFieldSpec(kind: .text, label: label) }
    static func html(_ label: String) -> OdooFieldSpec { OdooFieldSpec(kind: .html, label: label) }
    static func integer(_ label: String) -> OdooFieldSpec { OdooFieldSpec(kind: .integer, label: label) }
    static func float(_ label: String, computed: Bool = false) -> OdooFieldSpec { OdooFieldSpec(kind: .float, label: label, computed: computed) }
    static func boolean(_ label: String) -> OdooFieldSpec { OdooFieldSpec(kind: .boolean, label: label) }
    static func selection(_ label: String, computed: Bool = false) -> OdooFieldSpec { OdooFieldSpec(kind: .selection, label: label, computed: computed) }
    static func date(_ label: String) -> OdooFieldSpec { OdooFieldSpec(kind: .date, label: label) }
    static func datetime(_ label: String) -> OdooFieldSpec { OdooFieldSpec(kind: .datetime, label: label) }
    static func many2one(_ model: String, _ label: String, required: Bool = false) -> OdooFieldSpec {
        OdooFieldSpec(kind: .many2one(model), label: label, required: required)
    }
    static func one2many(_ model: String, _ inverse: String, _ label: String) -> OdooFieldSpec {
        OdooFieldSpec(kind: .one2many(model, inverse: inverse), label: label)
    }
    static func many2many(_ model: String, _ label: String) -> OdooFieldSpec { OdooFieldSpec(kind: .many2many(model), label: label) }


}

extension OdooModelSpec {
    /// The models the simulator knows, with the fields the connector's operations use.
    static let all: [String: OdooModelSpec] = {
        let models: [OdooModelSpec] = [
            OdooModelSpec("res.users", "User", [
                "name": .char("Name", required: true), "login": .char("Login", required: true),
                "active": .boolean("Active"), "tz": .selection("Timezone"), "lang": .selection("Language"),
                "password": .char("Password"), "group_ids": .many2many("res.groups", "Groups"),
            ], model: ["context_get"]),
            OdooModelSpec("res.groups", "Access Groups", ["name": .char("Name", required: true)]),
            OdooModelSpec("ir.model", "Models", ["model": .char("Model", required: true), "name": .char("Model Description", required: true)]),
            OdooModelSpec("ir.model.data", "Model Data", [
                "module": .char("Module", required: true), "name": .char("External Identifier", required: true),
                "model": .char("Model Name", required: true), "res_id": .integer("Record ID"),
                "noupdate": .boolean("Non Updatable"), "complete_name": .char("Complete ID"),
            ]),
            OdooModelSpec("ir.model.fields", "Fields", [
                "model_id": .many2one("ir.model", "Model", required: true), "name": .char("Field Name", required: true),
                "field_description": .char("Field Label", required: true), "ttype": .selection("Field Type"),
                "copied": .boolean("Copied"), "index": .boolean("Indexed"), "model": .char("Model Name"),
            ]),
            OdooModelSpec("ir.model.access", "Model Access", ["name": .char("Name", required: true)], model: ["check"]),
            OdooModelSpec("uom.uom", "Product Unit of Measure", [
                "name": .char("Unit Name", required: true), "relative_factor": .float("Contains"),
                "relative_uom_id": .many2one("uom.uom", "Reference Unit"), "factor": .float("Absolute Quantity"),
                "rounding": .float("Rounding Precision"), "parent_path": .char("Parent Path"), "active": .boolean("Active"),
            ]),
            OdooModelSpec("product.template", "Product", [
                "name": .char("Name", required: true), "default_code": .char("Internal Reference"),
                "product_variant_ids": .one2many("product.product", "product_tmpl_id", "Products"), "active": .boolean("Active"),
            ]),
            OdooModelSpec("product.product", "Product Variant", [
                "name": .char("Name", required: true), "default_code": .char("Internal Reference"),
                "product_tmpl_id": .many2one("product.template", "Product Template"),
                "is_storable": .boolean("Track Inventory"), "type": .selection("Product Type"),
                "tracking": .selection("Tracking"), "uom_id": .many2one("uom.uom", "Unit"),
                "list_price": .float("Sales Price"), "standard_price": .float("Cost"), "active": .boolean("Active"),
                "barcode": .char("Barcode"), "description": .html("Description"),
                "categ_id": .many2one("product.category", "Product Category"),
                "qty_available": .float("Quantity On Hand", computed: true),
                "free_qty": .float("Free To Use Quantity ", computed: true),
            ], record: ["check_access_rights", "has_access"], model: ["load"], groups: ["Products/Create"]),
            OdooModelSpec("stock.location", "Inventory Locations", [
                "name": .char("Location Name", required: true), "complete_name": .char("Full Location Name"),
                "location_id": .many2one("stock.location", "Parent Location"), "usage": .selection("Location Type"),
                "barcode": .char("Barcode"), "active": .boolean("Active"), "parent_path": .char("Parent Path"),
            ]),
            OdooModelSpec("stock.picking.type", "Picking Type", [
                "name": .char("Operation Type", required: true), "code": .selection("Type of Operation"),
                "sequence_code": .char("Sequence Prefix"), "active": .boolean("Active"),
                "default_location_src_id": .many2one("stock.location", "Default Source Location"),
                "default_location_dest_id": .many2one("stock.location", "Default Destination Location"),
                "create_backorder": .selection("Create Backorder"),
            ]),
            OdooModelSpec("stock.lot", "Lot/Serial", [
                "name": .char("Lot/Serial Number", required: true),
                "product_id": .many2one("product.product", "Product", required: true),
                "company_id": .many2one("res.company", "Company"), "ref": .char("Internal Reference"),
                "product_qty": .float("On Hand Quantity", computed: true),
            ]),
            OdooModelSpec("stock.quant", "Quants", [
                "product_id": .many2one("product.product", "Product", required: true),
                "location_id": .many2one("stock.location", "Location", required: true),
                "lot_id": .many2one("stock.lot", "Lot/Serial Number"), "quantity": .float("Quantity"),
                "reserved_quantity": .float("Reserved Quantity", computed: true),
                "available_quantity": .float("Available Quantity", computed: true),
                "inventory_quantity": .float("Counted Quantity"), "inventory_quantity_set": .boolean("Inventory Quantity Set"),
                "inventory_diff_quantity": .float("Difference", computed: true),
                "inventory_quantity_auto_apply": .float("Inventoried Quantity"),
                "product_uom_id": OdooFieldSpec(kind: .many2one("uom.uom"), label: "Unit", computed: true),
                "in_date": .datetime("Incoming Date"),
            ], record: ["action_apply_inventory"], groups: []),
            OdooModelSpec("stock.move", "Stock Move", [
                "name": .char("Description"), "reference": .char("Reference"), "origin": .char("Source Document"),
                "product_id": .many2one("product.product", "Product", required: true),
                "product_uom_qty": .float("Demand"), "quantity": .float("Quantity"),
                "product_uom": .many2one("uom.uom", "Unit"), "picked": .boolean("Picked"), "state": .selection("Status"),
                "location_id": .many2one("stock.location", "Source Location"),
                "location_dest_id": .many2one("stock.location", "Destination Location"),
                "raw_material_production_id": .many2one("mrp.production", "Production Order for components"),
                "production_id": .many2one("mrp.production", "Production Order for finished products"),
                "picking_id": .many2one("stock.picking", "Transfer"), "scrap_id": .many2one("stock.scrap", "Scrap"),
                "move_line_ids": .one2many("stock.move.line", "move_id", "Operations"),
                "unit_factor": .float("Unit Factor"),
            ]),
            OdooModelSpec("stock.move.line", "Product Moves (Stock Move Line)", [
                "move_id": .many2one("stock.move", "Stock Operation"),
                "product_id": .many2one("product.product", "Product"), "lot_id": .many2one("stock.lot", "Lot/Serial Number"),
                "quantity": .float("Quantity"), "picked": .boolean("Picked"),
                "location_id": .many2one("stock.location", "From"), "location_dest_id": .many2one("stock.location", "To"),
                "picking_id": .many2one("stock.picking", "Transfer"),
                "product_uom_id": .many2one("uom.uom", "Unit"),
                "state": OdooFieldSpec(kind: .selection, label: "Status", computed: true),
            ]),
            OdooModelSpec("stock.picking", "Transfer", [
                "name": .char("Reference"), "origin": .char("Source Document"), "state": .selection("Status"),
                "picking_type_id": .many2one("stock.picking.type", "Operation Type", required: true),
                "location_id": .many2one("stock.location", "Source Location"),
                "location_dest_id": .many2one("stock.location", "Destination Location"),
                "move_ids": .one2many("stock.move", "picking_id", "Stock Moves"),
                "move_line_ids": .one2many("stock.move.line", "picking_id", "Operations"),
                "date_done": .datetime("Date of Transfer"),
            ], record: ["action_confirm", "action_assign", "button_validate", "action_cancel"]),
            OdooModelSpec("stock.scrap", "Scrap", [
                "name": .char("Reference"), "origin": .char("Source Document"), "state": .selection("Status"),
                "product_id": .many2one("product.product", "Product", required: true),
                "lot_id": .many2one("stock.lot", "Lot/Serial"), "scrap_qty": .float("Quantity"),
                "product_uom_id": .many2one("uom.uom", "Unit"),
                "location_id": .many2one("stock.location", "Source Location"),
                "scrap_location_id": .many2one("stock.location", "Scrap Location"),
                "production_id": .many2one("mrp.production", "Manufacturing Order"),
                "move_ids": .one2many("stock.move", "scrap_id", "Stock Moves"), "date_done": .datetime("Date"),
            ], record: ["action_validate", "do_scrap"]),
            OdooModelSpec("mrp.bom", "Bill of Material", [
                "product_tmpl_id": .many2one("product.template", "Product", required: true), "sequence": .integer("Sequence"),
                "product_id": .many2one("product.product", "Product Variant"), "product_qty": .float("Quantity"),
                "product_uom_id": .many2one("uom.uom", "Unit"), "code": .char("Reference"), "type": .selection("BoM Type"), "consumption": .selection("Flexible Consumption"),
                "bom_line_ids": .one2many("mrp.bom.line", "bom_id", "BoM Lines"), "active": .boolean("Active"),
                "operation_ids": .one2many("mrp.routing.workcenter", "bom_id", "Operations"),
            ]),
            // Work centers, operations and work orders: what `operation.complete` uses, as observed on Odoo 19
            // (docs/odoo-research.md §14).
            OdooModelSpec("mrp.workcenter", "Work Center", [
                "name": .char("Work Center", required: true), "code": .char("Code"), "active": .boolean("Active"),
            ]),
            OdooModelSpec("mrp.routing.workcenter", "Work Center Usage", [
                "name": .char("Operation", required: true), "workcenter_id": .many2one("mrp.workcenter", "Work Center", required: true),
                "bom_id": .many2one("mrp.bom", "Bill of Material", required: true), "sequence": .integer("Sequence"),
                "time_cycle": .float("Duration"),
            ]),
            OdooModelSpec("mrp.workorder", "Work Order", [
                "name": .char("Work Order", required: true), "state": .selection("Status"),
                "production_id": .many2one("mrp.production", "Manufacturing Order", required: true),
                "workcenter_id": .many2one("mrp.workcenter", "Work Center", required: true),
                "operation_id": .many2one("mrp.routing.workcenter", "Operation"),
                "qty_production": .float("Original Production Quantity", computed: true),
                "qty_produced": .float("Quantity Done"), "qty_remaining": .float("Quantity To Be Produced", computed: true),
                "qty_reported_from_previous_wo": .float("Carried Quantity"),
                "duration_expected": .float("Expected Duration"), "duration": .float("Real Duration", computed: true),
                "time_ids": .one2many("mrp.workcenter.productivity", "workorder_id", "Time"),
                "date_start": .datetime("Start"), "date_finished": .datetime("End"),
            ], record: ["button_finish"]),
            OdooModelSpec("mrp.workcenter.productivity.loss", "Workcenter Productivity Losses", [
                "name": .char("Blocking Reason", required: true), "loss_type": .selection("Effectiveness Category"),
            ]),
            OdooModelSpec("mrp.workcenter.productivity", "Workcenter Productivity Log", [
                "workorder_id": .many2one("mrp.workorder", "Work Order"),
                "workcenter_id": .many2one("mrp.workcenter", "Work Center", required: true),
                "production_id": OdooFieldSpec(kind: .many2one("mrp.production"), label: "Manufacturing Order", computed: true),
                "loss_id": .many2one("mrp.workcenter.productivity.loss", "Loss Reason", required: true),
                "loss_type": .selection("Effectiveness", computed: true),
                "description": .text("Description"), "user_id": .many2one("res.users", "User"),
                "date_start": OdooFieldSpec(kind: .datetime, label: "Start Date", required: true), "date_end": .datetime("End Date"),
                "duration": .float("Duration", computed: true),
            ]),
            OdooModelSpec("mrp.bom.line", "Bill of Material Line", [
                "bom_id": .many2one("mrp.bom", "Parent BoM"), "product_id": .many2one("product.product", "Component"),
                "product_qty": .float("Quantity"), "product_uom_id": .many2one("uom.uom", "Unit"),
            ]),
            OdooModelSpec("mrp.production.group", "Production Group", ["name": .char("Name", required: true)],
                          groups: ["Manufacturing/User"]),
            OdooModelSpec("mrp.production", "Manufacturing Order", [
                "name": .char("Reference"), "origin": .char("Source"), "state": .selection("State"),
                "product_id": .many2one("product.product", "Product", required: true),
                "product_qty": .float("Quantity To Produce"), "product_uom_id": .many2one("uom.uom", "Unit"),
                "bom_id": .many2one("mrp.bom", "Bill of Material"),
                "qty_producing": .float("Quantity Producing"), "qty_produced": .float("Quantity Produced", computed: true),
                "lot_producing_ids": .many2many("stock.lot", "Lot/Serial Number"),
                "move_raw_ids": .one2many("stock.move", "raw_material_production_id", "Components"),
                "move_finished_ids": .one2many("stock.move", "production_id", "Finished Products"),
                "production_group_id": .many2one("mrp.production.group", "Production Group"),
                "backorder_sequence": .integer("Backorder Sequence"),
                "reservation_state": .selection("MO Readiness", computed: true), "is_locked": .boolean("Is Locked"),
                "location_src_id": .many2one("stock.location", "Components Location"),
                "location_dest_id": .many2one("stock.location", "Finished Products Location"),
                "picking_type_id": .many2one("stock.picking.type", "Operation Type"),
                "date_start": .datetime("Start"), "date_finished": .datetime("End"), "priority": .selection("Priority"),
                "activity_ids": OdooFieldSpec(kind: .one2many("mail.activity", inverse: "res_id"), label: "Activities", computed: true),
                "activity_state": .selection("Activity State", computed: true),
                "activity_summary": OdooFieldSpec(kind: .char, label: "Next Activity Summary", computed: true),
                "workorder_ids": .one2many("mrp.workorder", "production_id", "Work Orders"),
            ], record: ["action_confirm", "action_assign", "set_qty_producing", "button_mark_done", "action_cancel", "has_access", "message_post"],
               groups: ["Inventory/User", "Manufacturing/Administrator", "Manufacturing/User"]),
            OdooModelSpec("mrp.production.backorder", "Wizard to mark as done or create back order", [
                "mrp_production_ids": .many2many("mrp.production", "Manufacturing Orders"),
                "mrp_production_backorder_line_ids": .one2many("mrp.production.backorder.line", "mrp_production_backorder_id", "Backorder Confirmation Lines"),
            ], record: ["action_backorder", "action_close_mo"], groups: ["Manufacturing/User"]),
            OdooModelSpec("mrp.production.backorder.line", "Backorder Confirmation Line", [
                "mrp_production_backorder_id": .many2one("mrp.production.backorder", "MO Backorder"),
                "mrp_production_id": .many2one("mrp.production", "Manufacturing Order"), "to_backorder": .boolean("To Backorder"),
            ], groups: ["Manufacturing/User"]),
            OdooModelSpec("mrp.production.serials", "Assign Serial Numbers", [
                "production_id": .many2one("mrp.production", "Production", required: true), "serial_numbers": .text("Serial Numbers"),
            ], record: ["action_apply"], groups: ["Manufacturing/User"]),
            OdooModelSpec("maintenance.equipment", "Maintenance Equipment", [
                "name": .char("Equipment Name", required: true), "serial_no": .char("Serial Number"),
                "category_id": .many2one("maintenance.equipment.category", "Equipment Category"), "active": .boolean("Active"),
                "maintenance_team_id": .many2one("maintenance.team", "Maintenance Team"),
            ]),
            OdooModelSpec("maintenance.equipment.category", "Maintenance Equipment Category", ["name": .char("Category Name", required: true)]),
            OdooModelSpec("maintenance.team", "Maintenance Teams", ["name": .char("Team Name", required: true)]),
            OdooModelSpec("maintenance.stage", "Maintenance Stage", ["name": .char("Name", required: true), "done": .boolean("Request Done")]),
            OdooModelSpec("maintenance.request", "Maintenance Request", [
                "name": .char("Subjects", required: true), "description": .html("Description"),
                "equipment_id": .many2one("maintenance.equipment", "Equipment"), "maintenance_type": .selection("Maintenance Type"),
                "priority": .selection("Priority"), "stage_id": .many2one("maintenance.stage", "Stage"),
                "maintenance_team_id": .many2one("maintenance.team", "Team"), "request_date": .date("Request Date"),
                "user_id": .many2one("res.users", "Technician"), "kanban_state": .selection("Kanban State"),
            ]),
            OdooModelSpec("mail.activity.type", "Activity Type", ["name": .char("Name", required: true)]),
            OdooModelSpec("mail.activity", "Activity", [
                "res_model_id": .many2one("ir.model", "Document Model", required: true),
                "res_model": .char("Related Document Model"), "res_id": .integer("Related Document ID"),
                "activity_type_id": .many2one("mail.activity.type", "Activity Type"), "summary": .char("Summary"),
                "note": .html("Note"), "user_id": .many2one("res.users", "Assigned to"), "date_deadline": .date("Due Date"),
                "state": .selection("State"),
            ], record: ["action_feedback"]),
            OdooModelSpec("product.category", "Product Category", ["name": .char("Name", required: true)]),
            // Automation rules and their server actions: only what change capture uses (trigger
            // on_create_or_write, action state webhook), as observed on Odoo 19 (docs/odoo-research.md §13).
            OdooModelSpec("base.automation", "Automation Rule", [
                "name": .char("Automation Rule Name", required: true), "model_id": .many2one("ir.model", "Model", required: true),
                "trigger": .selection("Trigger"), "trigger_field_ids": .many2many("ir.model.fields", "Trigger Fields"),
                "action_server_ids": .one2many("ir.actions.server", "base_automation_id", "Actions"), "active": .boolean("Active"),
            ]),
            OdooModelSpec("ir.actions.server", "Server Action", [
                "name": .char("Action Name", required: true), "model_id": .many2one("ir.model", "Model", required: true),
                "state": .selection("Type"), "webhook_url": .char("Webhook URL"),
                "webhook_field_ids": .many2many("ir.model.fields", "Webhook Fields"),
                "base_automation_id": .many2one("base.automation", "Automation Rule"), "usage": .selection("Usage"),
            ]),
            OdooModelSpec("mail.message", "Message", [
                "body": .html("Contents"), "model": .char("Related Document Model"), "res_id": .integer("Related Document ID"),
                "message_type": .selection("Type"),
            ]),
        ]
        return Dictionary(uniqueKeysWithValues: models.map { ($0.name, $0) })
    }()
}
