import Foundation
import MillwrightCore
import MillwrightTesting
import Testing

/// The production-order flows of docs/odoo-research.md §2–§3, over HTTP.
@Suite struct ProductionOrderTests {
    @Test func fullCompletionConsumesComponentsAndStocksTheProduct() async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            let product = try #require(odoo.productID(code: "FURN_7023"))
            let ids = try await client.call("mrp.production", "create", ["vals_list": [["product_id": .number("\(product)"), "product_qty": 2]]])
            let mo = try #require(ids.first?.int)
            #expect(try await client.call("mrp.production", "action_confirm", ["ids": [.number("\(mo)")]]) == true)

            let confirmed = try #require(try await client.call("mrp.production", "read", [
                "ids": [.number("\(mo)")], "fields": ["name", "state", "reservation_state", "move_raw_ids", "production_group_id"],
            ]).first)
            #expect(confirmed["name"] == "WH/MO/00001")
            #expect(confirmed["state"] == "confirmed")
            #expect(confirmed["reservation_state"] == "assigned")
            #expect(confirmed["production_group_id"]?.many2oneName == "WH/MO/00001")
            let rawMoves = try #require(confirmed["move_raw_ids"])

            let reserved = try await client.call("stock.move", "read", ["ids": rawMoves, "fields": ["product_id", "quantity", "picked", "state"]])
            #expect(reserved.arrayValue?.map { $0["quantity"]?.decimal } == [6, 2])
            #expect(reserved.arrayValue?.allSatisfy { $0["picked"] == false } == true)
            #expect(reserved.first?["product_id"]?.many2oneName == "[FURN_7111] Ply Layer")

            #expect(try await client.call("mrp.production", "write", ["ids": [.number("\(mo)")], "vals": ["qty_producing": 2]]) == true)
            #expect(try await client.call("mrp.production", "set_qty_producing", ["ids": [.number("\(mo)")]]) == .null)
            let picked = try await client.call("stock.move", "read", ["ids": rawMoves, "fields": ["quantity", "picked"]])
            #expect(picked.arrayValue?.allSatisfy { $0["picked"] == true } == true)

            #expect(try await client.call("mrp.production", "button_mark_done", ["ids": [.number("\(mo)")]]) == true)
            let done = try #require(odoo.record(model: "mrp.production", id: mo))
            #expect(done["state"] == "done")
            #expect(done["qty_produced"]?.decimal == 2)
            #expect(odoo.onHand(productCode: "FURN_7111") == 14)
            #expect(odoo.onHand(productCode: "FURN_8111") == 28)
            #expect(odoo.onHand(productCode: "FURN_7023") == 2)
            #expect(odoo.onHand(productCode: "FURN_7023", location: "Production") == -2)

            // A done order: skip_consumption answers true and changes nothing; action_cancel refuses.
            #expect(try await client.call("mrp.production", "button_mark_done", ["ids": [.number("\(mo)")], "context": ["skip_consumption": true]]) == true)
            #expect(odoo.onHand(productCode: "FURN_7023") == 2)
            let cancel = try await client.json2("mrp.production", "action_cancel", ["ids": [.number("\(mo)")]])
            #expect(cancel.status == 422)
            #expect(cancel.json?["name"] == "odoo.exceptions.UserError")
            // Writes on done orders are accepted (pitfall 4).
            #expect(try await client.call("mrp.production", "write", ["ids": [.number("\(mo)")], "vals": ["product_qty": 5]]) == true)
            #expect(odoo.record(model: "mrp.production", id: mo)?["product_qty"]?.decimal == 5)
        }
    }

    @Test func markDoneWithoutQuantityProducesEverything() async throws {
        try await withOdooSimulator { odoo in
            let mo = try #require(try odoo.call("mrp.production", "create", ["vals_list": [["product_id": 62, "product_qty": 2]]]).first?.int)
            try odoo.call("mrp.production", "action_confirm", ids: [mo])
            #expect(try odoo.call("mrp.production", "button_mark_done", ids: [mo]) == true)
            #expect(odoo.record(model: "mrp.production", id: mo)?["qty_produced"]?.decimal == 2)
            #expect(odoo.onHand(productCode: "FURN_7111") == 14)
        }
    }

    @Test func lotTrackedOrderWithoutLotGetsANewLot() async throws {
        try await withOdooSimulator { odoo in
            let mo = try #require(try odoo.call("mrp.production", "create", ["vals_list": [["product_id": 39, "product_qty": 1, "bom_id": 7]]]).first?.int)
            try odoo.call("mrp.production", "action_confirm", ids: [mo])
            #expect(try odoo.call("mrp.production", "write", ids: [mo], ["vals": ["qty_producing": 1]]) == true)
            #expect(odoo.record(model: "mrp.production", id: mo)?["state"] == "to_close")
            #expect(try odoo.call("mrp.production", "button_mark_done", ids: [mo], ["context": ["skip_consumption": true]]) == true)
            #expect(odoo.onHand(productCode: "FURN_8855", lot: "0000001") == 1)
        }
    }

    @Test func writeWithoutSetQtyProducingAsksAboutConsumptionAndSkippingItConsumesNothing() async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            let mo = try #require(try odoo.call("mrp.production", "create", ["vals_list": [["product_id": 62, "product_qty": 3]]]).first?.int)
            try odoo.call("mrp.production", "action_confirm", ids: [mo])
            try odoo.call("mrp.production", "write", ids: [mo], ["vals": ["qty_producing": 1]])
            let warning = try await client.call("mrp.production", "button_mark_done", ["ids": [.number("\(mo)")]])
            #expect(warning["res_model"] == "mrp.consumption.warning")
            let lines = try #require(warning["context"]?["default_mrp_consumption_warning_line_ids"]?.arrayValue)
            #expect(lines.count == 2)
            #expect(lines.first?.arrayValue?[2]["product_expected_qty_uom"]?.decimal == 3)
            #expect(lines.first?.arrayValue?[2]["product_consumed_qty_uom"]?.decimal == 0)

            // mo_ids_to_backorder alone still answers the wizard, with the caller's context merged in.
            let wizard = try await client.call("mrp.production", "button_mark_done", [
                "ids": [.number("\(mo)")], "context": ["skip_consumption": true, "mo_ids_to_backorder": [.number("\(mo)")]],
            ])
            #expect(wizard["res_model"] == "mrp.production.backorder")
            #expect(wizard["context"]?["skip_consumption"] == true)
            #expect(wizard["context"]?["default_mrp_production_ids"] == [.number("\(mo)")])

            // skip_backorder alone closes short: the unpicked component moves are cancelled.
            #expect(try await client.call("mrp.production", "button_mark_done", [
                "ids": [.number("\(mo)")], "context": ["skip_consumption": true, "skip_backorder": true],
            ]) == true)
            let order = try #require(odoo.record(model: "mrp.production", id: mo))
            #expect(order["state"] == "done")
            #expect(order["name"] == "WH/MO/00001")
            #expect(order["product_qty"]?.decimal == 3)
            #expect(order["qty_produced"]?.decimal == 1)
            let finished = try odoo.call("stock.move", "read", ids: order["move_finished_ids"]?.arrayValue?.compactMap { $0.int }, ["fields": ["product_uom_qty", "quantity", "state"]])
            #expect(finished.first?["product_uom_qty"]?.decimal == 3)
            #expect(finished.first?["quantity"]?.decimal == 1)
            #expect(odoo.onHand(productCode: "FURN_7111") == 20)
            let moves = try odoo.call("stock.move", "read", ids: order["move_raw_ids"]?.arrayValue?.compactMap(\.int), ["fields": ["state", "quantity"]])
            #expect(moves.arrayValue?.allSatisfy { $0["state"] == "cancel" } == true)
        }
    }

    @Test func partialCompletionRenamesTheOrderAndOpensNumberedBackorders() async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            let mo = try #require(try odoo.call("mrp.production", "create", ["vals_list": [["product_id": 62, "product_qty": 5]]]).first?.int)
            try odoo.call("mrp.production", "action_confirm", ids: [mo])
            try odoo.call("mrp.production", "write", ids: [mo], ["vals": ["qty_producing": 2]])
            try odoo.call("mrp.production", "set_qty_producing", ids: [mo])

            let plain = try await client.call("mrp.production", "button_mark_done", ["ids": [.number("\(mo)")]])
            #expect(plain["res_model"] == "mrp.production.backorder")
            #expect(plain["xml_id"] == "mrp.action_mrp_production_backorder")

            let context: JSONValue = ["skip_backorder": true, "mo_ids_to_backorder": [.number("\(mo)")], "skip_consumption": true]
            let answer = try await client.call("mrp.production", "button_mark_done", ["ids": [.number("\(mo)")], "context": context])
            #expect(answer["type"] == "ir.actions.act_window")
            #expect(answer["res_model"] == "mrp.production")
            #expect(answer["context"] == ["mo_ids_to_backorder": nil, "skip_backorder": false, "skip_consumption": false])
            let backorder = try #require(answer["res_id"]?.int)
            #expect(backorder != mo)

            let first = try #require(odoo.record(model: "mrp.production", id: mo))
            #expect(first["name"] == "WH/MO/00001-001")
            #expect(first["state"] == "done")
            #expect(first["product_qty"]?.decimal == 2)
            #expect(first["backorder_sequence"]?.int == 1)
            let second = try #require(odoo.record(model: "mrp.production", id: backorder))
            #expect(second["name"] == "WH/MO/00001-002")
            #expect(second["state"] == "confirmed")
            #expect(second["product_qty"]?.decimal == 3)
            #expect(second["backorder_sequence"]?.int == 2)
            #expect(second["reservation_state"] == "assigned")
            #expect(odoo.onHand(productCode: "FURN_7023") == 2)
            #expect(odoo.onHand(productCode: "FURN_7111") == 14)

            // The backorder's components are the rest of the plan.
            let backorderMoves = try odoo.call("stock.move", "read", ids: second["move_raw_ids"]?.arrayValue?.compactMap(\.int), ["fields": ["product_uom_qty"]])
            #expect(backorderMoves.arrayValue?.map { $0["product_uom_qty"]?.decimal } == [9, 3])
            let firstMoves = try odoo.call("stock.move", "read", ids: first["move_raw_ids"]?.arrayValue?.compactMap { $0.int }, ["fields": ["product_uom_qty", "quantity", "state"]])
            #expect(firstMoves.arrayValue?.map { $0["product_uom_qty"]?.decimal } == [6, 2])
            #expect(firstMoves.arrayValue?.allSatisfy { $0["state"] == "done" } == true)
            let backorderFinished = try odoo.call("stock.move", "read", ids: second["move_finished_ids"]?.arrayValue?.compactMap { $0.int }, ["fields": ["quantity", "state"]])
            #expect(backorderFinished.first?["state"] == "assigned")
            #expect(backorderFinished.first?["quantity"]?.decimal == 3)

            // A further partial on -002 gives -003; the group keeps the original name.
            try odoo.call("mrp.production", "write", ids: [backorder], ["vals": ["qty_producing": 1]])
            try odoo.call("mrp.production", "set_qty_producing", ids: [backorder])
            let third = try #require(try odoo.call("mrp.production", "button_mark_done", ids: [backorder], [
                "context": ["skip_backorder": true, "mo_ids_to_backorder": [.number("\(backorder)")]],
            ])["res_id"]?.int)
            let chain = try await client.call("mrp.production", "search_read", [
                "domain": [["production_group_id.name", "=", "WH/MO/00001"]],
                "fields": ["name", "state", "product_qty", "backorder_sequence"], "order": "backorder_sequence",
            ])
            #expect(chain.arrayValue?.map { $0["name"] } == ["WH/MO/00001-001", "WH/MO/00001-002", "WH/MO/00001-003"])
            #expect(chain.arrayValue?.map { $0["state"] } == ["done", "done", "confirmed"])
            #expect(odoo.record(model: "mrp.production", id: third)?["product_qty"]?.decimal == 2)

            // The research's chain query by name also works.
            let byName = try await client.call("mrp.production", "search_read", [
                "domain": ["|", ["name", "=", "WH/MO/00001"], ["name", "=like", "WH/MO/00001-%"]], "fields": ["name"],
            ])
            #expect(byName.arrayValue?.count == 3)

            // A second partial on a done order is refused and rolled back.
            let again = try await client.json2("mrp.production", "button_mark_done", ["ids": [.number("\(mo)")], "context": context])
            #expect(again.status == 422)
            #expect(again.json?["name"] == "odoo.exceptions.ValidationError")
            #expect(again.json?["message"] == "The operation cannot be completed: The quantity to produce must be positive!")
        }
    }

    @Test func backorderWizardRouteEndsLikeTheContextRoute() async throws {
        try await withOdooSimulator { odoo in
            let mo = try #require(try odoo.call("mrp.production", "create", ["vals_list": [["product_id": 62, "product_qty": 4]]]).first?.int)
            try odoo.call("mrp.production", "action_confirm", ids: [mo])
            try odoo.call("mrp.production", "write", ids: [mo], ["vals": ["qty_producing": 1]])
            try odoo.call("mrp.production", "set_qty_producing", ids: [mo])
            let action = try odoo.call("mrp.production", "button_mark_done", ids: [mo])
            let context = try #require(action["context"])
            let wizard = try #require(try odoo.call("mrp.production.backorder", "create", ["vals_list": [[:]], "context": context]).first?.int)
            let answer = try odoo.call("mrp.production.backorder", "action_backorder", ids: [wizard], ["context": context])
            #expect(answer["res_model"] == "mrp.production")
            #expect(odoo.record(model: "mrp.production", id: mo)?["name"] == "WH/MO/00001-001")
            #expect(odoo.record(model: "mrp.production", id: answer["res_id"]?.int ?? 0)?["name"] == "WH/MO/00001-002")
        }
    }

    @Test func actualConsumptionWrittenOnMovesIsKept() async throws {
        try await withOdooSimulator { odoo in
            let mo = try #require(try odoo.call("mrp.production", "create", ["vals_list": [["product_id": 62, "product_qty": 2]]]).first?.int)
            try odoo.call("mrp.production", "action_confirm", ids: [mo])
            try odoo.call("mrp.production", "write", ids: [mo], ["vals": ["qty_producing": 2]])
            let moves = try #require(odoo.record(model: "mrp.production", id: mo)?["move_raw_ids"]?.arrayValue?.compactMap { $0.int })
            try odoo.call("stock.move", "write", ids: [moves[0]], ["vals": ["quantity": 7, "picked": true]])
            try odoo.call("stock.move", "write", ids: [moves[1]], ["vals": ["quantity": 2, "picked": true]])
            let warning = try odoo.call("mrp.production", "button_mark_done", ids: [mo])
            #expect(warning["res_model"] == "mrp.consumption.warning")
            #expect(try odoo.call("mrp.production", "button_mark_done", ids: [mo], ["context": ["skip_consumption": true]]) == true)
            #expect(odoo.onHand(productCode: "FURN_7111") == 13)
            #expect(odoo.onHand(productCode: "FURN_8111") == 28)
        }
    }

    @Test func serialTrackedOrdersNeedSerialsAndRefuseDuplicates() async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            let tableTop = try #require(odoo.productID(code: "FURN_8522"))
            let mo = try #require(try odoo.call("mrp.production", "create", ["vals_list": [["product_id": .number("\(tableTop)"), "product_qty": 3]]]).first?.int)
            try odoo.call("mrp.production", "action_confirm", ids: [mo])
            let assign = try await client.call("mrp.production", "button_mark_done", ["ids": [.number("\(mo)")], "context": ["skip_consumption": true]])
            #expect(assign["name"] == "Assign Serial Numbers")
            #expect(assign["context"] == ["default_production_id": .number("\(mo)")])

            let lots = try await client.call("stock.lot", "create", ["vals_list": [
                ["name": "SN-1", "product_id": .number("\(tableTop)")], ["name": "SN-2", "product_id": .number("\(tableTop)")],
            ]])
            try odoo.call("mrp.production", "write", ids: [mo], ["vals": ["lot_producing_ids": [[6, 0, lots]], "qty_producing": 2]])
            try odoo.call("mrp.production", "set_qty_producing", ids: [mo])
            let answer = try odoo.call("mrp.production", "button_mark_done", ids: [mo], [
                "context": ["skip_backorder": true, "mo_ids_to_backorder": [.number("\(mo)")]],
            ])
            let backorder = try #require(answer["res_id"]?.int)
            #expect(odoo.onHand(productCode: "FURN_8522", lot: "SN-1") == 1)
            #expect(odoo.onHand(productCode: "FURN_8522", lot: "SN-2") == 1)
            #expect(odoo.onHand(productCode: "FURN_8522", location: "Production", lot: "SN-1") == -1)

            // The order of a lot.
            let byLot = try await client.call("mrp.production", "search_read", [
                "domain": [["lot_producing_ids", "in", [lots.first ?? 0]]], "fields": ["name"],
            ])
            #expect(byLot.arrayValue?.map { $0["name"] } == ["WH/MO/00001-001"])

            // The same serial again on the backorder: 422, and the earlier write stays (the order, producing
            // all of its quantity, reads `progress`: the Table Top's BoM has an operation, and with work
            // orders Odoo 19 reads `to_close` only once they are all finished, observed on WH/MO/00941).
            try odoo.call("mrp.production", "write", ids: [backorder], ["vals": ["lot_producing_ids": [[6, 0, [lots.first ?? 0]]], "qty_producing": 1]])
            let duplicate = try await client.json2("mrp.production", "button_mark_done", ["ids": [.number("\(backorder)")]])
            #expect(duplicate.status == 422)
            #expect(duplicate.json?["name"] == "odoo.exceptions.UserError")
            #expect(duplicate.json?["message"] == "Serial number(s) for product Table Top already produced")
            #expect(odoo.record(model: "mrp.production", id: backorder)?["state"] == "progress")
        }
    }

    @Test func serialNumbersWizardSetsTheSerials() async throws {
        try await withOdooSimulator { odoo in
            let mo = try #require(try odoo.call("mrp.production", "create", ["vals_list": [["product_id": 55, "product_qty": 2]]]).first?.int)
            try odoo.call("mrp.production", "action_confirm", ids: [mo])
            let wizard = try #require(try odoo.call("mrp.production.serials", "create", ["vals_list": [[
                "production_id": .number("\(mo)"), "serial_numbers": "SN-A\nSN-B",
            ]]]).first?.int)
            #expect(try odoo.call("mrp.production.serials", "action_apply", ids: [wizard]) == ["type": "ir.actions.act_window_close"])
            #expect(odoo.record(model: "mrp.production", id: mo)?["qty_producing"]?.decimal == 2)
            #expect(try odoo.call("mrp.production", "button_mark_done", ids: [mo]) == true)
            #expect(odoo.onHand(productCode: "FURN_8522", lot: "SN-B") == 1)
        }
    }

    @Test func lotTrackedProductAndComponentLots() async throws {
        try await withOdooSimulator { odoo in
            let client = SimulatorClient(odoo)
            let drawer = try #require(odoo.productID(code: "FURN_8855"))
            let lot = try #require(try await client.call("stock.lot", "create", ["vals_list": [["name": "MW-LOT-A", "product_id": .number("\(drawer)")]]]).first?.int)
            let duplicate = try await client.json2("stock.lot", "create", ["vals_list": [["name": "MW-LOT-A", "product_id": .number("\(drawer)")]]])
            #expect(duplicate.status == 422)
            #expect(duplicate.json?["name"] == "odoo.exceptions.ValidationError")
            #expect(duplicate.json?["message"]?.stringValue?.hasSuffix("Product: [FURN_8855] Drawer, Lot/Serial Number: MW-LOT-A") == true)

            let mo = try #require(try odoo.call("mrp.production", "create", ["vals_list": [["product_id": .number("\(drawer)"), "product_qty": 2, "bom_id": 7]]]).first?.int)
            try odoo.call("mrp.production", "action_confirm", ids: [mo])
            // The reservation took the component lots FIFO; consume a given lot by writing it on the line.
            let moves = try #require(odoo.record(model: "mrp.production", id: mo)?["move_raw_ids"]?.arrayValue?.compactMap { $0.int })
            let line = try #require(try odoo.call("stock.move", "read", ids: [moves[0]], ["fields": ["move_line_ids"]]).first?["move_line_ids"]?.first?.int)
            let reservedLot = try odoo.call("stock.move.line", "read", ids: [line], ["fields": ["lot_id", "quantity"]]).first
            #expect(reservedLot?["lot_id"]?.many2oneName == "0000000010001")
            #expect(reservedLot?["quantity"]?.decimal == 2)

            try odoo.call("mrp.production", "write", ids: [mo], ["vals": ["qty_producing": 2, "lot_producing_ids": [[6, 0, [.number("\(lot)")]]]]])
            try odoo.call("mrp.production", "set_qty_producing", ids: [mo])
            #expect(try odoo.call("mrp.production", "button_mark_done", ids: [mo]) == true)
            #expect(odoo.onHand(productCode: "FURN_8855", lot: "MW-LOT-A") == 2)
            #expect(odoo.onHand(productCode: "FURN_2100", lot: "0000000010001") == 48)

            let onHand = try await client.call("product.product", "read", [
                "ids": [.number("\(drawer)")], "fields": ["qty_available", "free_qty"], "context": ["location": 5, "lot_id": .number("\(lot)")],
            ])
            #expect(onHand.first?["qty_available"]?.decimal == 2)
            #expect(onHand.first?["free_qty"]?.decimal == 2)
        }
    }
}

extension ProductionOrderTests {
    @Test func pickingTypeSetToAlwaysBackorderMakesPlainMarkDoneSplit() async throws {
        try await withOdooSimulator { odoo in
            try odoo.call("stock.picking.type", "write", ids: [8], ["vals": ["create_backorder": "always"]])
            let mo = try #require(try odoo.call("mrp.production", "create", ["vals_list": [["product_id": 62, "product_qty": 2]]]).first?.int)
            try odoo.call("mrp.production", "action_confirm", ids: [mo])
            try odoo.call("mrp.production", "write", ids: [mo], ["vals": ["qty_producing": 1]])
            try odoo.call("mrp.production", "set_qty_producing", ids: [mo])
            let answer = try odoo.call("mrp.production", "button_mark_done", ids: [mo])
            #expect(answer["context"] == ["marked_as_done": true, "mo_ids_to_backorder": nil, "skip_backorder": false])
            #expect(odoo.record(model: "mrp.production", id: answer["res_id"]?.int ?? 0)?["name"] == "WH/MO/00001-002")
        }
    }

    @Test func componentMoveLinesCanBeDeletedToReleaseReservations() async throws {
        try await withOdooSimulator { odoo in
            let mo = try #require(try odoo.call("mrp.production", "create", ["vals_list": [["product_id": 62, "product_qty": 2]]]).first?.int)
            try odoo.call("mrp.production", "action_confirm", ids: [mo])
            let move = try #require(odoo.record(model: "mrp.production", id: mo)?["move_raw_ids"]?.first?.int)
            let line = try #require(odoo.record(model: "stock.move", id: move)?["move_line_ids"]?.first?.int)
            #expect(odoo.quants(productCode: "FURN_7111").first?.reserved == 6)
            try odoo.call("stock.move", "write", ids: [move], ["vals": ["move_line_ids": [[2, .number("\(line)"), 0]]]])
            #expect(odoo.quants(productCode: "FURN_7111").first?.reserved == 0)
            #expect(odoo.record(model: "stock.move", id: move)?["quantity"]?.decimal == 0)
            // stock.move/action_assign is private in Odoo 19 (404); the order's action_assign re-reserves.
            #expect(throws: OdooSimulatorCallError.self) { try odoo.call("stock.move", "action_assign", ids: [move]) }
            try odoo.call("mrp.production", "action_assign", ids: [mo])
            #expect(odoo.quants(productCode: "FURN_7111").first?.reserved == 6)
        }
    }
}
