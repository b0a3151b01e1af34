import Foundation
import MillwrightCore

/// Demo-like seed data; ids follow the Odoo 19 demo database the recordings come from where they matter.
enum Seed {
    static let adminUID = 2
    static let productiveLoss = 7
    static let mesBridgeUID = 7
    static let stock = 5
    static let warehouseView = 4
    static let inventoryAdjustment = 13
    static let production = 15
    static let scrap = 16
    static let quarantine = 37
    static let manufacturingType = 8
    static let internalType = 7
    static let productionModelID = 591

    /// Product ids of the demo database.
    static let woodPanel = 62, plyLayer = 59, wearLayer = 60, drawer = 39, drawerBlack = 65, drawerCase = 66,
        tableTop = 55, officeChair = 31, bolt = 33

    static func database(now: String) -> OdooDatabase {
        var db = OdooDatabase()
        db.now = now
        db.insert("res.users", ["name": "Mitchell Admin", "login": "admin", "active": true, "tz": "Europe/Brussels", "lang": "en_US"], id: adminUID)
        db.insert("res.users", ["name": "MES Bridge (no MRP)", "login": "mes-bridge", "active": true, "tz": false, "lang": "en_US"], id: mesBridgeUID)

        db.insert("res.groups", ["name": "User"], id: 1)
        for (id, model, name) in [
            (100, "product.product", "Product Variant"), (101, "stock.quant", "Quants"), (102, "stock.move", "Stock Move"),
            (103, "stock.lot", "Lot/Serial"), (104, "stock.picking", "Transfer"), (105, "stock.scrap", "Scrap"),
            (106, "maintenance.request", "Maintenance Request"), (107, "maintenance.equipment", "Maintenance Equipment"),
            (108, "uom.uom", "Product Unit of Measure"), (109, "stock.location", "Inventory Locations"),
            (110, "mail.activity", "Activity"), (111, "stock.move.line", "Product Moves (Stock Move Line)"),
            (productionModelID, "mrp.production", "Manufacturing Order"),
        ] {
            db.insert("ir.model", ["model": .string(model), "name": .string(name)], id: id)
        }
        // The fields of the models change capture watches (automation triggers name them by id); the ids
        // of the fields seen on Odoo 19 are the demo database's.
        let observedFieldIDs = [
            "mrp.production": ["name": 7972, "state": 8002, "write_date": 8055],
            "product.product": ["default_code": 3721, "name": 3759, "write_date": 3753],
        ]
        var nextFieldID = 20000
        for (model, modelID) in [("mrp.production", productionModelID), ("product.product", 100)] {
            for (field, spec) in (db.specs[model]?.fields ?? [:]).sorted(by: { $0.key < $1.key }) {
                let id = observedFieldIDs[model]?[field] ?? nextFieldID
                if observedFieldIDs[model]?[field] == nil { nextFieldID += 1 }
                db.insert("ir.model.fields", ["model_id": .int(modelID), "model": .string(model), "name": .string(field),
                                              "field_description": .string(spec.label), "ttype": .string(spec.kind.ttype)], id: id)
            }
        }
        db.insert("product.category", ["name": "All"], id: 1)

        // Units: Units 1 (root), Dozens 3 (12 Units, archived in demo), g 15 (root), kg 16 (1000 g).
        db.insert("uom.uom", ["name": "Units", "relative_factor": .number("1.0"), "relative_uom_id": false, "factor": .number("1.0"),
                              "rounding": .number("0.01"), "parent_path": "1/", "active": true], id: 1)
        db.insert("uom.uom", ["name": "Dozens", "relative_factor": .number("12.0"), "relative_uom_id": 1, "factor": .number("12.0"),
                              "rounding": .number("0.01"), "parent_path": "1/3/", "active": false], id: 3)
        db.insert("uom.uom", ["name": "g", "relative_factor": .number("1.0"), "relative_uom_id": false, "factor": .number("1.0"),
                              "rounding": .number("0.01"), "parent_path": "15/", "active": true], id: 15)
        db.insert("uom.uom", ["name": "kg", "relative_factor": .number("1000.0"), "relative_uom_id": 15, "factor": .number("1000.0"),
                              "rounding": .number("0.01"), "parent_path": "15/16/", "active": true], id: 16)
        for (id, xmlName, uom) in [(1, "product_uom_unit", 1), (2, "product_uom_dozen", 3), (3, "product_uom_gram", 15), (4, "product_uom_kgm", 16)] {
            db.insert("ir.model.data", ["module": "uom", "name": .string(xmlName), "model": "uom.uom", "res_id": .int(uom),
                                        "noupdate": true, "complete_name": .string("uom.\(xmlName)")], id: id)
        }
        db.nextIDs["ir.model.data"] = 40000

        // Locations.
        func location(_ id: Int, _ name: String, _ complete: String, parent: Int?, usage: String, barcode: String? = nil) {
            db.insert("stock.location", ["name": .string(name), "complete_name": .string(complete),
                                         "location_id": parent.map { .int($0) } ?? .bool(false), "usage": .string(usage),
                                         "barcode": barcode.map { .string($0) } ?? .bool(false), "active": true], id: id)
        }
        location(1, "Physical Locations", "Physical Locations", parent: nil, usage: "view")
        location(3, "Virtual Locations", "Virtual Locations", parent: nil, usage: "view")
        location(warehouseView, "WH", "WH", parent: 1, usage: "view")
        location(stock, "Stock", "WH/Stock", parent: warehouseView, usage: "internal", barcode: "WHSTOCK")
        location(inventoryAdjustment, "Inventory adjustment", "Inventory adjustment", parent: 3, usage: "inventory")
        location(production, "Production", "Production", parent: 3, usage: "production")
        location(scrap, "Scrap", "Scrap", parent: 3, usage: "inventory")
        location(quarantine, "Quarantine", "WH/Quarantine", parent: warehouseView, usage: "internal", barcode: "WHQUAR")

        db.insert("stock.picking.type", ["name": "Internal Transfers", "code": "internal", "sequence_code": "INT", "active": false,
                                         "default_location_src_id": .int(stock), "default_location_dest_id": .int(stock),
                                         "create_backorder": "ask"], id: internalType)
        db.insert("stock.picking.type", ["name": "Manufacturing", "code": "mrp_operation", "sequence_code": "MO", "active": true,
                                         "default_location_src_id": .int(stock), "default_location_dest_id": .int(stock),
                                         "create_backorder": "ask"], id: manufacturingType)

        // Products.
        func product(_ id: Int, _ name: String, _ code: String, tracking: String = "none", price: String = "10.0") {
            let template = db.insert("product.template", ["name": .string(name), "default_code": .string(code), "active": true])
            db.insert("product.product", ["name": .string(name), "default_code": .string(code), "is_storable": true, "type": "consu",
                                          "tracking": .string(tracking), "uom_id": 1, "list_price": .number(price), "active": true,
                                          "barcode": false, "description": false, "product_tmpl_id": .int(template)], id: id)
        }
        product(officeChair, "Office Chair Black", "FURN_0269")
        product(bolt, "Bolt", "CONS_89957")
        product(drawer, "Drawer", "FURN_8855", tracking: "lot")
        product(tableTop, "Table Top", "FURN_8522", tracking: "serial")
        product(plyLayer, "Ply Layer", "FURN_7111")
        product(wearLayer, "Wear Layer", "FURN_8111")
        product(woodPanel, "Wood Panel", "FURN_7023")
        product(drawerBlack, "Drawer Black", "FURN_2100", tracking: "lot")
        product(drawerCase, "Drawer Case Black", "FURN_5623", tracking: "lot")
        db.nextIDs["product.product"] = 70

        // Bills of materials (consumption "warning" unless said): Wood Panel = 3 Ply + 1 Wear; Drawer = 1 Drawer Black + 1 Drawer Case; Table Top = 2 Ply + 4 Bolts.
        func bom(_ id: Int, _ finished: Int, _ lines: [(Int, String)], consumption: String = "warning", code: String? = nil, sequence: Int = 1) {
            db.insert("mrp.bom", ["product_id": .int(finished), "product_qty": .number("1.0"), "product_uom_id": 1,
                                  "product_tmpl_id": db.value("product.product", finished, "product_tmpl_id"), "sequence": .int(sequence),
                                  "type": "normal", "code": code.map { .string($0) } ?? false, "active": true, "consumption": .string(consumption)], id: id)
            for (component, quantity) in lines {
                db.insert("mrp.bom.line", ["bom_id": .int(id), "product_id": .int(component), "product_qty": .number(quantity), "product_uom_id": 1])
            }
        }
        bom(3, woodPanel, [(plyLayer, "3.0"), (wearLayer, "1.0")])
        bom(5, tableTop, [(plyLayer, "2.0"), (bolt, "4.0")])
        // The demo Drawer BoM is flexible: Odoo asks no consumption question for it.
        bom(7, drawer, [(drawerBlack, "1.0"), (drawerCase, "1.0")], consumption: "flexible")

        // Work centers (no codes in the demo data), productivity losses, and the Table Top's one operation
        // (demo: "Manual Assembly" on Assembly 1, 60 min a unit).
        for (id, name) in [(1, "Assembly 1"), (2, "Drill 1"), (3, "Assembly 2")] {
            db.insert("mrp.workcenter", ["name": .string(name), "code": false, "active": true], id: id)
        }
        for (id, name, type) in [(7, "Fully Productive Time", "productive"), (1, "Material Availability", "availability"),
                                 (2, "Equipment Failure", "availability"), (3, "Setup and Adjustments", "availability"),
                                 (4, "Reduced Speed", "performance"), (5, "Process Defect", "quality"), (6, "Reduced Yield", "quality")] {
            db.insert("mrp.workcenter.productivity.loss", ["name": .string(name), "loss_type": .string(type)], id: id)
        }
        db.insert("mrp.routing.workcenter", ["name": "Manual Assembly", "workcenter_id": 1, "bom_id": 5, "sequence": 5,
                                             "time_cycle": .number("60.0")], id: 1)
        // The Drawer's second BoM, "SEC-ASSEM" (sequence 2, so not the one Odoo picks by default), with three operations.
        bom(8, drawer, [(drawerBlack, "1.0"), (drawerCase, "1.0")], code: "SEC-ASSEM", sequence: 2)
        for (id, name, center, sequence, cycle) in [(5, "Packing", 2, 5, "30.0"), (4, "Testing", 1, 10, "60.0"), (3, "Long time assembly", 1, 15, "180.0")] {
            db.insert("mrp.routing.workcenter", ["name": .string(name), "workcenter_id": .int(center), "bom_id": 8, "sequence": .int(sequence),
                                                 "time_cycle": .number(cycle)], id: id)
        }

        // Lots and stock.
        for (id, name, item) in [(1, "0000000000029", drawer), (5, "0000000000030", drawer), (6, "0000000000031", drawer),
                                 (7, "0000000010001", drawerBlack), (8, "0000000020001", drawerCase)] {
            db.insert("stock.lot", ["name": .string(name), "product_id": .int(item), "company_id": false], id: id)
        }
        db.nextIDs["stock.lot"] = 9
        for (item, lot, quantity) in [(plyLayer, nil, "20.0"), (wearLayer, nil, "30.0"), (bolt, nil, "200.0"), (officeChair, nil, "16.0"),
                                      (drawer, 1, "80.0"), (drawer, 5, "63.0"), (drawer, 6, "40.0"),
                                      (drawerBlack, 7, "50.0"), (drawerCase, 8, "50.0")] as [(Int, Int?, String)] {
            db.insert("stock.quant", ["product_id": .int(item), "location_id": .int(stock), "lot_id": lot.map { .int($0) } ?? .bool(false),
                                      "quantity": .number(quantity), "inventory_quantity": .number("0"),
                                      "inventory_quantity_set": false, "in_date": .string(now)])
        }

        // Maintenance.
        db.insert("maintenance.team", ["name": "Internal Maintenance"], id: 1)
        for (id, name, done) in [(1, "New Request", false), (2, "In Progress", false), (3, "Repaired", true), (4, "Scrap", true)] {
            db.insert("maintenance.stage", ["name": .string(name), "done": .bool(done)], id: id)
        }
        db.insert("maintenance.equipment.category", ["name": "Monitors"], id: 1)
        for (id, serial) in [(1, "MT/122/11112222"), (2, "MT/125/22778837"), (3, "MT/127/18291018")] {
            db.insert("maintenance.equipment", ["name": "Samsung Monitor 15\"", "serial_no": .string(serial), "category_id": 1,
                                                "active": true, "maintenance_team_id": 1], id: id)
        }
        for (id, name) in [(1, "Email"), (2, "Call"), (4, "To-Do")] {
            db.insert("mail.activity.type", ["name": .string(name)], id: id)
        }
        return db
    }
}
