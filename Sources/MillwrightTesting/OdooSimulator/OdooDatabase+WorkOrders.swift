import Foundation
import MillwrightCore

/// Work orders, as observed on Odoo 19 (docs/odoo-research.md §14): made at confirmation from the BoM's
/// operations; `qty_produced` written by the client; `button_finish`; finished by `button_mark_done`,
/// with the expected duration as time when none was tracked; carried into a backorder by
/// `_split_productions`' arithmetic (a backorder's work order is cancelled when the operation was done
/// for the whole order before the split).
extension OdooDatabase {
    /// One work order per operation of the order's BoM, in sequence order, `ready`.
    mutating func createWorkOrders(_ mo: Int) {
        guard idList("mrp.production", mo, "workorder_ids").isEmpty, let bom = int("mrp.production", mo, "bom_id") else { return }
        let operations = idList("mrp.bom", bom, "operation_ids")
            .sorted { (int("mrp.routing.workcenter", $0, "sequence") ?? 0, $0) < (int("mrp.routing.workcenter", $1, "sequence") ?? 0, $1) }
        let quantity = decimal("mrp.production", mo, "product_qty")
        for operation in operations {
            insertWorkOrder(mo, name: value("mrp.routing.workcenter", operation, "name"),
                            workcenter: value("mrp.routing.workcenter", operation, "workcenter_id"), operation: .int(operation),
                            expected: decimal("mrp.routing.workcenter", operation, "time_cycle") * quantity, carried: 0, state: "ready")
        }
    }

    @discardableResult
    mutating func insertWorkOrder(_ mo: Int, name: JSONValue, workcenter: JSONValue, operation: JSONValue, expected: Decimal, carried: Decimal, state: String) -> Int {
        insert("mrp.workorder", [
            "name": name, "production_id": .int(mo), "workcenter_id": workcenter, "operation_id": operation,
            "state": .string(state), "qty_produced": .number("0"), "qty_reported_from_previous_wo": .float(carried),
            "duration_expected": .float(expected), "date_start": false, "date_finished": false,
        ])
    }

    /// `qty_production − qty_reported_from_previous_wo − qty_produced`, not below zero.
    func workOrderRemaining(_ wo: Int) -> Decimal {
        guard let mo = int("mrp.workorder", wo, "production_id") else { return 0 }
        let left = decimal("mrp.production", mo, "product_qty") - decimal("mrp.workorder", wo, "qty_reported_from_previous_wo")
            - decimal("mrp.workorder", wo, "qty_produced")
        return max(left, 0)
    }

    /// Minutes of the work order's time lines (open lines count until now).
    func workOrderDuration(_ wo: Int) -> Decimal {
        idList("mrp.workorder", wo, "time_ids").reduce(Decimal(0)) { $0 + timeLineMinutes($1) }
    }

    func timeLineMinutes(_ line: Int) -> Decimal {
        guard let start = Self.date(string("mrp.workcenter.productivity", line, "date_start")) else { return 0 }
        let end = Self.date(string("mrp.workcenter.productivity", line, "date_end")) ?? Self.date(now) ?? start
        return (Decimal(end.timeIntervalSince(start)) / 60).rounded(2)
    }

    /// `button_finish`: open time lines closed; `qty_produced` kept when set, else the order's
    /// `qty_producing`, else its quantity; `done`. A done or cancelled work order is left as it is.
    mutating func finishWorkOrder(_ wo: Int) {
        guard let state = string("mrp.workorder", wo, "state"), state != "done", state != "cancel",
              let mo = int("mrp.workorder", wo, "production_id") else { return }
        for line in idList("mrp.workorder", wo, "time_ids") where string("mrp.workcenter.productivity", line, "date_end") == nil {
            update("mrp.workcenter.productivity", line, ["date_end": .string(now)])
        }
        var produced = decimal("mrp.workorder", wo, "qty_produced")
        if produced == 0 { produced = decimal("mrp.production", mo, "qty_producing") }
        if produced == 0 { produced = decimal("mrp.production", mo, "product_qty") }
        var values: OdooRecord = ["qty_produced": .float(produced), "state": "done", "date_finished": .string(now)]
        if string("mrp.workorder", wo, "date_start") == nil { values["date_start"] = .string(now) }
        update("mrp.workorder", wo, values)
    }

    /// What `_post_inventory` does to work orders: a finished one without tracked time gets its expected
    /// duration as a time line (through `duration`'s inverse).
    mutating func fillWorkOrderDurations(_ mo: Int) {
        for wo in idList("mrp.production", mo, "workorder_ids") where string("mrp.workorder", wo, "state") != "cancel" {
            let expected = decimal("mrp.workorder", wo, "duration_expected")
            guard workOrderDuration(wo) == 0, expected > 0, let end = Self.date(now) else { continue }
            let start = end.addingTimeInterval(-NSDecimalNumber(decimal: expected).doubleValue * 60)
            insert("mrp.workcenter.productivity", [
                "workorder_id": .int(wo), "workcenter_id": value("mrp.workorder", wo, "workcenter_id"),
                "loss_id": .int(Seed.productiveLoss), "description": .string("Time Tracking: \(displayName("res.users", Seed.adminUID))"),
                "user_id": .int(Seed.adminUID), "date_start": .string(OdooSimulatorCore.timestamp(start)), "date_end": .string(now),
            ])
        }
    }

    /// `_split_productions` for work orders: what each operation still had to do before the split
    /// (`initial quantity − carried − produced`) is what the backorder's work order does; the rest is
    /// carried (`qty_reported_from_previous_wo`), and a work order with nothing to do is cancelled.
    mutating func splitWorkOrders(from mo: Int, initialQuantity: Decimal, to backorder: Int) {
        let quantity = decimal("mrp.production", backorder, "product_qty")
        for wo in idList("mrp.production", mo, "workorder_ids").sorted() {
            let left = max(initialQuantity - decimal("mrp.workorder", wo, "qty_reported_from_previous_wo") - decimal("mrp.workorder", wo, "qty_produced"), 0)
            let operation = int("mrp.workorder", wo, "operation_id")
            let cycle = operation.map { decimal("mrp.routing.workcenter", $0, "time_cycle") } ?? 0
            insertWorkOrder(backorder, name: value("mrp.workorder", wo, "name"), workcenter: value("mrp.workorder", wo, "workcenter_id"),
                            operation: value("mrp.workorder", wo, "operation_id"), expected: cycle * quantity,
                            carried: max(quantity - left, 0), state: left == 0 ? "cancel" : "ready")
        }
    }

    /// After `qty_produced` is written: once every work order of the order has a quantity, the smallest
    /// becomes the order's `qty_producing` and the components are picked for it (`_set_qty_producing`).
    /// Observed on Odoo 19: a component move recorded at 3 became 2 when the last work order got 2.
    mutating func workOrderQuantityWritten(_ wo: Int) {
        guard let mo = int("mrp.workorder", wo, "production_id") else { return }
        let least = idList("mrp.production", mo, "workorder_ids").map { decimal("mrp.workorder", $0, "qty_produced") }.min() ?? 0
        guard least > 0, decimal("mrp.production", mo, "qty_producing") != least else { return }
        update("mrp.production", mo, ["qty_producing": .float(least)])
        setQuantityProducing(mo)
    }

    /// Odoo refuses to change the quantity of a finished work order.
    func checkWorkOrderWrite(_ wo: Int, _ values: OdooRecord) throws {
        guard let produced = values["qty_produced"] else { return }
        if ["done", "cancel"].contains(string("mrp.workorder", wo, "state") ?? "") {
            throw OdooFault.userError("You cannot change the quantity produced of a work order that is in done or cancel state.")
        }
        if let amount = produced.decimalValue, amount < 0 {
            throw OdooFault.userError("The quantity produced must be positive.")
        }
    }

    /// `message_post` as a note: the plain-text body escaped and wrapped in `<p>`; answers `[id]`.
    mutating func postMessage(model: String, ids: [Int], kwargs: [String: JSONValue]) -> JSONValue {
        let text = kwargs["body"]?.stringValue ?? ""
        let escaped = text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
        var posted: [Int] = []
        for id in ids {
            posted.append(insert("mail.message", [
                "body": .string("<p>\(escaped)</p>"), "model": .string(model), "res_id": .int(id),
                "message_type": kwargs["message_type"] ?? "notification",
            ]))
        }
        return .ids(posted)
    }

    static func date(_ text: String?) -> Date? {
        guard let text, text.count >= 19 else { return nil }
        return RFC3339.parse(text.prefix(19).replacingOccurrences(of: " ", with: "T") + "Z")
    }
}
