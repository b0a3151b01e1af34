import Foundation
import MillwrightCore
import MillwrightTesting
import Testing

/// Scrap, inventory counts, internal transfers, on-hand queries (docs/odoo-research.md §4–§7, §9).
@Suite struct StockTests {
    @Test func scrapValidatesOrAsksWhenStockIsShort() async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            let scrap = try #require(try await client.call("stock.scrap", "create", ["vals_list": [["product_id": 59, "scrap_qty": 1, "location_id": 5, "origin": "evt-1"]]]).first?.int)
            #expect(try await client.call("stock.scrap", "action_validate", ["ids": [.number("\(scrap)")]]) == true)
            let read = try await client.call("stock.scrap", "read", ["ids": [.number("\(scrap)")], "fields": ["name", "state", "scrap_qty", "move_ids", "scrap_location_id"]])
            #expect(read.first?["name"] == "SP/00001")
            #expect(read.first?["state"] == "done")
            #expect(read.first?["scrap_location_id"]?.many2oneName == "Inventory adjustment")
            #expect(read.first?["move_ids"]?.arrayValue?.count == 1)
            #expect(odoo.onHand(productCode: "FURN_7111") == 19)

            let big = try #require(try odoo.call("stock.scrap", "create", ["vals_list": [["product_id": 39, "lot_id": 1, "scrap_qty": 500, "location_id": 5]]]).first?.int)
            let warning = try await client.call("stock.scrap", "action_validate", ["ids": [.number("\(big)")]])
            #expect(warning["res_model"] == "stock.warn.insufficient.qty.scrap")
            #expect(warning["name"] == "[FURN_8855] Drawer: Insufficient Quantity To Scrap")
            #expect(odoo.record(model: "stock.scrap", id: big)?["state"] == "draft")
            #expect(try await client.call("stock.scrap", "do_scrap", ["ids": [.number("\(big)")]]) == true)
            #expect(odoo.onHand(productCode: "FURN_8855", lot: "0000000000029") == -420)
            // Idempotency lookup by origin.
            let byOrigin = try await client.call("stock.scrap", "search_read", ["domain": [["origin", "=", "evt-1"]], "fields": ["state"]])
            #expect(byOrigin.arrayValue?.count == 1)
        }
    }

    @Test func inventoryCountsInInventoryModeUpdateTheExistingQuant() async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            let before = try #require(odoo.quants(productCode: "FURN_0269").first)
            let counted = try await client.call("stock.quant", "create", [
                "vals_list": [["product_id": 31, "location_id": 5, "inventory_quantity": 12]], "context": ["inventory_mode": true],
            ])
            #expect(counted.first?.int == before.id)
            let pending = try await client.call("stock.quant", "read", ["ids": counted, "fields": ["quantity", "inventory_quantity", "inventory_quantity_set"]])
            #expect(pending.first?["inventory_quantity_set"] == true)
            #expect(try await client.call("stock.quant", "action_apply_inventory", ["ids": counted]) == .null)
            let applied = try await client.call("stock.quant", "search_read", [
                "domain": [["product_id", "=", 31], ["location_id", "=", 5]], "fields": ["quantity", "inventory_quantity", "inventory_quantity_set", "lot_id"],
            ])
            #expect(applied.arrayValue?.count == 1)
            #expect(applied.first?["quantity"]?.decimal == 12)
            #expect(applied.first?["inventory_quantity_set"] == false)
            #expect(applied.first?["lot_id"] == false)
            #expect(odoo.onHand(productCode: "FURN_0269", location: "Inventory adjustment") == 4)
            // Applying again changes nothing.
            #expect(try await client.call("stock.quant", "action_apply_inventory", ["ids": counted]) == .null)
            #expect(odoo.onHand(productCode: "FURN_0269") == 12)

            // One call: inventory_quantity_auto_apply, on a lot that had no quant yet.
            let lot = try #require(try odoo.call("stock.lot", "create", ["vals_list": [["name": "MW-LOT-C", "product_id": 65]]]).first?.int)
            _ = try await client.call("stock.quant", "create", [
                "vals_list": [["product_id": 65, "location_id": 5, "lot_id": .number("\(lot)"), "inventory_quantity_auto_apply": 10]],
                "context": ["inventory_mode": true],
            ])
            #expect(odoo.onHand(productCode: "FURN_2100", lot: "MW-LOT-C") == 10)
            #expect(odoo.onHand(productCode: "FURN_2100", location: "Inventory adjustment", lot: "MW-LOT-C") == -10)

            // Without inventory_mode: a second quant row, which nobody may delete.
            let extra = try await client.call("stock.quant", "create", ["vals_list": [["product_id": 31, "location_id": 5, "inventory_quantity": 2]]])
            #expect(extra.first?.int != before.id)
            #expect(odoo.quants(productCode: "FURN_0269").filter { $0.location == "WH/Stock" }.count == 2)
            let unlink = try await client.json2("stock.quant", "unlink", ["ids": extra])
            #expect(unlink.status == 403)
            #expect(unlink.json?["message"]?.stringValue?.contains("No group currently allows this operation.") == true)
        }
    }

    @Test func internalTransferMovesALotToQuarantine() async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            let type = try await client.call("stock.picking.type", "search_read", [
                "domain": [["code", "=", "internal"]], "fields": ["id", "active"], "context": ["active_test": false],
            ])
            #expect(type.first?["id"]?.int == 7)
            let hidden = try await client.call("stock.picking.type", "search_read", ["domain": [["code", "=", "internal"]], "fields": ["id"]])
            #expect(hidden.arrayValue?.isEmpty == true)
            let quarantine = try #require(try await client.call("stock.location", "search_read", [
                "domain": [["barcode", "=", "WHQUAR"]], "fields": ["id", "complete_name", "usage"],
            ]).first)
            #expect(quarantine["complete_name"] == "WH/Quarantine")
            let destination = try #require(quarantine["id"])

            let picking = try #require(try await client.call("stock.picking", "create", ["vals_list": [[
                "picking_type_id": 7, "location_id": 5, "location_dest_id": destination, "origin": "mw:hold:0000000000030",
                "move_ids": [[0, 0, ["product_id": 39, "product_uom_qty": 3, "location_id": 5, "location_dest_id": destination]]],
            ]]]).first?.int)
            #expect(odoo.record(model: "stock.picking", id: picking)?["name"] == "WH/INT/00001")
            #expect(try await client.call("stock.picking", "action_confirm", ["ids": [.number("\(picking)")]]) == true)
            #expect(odoo.record(model: "stock.picking", id: picking)?["state"] == "assigned")

            // FIFO reserved the oldest lot; move the reservation to the lot we want.
            let move = try #require(odoo.record(model: "stock.picking", id: picking)?["move_ids"]?.first?.int)
            let line = try #require(odoo.record(model: "stock.move", id: move)?["move_line_ids"]?.first?.int)
            #expect(odoo.record(model: "stock.move.line", id: line)?["lot_id"]?.many2oneName == "0000000000029")
            #expect(try await client.call("stock.move.line", "write", ["ids": [.number("\(line)")], "vals": ["lot_id": 5, "quantity": 3]]) == true)
            #expect(try await client.call("stock.move", "write", ["ids": [.number("\(move)")], "vals": ["picked": true]]) == true)
            #expect(try await client.call("stock.picking", "button_validate", ["ids": [.number("\(picking)")]]) == true)
            let done = try await client.call("stock.picking", "read", ["ids": [.number("\(picking)")], "fields": ["state", "date_done", "origin"]])
            #expect(done.first?["state"] == "done")
            #expect(done.first?["date_done"]?.stringValue != nil)
            #expect(odoo.onHand(productCode: "FURN_8855", location: "WH/Quarantine", lot: "0000000000030") == 3)
            #expect(odoo.onHand(productCode: "FURN_8855", location: "WH/Stock", lot: "0000000000030") == 60)

            // On hand by references, and by child_of.
            let quants = try await client.call("stock.quant", "search_read", [
                "domain": [["product_id.default_code", "=", "FURN_8855"], ["location_id.complete_name", "=", "WH/Quarantine"], ["lot_id.name", "=", "0000000000030"]],
                "fields": ["product_id", "location_id", "lot_id", "quantity", "reserved_quantity", "available_quantity"],
            ])
            #expect(quants.first?["available_quantity"]?.decimal == 3)
            #expect(quants.first?["location_id"]?.many2oneName == "WH/Quarantine")
            let underStock = try await client.call("stock.quant", "search_count", ["domain": [["product_id", "=", 39], ["location_id", "child_of", 5]]])
            #expect(underStock.int == 3)
            let internalCount = try await client.call("stock.quant", "search_count", ["domain": [["product_id", "=", 39], ["location_id.usage", "=", "internal"]]])
            #expect(internalCount.int == 4)
        }
    }

    @Test func groupedOnHand() async throws {
        try await withOdooSimulator { odoo in
            try odoo.setOnHand(productCode: "FURN_8855", quantity: 2, location: "WH/Quarantine", lot: "0000000000029")
            let client = SimulatorClient(odoo)
            let domain: JSONValue = [["product_id", "=", 39], ["location_id.usage", "=", "internal"]]
            let grouped = try await client.call("stock.quant", "read_group", [
                "domain": domain, "fields": ["quantity:sum", "reserved_quantity:sum"], "groupby": ["location_id", "lot_id"], "lazy": false,
            ])
            let first = try #require(grouped.first)
            #expect(grouped.arrayValue?.count == 4)
            #expect(first["location_id"] == [37, "WH/Quarantine"])
            #expect(first["lot_id"] == [1, "0000000000029"])
            #expect(first["quantity"]?.decimal == 2)
            #expect(first["__count"] == 1)
            #expect(first["__domain"] == ["&", "&", "&", ["product_id", "=", 39], ["location_id.usage", "=", "internal"], ["location_id", "=", 37], ["lot_id", "=", 1]])
            let formatted = try await client.call("stock.quant", "formatted_read_group", [
                "domain": domain, "groupby": ["location_id"], "aggregates": ["quantity:sum"],
            ])
            #expect(formatted.arrayValue?.map { $0["quantity:sum"]?.decimal } == [2, 183])
            #expect(formatted.first?["__extra_domain"] == [["location_id", "=", 37]])
        }
    }

    @Test func testsCanArrangeStock() async throws {
        try await withOdooSimulator { odoo in
            try odoo.setOnHand(productCode: "FURN_7111", quantity: 3)
            try odoo.setOnHand(productCode: "FURN_8855", quantity: 5, location: "WH/Quarantine", lot: "MW-LOT-Q")
            #expect(odoo.onHand(productCode: "FURN_7111") == 3)
            #expect(odoo.onHand(productCode: "FURN_8855", location: "WH/Quarantine", lot: "MW-LOT-Q") == 5)
            #expect(throws: OdooSimulatorCallError.self) { try odoo.setOnHand(productCode: "NOPE", quantity: 1) }
        }
    }

    @Test func clearingMoveLinesLeaksTheReservationAsOdooDoes() async throws {
        try await withOdooSimulator { odoo in
            let picking = try #require(try odoo.call("stock.picking", "create", ["vals_list": [[
                "picking_type_id": 7, "location_id": 5, "location_dest_id": 37,
                "move_ids": [[0, 0, ["product_id": 65, "product_uom_qty": 3, "location_id": 5, "location_dest_id": 37]]],
            ]]]).first?.int)
            try odoo.call("stock.picking", "action_confirm", ids: [picking])
            let move = try #require(odoo.record(model: "stock.picking", id: picking)?["move_ids"]?.first?.int)
            let line = try #require(odoo.record(model: "stock.move", id: move)?["move_line_ids"]?.first?.int)
            #expect(odoo.quants(productCode: "FURN_2100").first?.reserved == 3)
            // [5, 0, 0] then a new line: the old line is orphaned and keeps its reservation.
            try odoo.call("stock.move", "write", ids: [move], ["vals": [
                "move_line_ids": [[5, 0, 0], [0, 0, ["location_id": 5, "location_dest_id": 37, "lot_id": 7, "product_id": 65, "quantity": 3]]],
                "picked": true,
            ]])
            let orphan = try #require(try odoo.call("stock.move.line", "read", ids: [line], ["fields": ["move_id", "state", "quantity"]]).first)
            #expect(orphan["move_id"] == false)
            #expect(orphan["state"] == false)
            #expect(odoo.quants(productCode: "FURN_2100").first?.reserved == 6)
            #expect(try odoo.call("stock.picking", "button_validate", ids: [picking]) == true)
            #expect(odoo.onHand(productCode: "FURN_2100", location: "WH/Quarantine") == 3)
            #expect(odoo.quants(productCode: "FURN_2100").first { $0.location == "WH/Stock" }?.reserved == 3)
        }
    }

    @Test func transfersShortOfStockAskAboutABackorder() async throws {
        try await withOdooSimulator { odoo in
            let picking = try #require(try odoo.call("stock.picking", "create", ["vals_list": [[
                "picking_type_id": 7, "location_id": 5, "location_dest_id": 37,
                "move_ids": [[0, 0, ["product_id": 59, "product_uom_qty": 100, "location_id": 5, "location_dest_id": 37]]],
            ]]]).first?.int)
            try odoo.call("stock.picking", "action_confirm", ids: [picking])
            #expect(odoo.record(model: "stock.picking", id: picking)?["state"] == "assigned")
            let answer = try odoo.call("stock.picking", "button_validate", ids: [picking])
            #expect(answer["res_model"] == "stock.backorder.confirmation")
            #expect(odoo.record(model: "stock.picking", id: picking)?["state"] == "assigned")
            #expect(odoo.onHand(productCode: "FURN_7111") == 20)
            try odoo.call("stock.picking", "action_cancel", ids: [picking])
            #expect(odoo.quants(productCode: "FURN_7111").first?.reserved == 0)

            // Validating a draft transfer confirms it and moves the stock at once.
            let direct = try #require(try odoo.call("stock.picking", "create", ["vals_list": [[
                "picking_type_id": 7, "location_id": 5, "location_dest_id": 37,
                "move_ids": [[0, 0, ["product_id": 31, "product_uom_qty": 1, "location_id": 5, "location_dest_id": 37]]],
            ]]]).first?.int)
            #expect(try odoo.call("stock.picking", "button_validate", ids: [direct]) == true)
            #expect(odoo.onHand(productCode: "FURN_0269", location: "WH/Quarantine") == 1)
        }
    }

    @Test func unitsAndDomainsBehaveLikeOdoo() async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            let units = try await client.call("uom.uom", "search_read", ["domain": [], "fields": ["name", "factor", "parent_path", "relative_uom_id"]])
            #expect(units.arrayValue?.map { $0["name"] } == ["Units", "g", "kg"])
            let all = try await client.call("uom.uom", "search_read", [
                "domain": [["name", "=", "Dozens"]], "fields": ["factor", "parent_path", "relative_uom_id", "rounding"], "context": ["active_test": false],
            ])
            #expect(all.first?["factor"]?.decimal == 12)
            #expect(all.first?["parent_path"] == "1/3/")
            #expect(all.first?["relative_uom_id"] == [1, "Units"])

            let products = try await client.call("product.product", "search_read", [
                "domain": ["|", ["default_code", "=like", "FURN_7%"], "!", ["tracking", "!=", "serial"]],
                "fields": ["default_code"], "order": "default_code desc",
            ])
            #expect(products.arrayValue?.map { $0["default_code"] } == ["FURN_8522", "FURN_7111", "FURN_7023"])
            let ilike = try await client.call("product.product", "search_count", ["domain": [["name", "ilike", "drawer"]]])
            #expect(ilike.int == 3)
            let limited = try await client.call("product.product", "search", ["domain": [["id", ">=", 59]], "limit": 2, "order": "id desc"])
            #expect(limited == [66, 65])
            let invalid = try await client.json2("product.product", "search_read", ["domain": [["nam", "=", 1]], "fields": ["name"]])
            #expect(invalid.status == 500)
            #expect(invalid.json?["message"] == "Invalid field product.product.nam in condition ('nam', '=', 1)")
        }
    }

    @Test func maintenanceRequestsAndActivities() async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            let equipment = try #require(try await client.call("maintenance.equipment", "create", ["vals_list": [["name": "CNC Mill 07", "serial_no": "MW-CNC-07", "category_id": false]]]).first)
            let request = try await client.call("maintenance.request", "create", ["vals_list": [[
                "name": "Spindle overload alarm E-217 [mw:evt-4711]", "equipment_id": equipment, "maintenance_type": "corrective", "priority": "2",
            ]]])
            let read = try await client.call("maintenance.request", "read", ["ids": request, "fields": ["equipment_id", "stage_id", "maintenance_team_id", "kanban_state", "user_id"]])
            #expect(read.first?["equipment_id"]?.many2oneName == "CNC Mill 07/MW-CNC-07")
            #expect(read.first?["stage_id"]?.many2oneName == "New Request")
            #expect(read.first?["maintenance_team_id"]?.many2oneName == "Internal Maintenance")
            #expect(read.first?["user_id"] == false)
            let found = try await client.call("maintenance.request", "search_read", [
                "domain": [["equipment_id.serial_no", "=", "MW-CNC-07"], ["name", "like", "[mw:evt-4711]"]], "fields": ["id"],
            ])
            #expect(found.arrayValue?.count == 1)
            let bad = try await client.json2("maintenance.request", "create", ["vals_list": [["name": "x", "equipment_id": 999999]]])
            #expect(bad.status == 422)
            #expect(bad.json?["name"] == "odoo.exceptions.ValidationError")

            let mo = try #require(try odoo.call("mrp.production", "create", ["vals_list": [["product_id": 62]]]).first)
            let model = try await client.call("ir.model", "search_read", ["domain": [["model", "=", "mrp.production"]], "fields": ["id"]])
            let activity = try await client.call("mail.activity", "create", ["vals_list": [[
                "res_model_id": model.first?["id"] ?? false, "res_id": mo, "activity_type_id": 4, "summary": "QUALITY HOLD MW-LOT-B", "user_id": 2,
            ]]])
            let order = try await client.call("mrp.production", "read", ["ids": [mo], "fields": ["activity_ids", "activity_state", "activity_summary"]])
            #expect(order.first?["activity_ids"] == activity)
            #expect(order.first?["activity_state"] == "today")
            #expect(order.first?["activity_summary"] == "QUALITY HOLD MW-LOT-B")
            let message = try await client.call("mail.activity", "action_feedback", ["ids": activity, "feedback": "released"])
            #expect(message.int != nil)
            #expect(odoo.records(model: "mail.activity").isEmpty)
        }
    }

    @Test func productsLoadWithExternalIDsAndRejectWholeBatches() async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            let fields: JSONValue = ["id", "name", "default_code", "is_storable", "uom_id/id", "tracking"]
            let rows: JSONValue = [["millwright.product_MW-P1", "MW Widget 1", "MW-P1", "1", "uom.product_uom_unit", "lot"],
                                   ["millwright.product_MW-P2", "MW Widget 2", "MW-P2", "1", "uom.product_uom_kgm", "none"]]
            let created = try await client.call("product.product", "load", ["fields": fields, "data": rows])
            #expect(created["messages"] == [])
            #expect(created["nextrow"] == 0)
            let ids = try #require(created["ids"]?.arrayValue)
            #expect(ids.count == 2)
            let again = try await client.call("product.product", "load", ["fields": fields, "data": rows])
            #expect(again["ids"]?.arrayValue == ids)
            let second = try #require(odoo.record(model: "product.product", id: ids[1].int ?? 0))
            #expect(second["uom_id"] == [16, "kg"])
            #expect(second["tracking"] == "none")

            let lookup = try await client.call("ir.model.data", "search_read", [
                "domain": [["module", "=", "millwright"], ["model", "=", "product.product"], ["name", "in", ["product_MW-P1", "product_NOPE"]]],
                "fields": ["name", "res_id"],
            ])
            #expect(lookup.arrayValue?.map { $0["name"] } == ["product_MW-P1"])

            let before = odoo.records(model: "product.product").count
            let mixed = try await client.call("product.product", "load", [
                "fields": ["id", "name", "default_code", "list_price"],
                "data": [["millwright.product_MW-P3", "Ok 3", "MW-P3", "1"], ["millwright.product_MW-P4", "Bad 4", "MW-P4", "x"]],
            ])
            #expect(mixed["ids"] == false)
            #expect(mixed["messages"]?.first == ["field": "list_price", "field_name": "Sales Price",
                                                  "message": "'x' does not seem to be a number for field 'Sales Price'",
                                                  "record": 1, "rows": ["from": 1, "to": 1], "type": "error"])
            #expect(odoo.records(model: "product.product").count == before)

            // An external id is unique per module.
            let duplicate = try await client.json2("ir.model.data", "create", ["vals_list": [[
                "module": "millwright", "name": "product_MW-P1", "model": "product.product", "res_id": 62,
            ]]])
            #expect(duplicate.status == 422)
            #expect(duplicate.json?["message"]?.stringValue?.contains("ir_model_data_module_name_uniq_index") == true)

            // Binding an existing product makes load update it instead of duplicating it.
            #expect(try await client.call("ir.model.data", "create", ["vals_list": [[
                "module": "millwright", "name": "product_FURN_7023", "model": "product.product", "res_id": 62, "noupdate": false,
            ]]]).arrayValue?.count == 1)
            let bound = try await client.call("product.product", "load", [
                "fields": ["id", "name", "default_code", "is_storable"], "data": [["millwright.product_FURN_7023", "Wood Panel", "FURN_7023", "1"]],
            ])
            #expect(bound["ids"] == [62])
        }
    }
}
