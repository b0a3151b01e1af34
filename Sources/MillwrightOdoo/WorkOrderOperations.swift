import Foundation
import MillwrightCore

/// A work order (`mrp.workorder`) of a production order, as the connector sees it.
struct WorkOrder: Sendable {
    var id: Int
    var name: String
    var state: String
    var workcenterID: Int
    var workcenter: String
    /// `qty_production`: the order's quantity.
    var quantity: Decimal
    var produced: Decimal
    var remaining: Decimal
    var durationExpected: Decimal

    static let fields = ["name", "state", "workcenter_id", "qty_production", "qty_produced", "qty_remaining", "duration_expected"]

    init(_ r: OdooRecord) {
        id = r.id
        name = r.string("name") ?? ""
        state = r.string("state") ?? "ready"
        workcenterID = r.many2one("workcenter_id") ?? 0
        workcenter = r.many2oneName("workcenter_id") ?? ""
        quantity = r.decimal("qty_production") ?? 0
        produced = r.decimal("qty_produced") ?? 0
        remaining = r.decimal("qty_remaining") ?? 0
        durationExpected = r.decimal("duration_expected") ?? 0
    }
}

extension OdooOperations {
    // MARK: - Operation completed

    /// Posts an operation report to the work order of the order's open chain member whose name is the
    /// operation's (`mrp.workorder.name`, copied from the BoM operation).
    ///
    /// - `quantity_good` (converted to the order's unit; without `uom`, in the order's unit; absent =
    ///   everything the work order has left) is
    ///   added to the work order's `qty_produced`. When that covers what is left, the work order is
    ///   finished (`button_finish`); otherwise it goes to `progress` with the quantity done so far, as
    ///   Odoo's own partial flow between operations does. A further report on a finished work order
    ///   changes no quantity: Odoo refuses to change a done work order's quantity.
    /// - `duration_minutes` becomes a time-tracking line (`mrp.workcenter.productivity`) ending at the
    ///   event's `time`, so the work order's real duration and cost are the plant's.
    /// - Every report is also a note on the order (operation, quantities, scrap, duration, operator,
    ///   event id): `quantity_scrap` has no place on a Community work order, and a scrap of the finished
    ///   product before it exists would take stock that is not there. Material scrapped goes with
    ///   `mfg.scrap.reported.v1` or a completion's `scrap`.
    /// - An order without work orders (its BoM has no operations) gets the note only.
    ///
    /// - Components are left as they were: when every work order has a quantity, Odoo sets the order's
    ///   `qty_producing` and picks components by the BoM, which would overwrite consumption the plant
    ///   reported (or be added to by the next report). The moves are put back as the plan found them.
    ///
    /// Plan (journaled under `key`): the order, the work order, the absolute `qty_produced` to write,
    /// whether to finish, the time line, the note, and the component moves as they were. Re-run: the quantity write is absolute, the time
    /// line and the note are found again by the event's marker, and a done work order is not finished
    /// again (its state is read, since `button_finish` on a done one answers `true` too).
    public func completeOperation(_ event: OperationCompleted, time: Date, key: String) async throws(OdooError) -> OperationResult {
        try await withFreshReferences { () async throws(OdooError) -> OperationResult in
            let (plan, _) = try await plan(key) { () async throws(OdooError) -> JSONValue in
                try await planOperation(event, time: time, key: key)
            }
            return try await applyOperation(plan, key: key)
        }
    }

    private func planOperation(_ event: OperationCompleted, time: Date, key: String) async throws(OdooError) -> JSONValue {
        let order = try await openOrder(event.order)
        let all = try await client.searchRead(
            "mrp.workorder", [.leaf("production_id", "=", .int(order.id))], fields: WorkOrder.fields, order: "id asc"
        ).map(WorkOrder.init)
        for (name, value) in [("quantity_good", event.quantityGood), ("quantity_scrap", event.quantityScrap), ("duration_minutes", event.durationMinutes)] {
            if let value, value < 0 { throw OdooError(.dataProblem, "\(name) must not be negative (got \(value))") }
        }
        var plan: [String: JSONValue] = [
            "order": .int(order.id), "name": .string(order.name), "operation": .string(event.operation),
        ]
        var lines = ["Operation \(event.operation) reported"]
        if all.isEmpty {
            lines[0] += " (\(order.name) has no work orders: its bill of materials has no operations)"
        } else {
            let workOrder = try await workOrder(for: event, among: all, order: order)
            plan["workorder"] = .int(workOrder.id)
            // The component moves as they are before the report: Odoo picks components by the BoM when
            // every work order has a quantity (and those linked to an operation when it finishes), which
            // would overwrite consumption the plant reported, or add to what it reports next.
            let moves = try await openComponentMoves(order.id, fields: ["quantity", "picked"])
            plan["moves"] = .array(moves.map { ["move": .int($0.id), "quantity": .decimal($0.decimal("quantity") ?? 0), "picked": .bool($0.bool("picked"))] })
            plan["workorder_name"] = .string(workOrder.name)
            var good: Decimal?
            if let quantity = event.quantityGood {
                // Without a uom the quantity is in the order's own unit.
                good = try await event.uom.asyncMap { (unit) async throws(OdooError) -> Decimal in try await self.quantity(quantity, unit, in: order.uomID) } ?? quantity
            }
            switch workOrder.state {
            case "done":
                // Odoo refuses to change the quantity of a done work order: the report is kept in the note.
                plan["finish"] = false
                lines[0] += " on \(workOrder.name), already finished in Odoo with \(workOrder.produced)"
            case "cancel":
                throw OdooError(.userError, "work order \(workOrder.name) of \(order.name) is cancelled in Odoo (Odoo cancels a backorder's work order when the operation was reported for the whole order before the split)")
            default:
                let added = good ?? workOrder.remaining
                let target = workOrder.produced + added
                let finish = added >= workOrder.remaining
                plan["produced"] = .decimal(target)
                plan["finish"] = .bool(finish)
                plan["start"] = .bool(!finish && (added > 0 || (event.durationMinutes ?? 0) > 0))
                lines[0] += " on \(workOrder.name) (\(workOrder.workcenter)): \(added) done, \(target) of \(workOrder.quantity) in all"
                    + (finish ? "; the work order is finished" : "")
            }
            if let minutes = event.durationMinutes, minutes > 0 {
                let end = time
                let start = end.addingTimeInterval(-NSDecimalNumber(decimal: minutes).doubleValue * 60)
                plan["line"] = [
                    "start": .string(OdooChangeCapture.odooTimestamp(start)), "end": .string(OdooChangeCapture.odooTimestamp(end)),
                    "workcenter": .int(workOrder.workcenterID), "loss": .int(try await productiveLoss()),
                ]
            }
        }
        var facts: [String] = []
        if let good = event.quantityGood { facts.append("\(good) good") }
        if let scrap = event.quantityScrap { facts.append("\(scrap) scrap") }
        if let unit = event.uom, !facts.isEmpty { facts[facts.count - 1] += " \(unit.rawValue)" }
        if let minutes = event.durationMinutes { facts.append("\(minutes) min") }
        if let workCenter = event.workCenter { facts.append("at \(workCenter.rawValue)") }
        if let person = event.operator { facts.append("by \(person)") }
        if !facts.isEmpty { lines.append(facts.joined(separator: ", ")) }
        lines.append("[\(Self.marker(key))]")
        plan["note"] = .string(lines.joined(separator: ". "))
        return .object(plan)
    }

    /// The work order named after the operation; `work_center` (code or name) picks among several and
    /// must be the one the work order is planned on.
    private func workOrder(for event: OperationCompleted, among all: [WorkOrder], order: ProductionOrder) async throws(OdooError) -> WorkOrder {
        var matching = all.filter { $0.name == event.operation }
        let names = all.map(\.name).joined(separator: ", ")
        guard !matching.isEmpty else {
            throw OdooError(.notFound, "\(order.name) has no work order for operation '\(event.operation)' (its work orders: \(names))")
        }
        if let reference = event.workCenter {
            let center = try await workCenter(reference)
            let planned = matching.filter { $0.workcenterID == center.id }
            guard !planned.isEmpty else {
                let places = matching.map(\.workcenter).joined(separator: ", ")
                throw OdooError(.dataProblem, "operation '\(event.operation)' of \(order.name) is planned on \(places), the event says \(reference.rawValue) (\(center.name)): change the work order's work center in Odoo, or fix the event")
            }
            matching = planned
        }
        guard matching.count == 1, let only = matching.first else {
            // Several work orders with one name: the first one not finished, as an operator would take it.
            if let open = matching.first(where: { $0.state != "done" && $0.state != "cancel" }) { return open }
            return matching[0]
        }
        return only
    }

    /// A work center by code (`mrp.workcenter.code`) or, when no code matches, by name.
    func workCenter(_ reference: WorkCenterReference) async throws(OdooError) -> (id: Int, name: String) {
        let key = "workcenter:" + reference.rawValue
        if let cached = await cache.get(key), let id = cached.int("id") {
            return (id, cached["name"]?.stringValue ?? reference.rawValue)
        }
        var found = try await client.searchRead("mrp.workcenter", [.leaf("code", "=", .string(reference.rawValue))], fields: ["name", "code"])
        if found.isEmpty {
            found = try await client.searchRead("mrp.workcenter", [.leaf("name", "=", .string(reference.rawValue))], fields: ["name", "code"])
        }
        guard let record = found.first else {
            throw OdooError(.notFound, "work center '\(reference.rawValue)' is not in Odoo (searched code and name)")
        }
        guard found.count == 1 else {
            throw OdooError(.dataProblem, "\(found.count) work centers in Odoo are called '\(reference.rawValue)': give them distinct codes")
        }
        let name = record.string("name") ?? reference.rawValue
        await cache.set(key, ["id": .int(record.id), "name": .string(name)])
        return (record.id, name)
    }

    /// The productivity loss of type `productive` that Odoo's own time tracking uses.
    private func productiveLoss() async throws(OdooError) -> Int {
        if case .number(let n)? = await cache.get("loss:productive"), let id = Int(n) { return id }
        let found = try await client.searchRead(
            "mrp.workcenter.productivity.loss", [.leaf("loss_type", "=", "productive")], fields: ["name"], limit: 1)
        guard let id = found.first?.id else {
            throw OdooError(.dataProblem, "Odoo has no productivity loss of type 'productive' (Manufacturing > Configuration > Productivity Losses): time cannot be recorded")
        }
        await cache.set("loss:productive", .int(id))
        return id
    }

    private func applyOperation(_ plan: JSONValue, key: String) async throws(OdooError) -> OperationResult {
        guard let orderID = plan.int("order"), let note = plan["note"]?.stringValue else {
            throw OdooError(.unexpectedAnswer, "the journaled plan for \(key) is unreadable: \(plan.canonicalText)")
        }
        let name = plan["name"]?.stringValue ?? "#\(orderID)"
        let marker = Self.marker(key)
        var changed = false
        var records = ["order": orderID]
        let operation = plan["operation"]?.stringValue ?? "?"
        var summary = "\(name): operation \(operation)"
        if let id = plan.int("workorder") {
            records["workorder"] = id
            guard let current = try await client.read("mrp.workorder", [id], fields: WorkOrder.fields).first.map(WorkOrder.init) else {
                throw OdooError(.missingRecord, "work order \(id) of \(name) was deleted in Odoo")
            }
            if current.state == "cancel" {
                throw OdooError(.userError, "work order \(current.name) of \(name) was cancelled in Odoo before the report could be posted")
            }
            let open = current.state != "done"
            if open, let target = plan.decimal("produced") {
                var vals: [String: JSONValue] = [:]
                if current.produced != target { vals["qty_produced"] = .decimal(target) }
                if plan["start"]?.boolValue == true, current.state == "ready" || current.state == "blocked" {
                    vals["state"] = "progress"
                }
                if !vals.isEmpty {
                    try await client.write("mrp.workorder", [id], vals)
                    changed = true
                }
            }
            if let line = plan["line"], let start = line["start"]?.stringValue, let end = line["end"]?.stringValue,
               let center = line.int("workcenter"), let loss = line.int("loss") {
                let existing = try await client.searchRead(
                    "mrp.workcenter.productivity",
                    [.leaf("workorder_id", "=", .int(id)), .leaf("description", "ilike", .string(marker))], fields: ["id"])
                if existing.isEmpty {
                    _ = try await client.create("mrp.workcenter.productivity", [[
                        "workorder_id": .int(id), "workcenter_id": .int(center), "loss_id": .int(loss),
                        "date_start": .string(start), "date_end": .string(end), "description": .string(note),
                    ]])
                    changed = true
                }
            }
            if open, plan["finish"]?.boolValue == true {
                _ = try await client.call("mrp.workorder", "button_finish", ids: [id])
                changed = true
            }
            try await restoreComponents(plan["moves"]?.arrayValue ?? [])
            let after = try await client.read("mrp.workorder", [id], fields: WorkOrder.fields).first.map(WorkOrder.init)
            if let after {
                summary = "\(name): work order \(after.name) (\(after.workcenter)) \(after.state), \(after.produced) of \(after.quantity) done"
                if plan["finish"]?.boolValue == true, after.state != "done" {
                    throw OdooError(.userError, "Odoo left work order \(after.name) of \(name) \(after.state) after button_finish")
                }
            }
        } else {
            summary += " noted on the order (it has no work orders)"
        }
        let notes = try await client.searchRead(
            "mail.message", [.leaf("model", "=", "mrp.production"), .leaf("res_id", "=", .int(orderID)), .leaf("body", "ilike", .string(marker))],
            fields: ["id"], limit: 1)
        if notes.isEmpty {
            _ = try await client.call("mrp.production", "message_post", ids: [orderID], [
                "body": .string(note), "message_type": "comment", "subtype_xmlid": "mail.mt_note",
            ])
            changed = true
        }
        return OperationResult(changed ? .applied : .alreadyApplied, summary, records: records)
    }

    /// Puts the component moves back as they were before the report, where Odoo changed them: an
    /// operation report records work, not material (that is `mfg.material.consumed.v1`'s and the
    /// completion's). Observed on Odoo 19: a recorded 3 became 2 when the last work order got a quantity.
    private func restoreComponents(_ snapshot: [JSONValue]) async throws(OdooError) {
        let ids = snapshot.compactMap { $0.int("move") }
        guard !ids.isEmpty else { return }
        let current = Dictionary(uniqueKeysWithValues: try await client.read("stock.move", ids, fields: ["quantity", "picked", "state"]).map { ($0.id, $0) })
        for entry in snapshot {
            guard let id = entry.int("move"), let quantity = entry.decimal("quantity"), let now = current[id],
                  now.string("state") != "done", now.string("state") != "cancel" else { continue }
            let picked = entry["picked"]?.boolValue ?? false
            if now.decimal("quantity") != quantity || now.bool("picked") != picked {
                try await client.write("stock.move", [id], ["quantity": .decimal(quantity), "picked": .bool(picked)])
            }
        }
    }
}
