import Foundation
import MillwrightCore

/// A production order as the connector sees it.
public struct ProductionOrder: Sendable, Hashable {
    public var id: Int
    public var name: String
    /// The name the plant knows: the production group's, i.e. the order's name before any backorder split.
    public var groupName: String
    public var state: String
    public var product: String
    public var productID: Int
    public var quantity: Decimal
    public var quantityProduced: Decimal
    public var uomID: Int
    public var backorderSequence: Int
    public var writeDate: String

    static let fields = [
        "name", "state", "product_id", "product_qty", "qty_produced", "product_uom_id", "backorder_sequence",
        "production_group_id", "write_date",
    ]

    init(_ r: OdooRecord) {
        id = r.id
        name = r.string("name") ?? "#\(r.id)"
        groupName = r.many2oneName("production_group_id") ?? name
        state = r.string("state") ?? "draft"
        product = r.many2oneName("product_id") ?? ""
        productID = r.many2one("product_id") ?? 0
        quantity = r.decimal("product_qty") ?? 0
        quantityProduced = r.decimal("qty_produced") ?? 0
        uomID = r.many2one("product_uom_id") ?? 1
        backorderSequence = r.int("backorder_sequence") ?? 0
        writeDate = r.string("write_date") ?? ""
    }

    public var isOpen: Bool { state != "done" && state != "cancel" }
}

struct ConsumptionLine: Sendable {
    var product: ProductReference
    var quantity: Decimal
    var uom: UnitCode
    var lot: LotReference?
}

public struct OrderQuery: Sendable {
    /// The plant's name: matches the order and every backorder split from it (`WH/MO/00018`, `-001`, `-002`).
    public var name: OrderReference?
    public var states: [String]?
    /// Orders changed at or after this UTC time (`YYYY-MM-DD HH:MM:SS`, Odoo's `write_date`).
    public var changedSince: String?
    public var limit: Int?

    public init(name: OrderReference? = nil, states: [String]? = nil, changedSince: String? = nil, limit: Int? = nil) {
        self.name = name
        self.states = states
        self.changedSince = changedSince
        self.limit = limit
    }
}

extension OdooOperations {
    /// Orders by plant name, state or change time, oldest change first.
    public func findOrders(_ query: OrderQuery) async throws(OdooError) -> [ProductionOrder] {
        var domain: [JSONValue] = []
        if let name = query.name {
            domain += [.string("|"), .leaf("production_group_id.name", "=", .string(name.rawValue)), .leaf("name", "=", .string(name.rawValue))]
        }
        if let states = query.states { domain.append(.leaf("state", "in", .strings(states))) }
        if let since = query.changedSince { domain.append(.leaf("write_date", ">=", .string(since))) }
        return try await client.searchRead(
            "mrp.production", domain, fields: ProductionOrder.fields, order: "write_date asc, id asc", limit: query.limit
        ).map(ProductionOrder.init)
    }

    /// The order of a plant name that is still open: the newest backorder of the chain.
    func openOrder(_ name: OrderReference) async throws(OdooError) -> ProductionOrder {
        let chain = try await findOrders(OrderQuery(name: name))
        guard !chain.isEmpty else {
            throw OdooError(.notFound, "production order '\(name.rawValue)' is not in Odoo")
        }
        guard let open = chain.filter(\.isOpen).max(by: { $0.backorderSequence < $1.backorderSequence }) else {
            let names = chain.map { "\($0.name) (\($0.state))" }.joined(separator: ", ")
            throw OdooError(.userError, "production order '\(name.rawValue)' has nothing open in Odoo: \(names)")
        }
        return open
    }

    /// Confirms the order (draft → confirmed, components reserved). Confirmed or later: nothing to do.
    public func confirmOrder(_ name: OrderReference) async throws(OdooError) -> OperationResult {
        let order = try await openOrder(name)
        guard order.state == "draft" else {
            return OperationResult(.alreadyApplied, "\(order.name) is already \(order.state)", records: ["order": order.id])
        }
        _ = try await client.call("mrp.production", "action_confirm", ids: [order.id])
        let after = try await client.read("mrp.production", [order.id], fields: ["state"])
        let state = after.first?.string("state") ?? "?"
        guard state != "draft" else { throw OdooError(.userError, "Odoo left \(order.name) in draft after action_confirm") }
        return OperationResult(.applied, "\(order.name) confirmed (\(state))", records: ["order": order.id])
    }

    // MARK: - Completion

    /// Posts a production completion: the quantity produced (in the event's unit, converted to the order's),
    /// its lots or serial numbers (created when missing), actual component consumption when given, and
    /// scrap. `final == true` closes the order; otherwise a quantity short of the order leaves a backorder.
    ///
    /// Plan (journaled under `key` before the first write): the open order's id, the quantity in the
    /// order's unit, the lot ids, the component quantities per move. Re-run: read that id; done → nothing
    /// to do; otherwise apply the plan again (every write is absolute) and mark done.
    public func postCompletion(_ event: ProductionCompleted, key: String) async throws(OdooError) -> OperationResult {
        try await withFreshReferences { () async throws(OdooError) -> OperationResult in
            let (plan, _) = try await plan(key) { () async throws(OdooError) -> JSONValue in try await planCompletion(event) }
            return try await applyCompletion(plan, event: event, key: key)
        }
    }

    private func planCompletion(_ event: ProductionCompleted) async throws(OdooError) -> JSONValue {
        let order = try await openOrder(event.order)
        let quantity = try await quantity(event.quantity, event.uom, in: order.uomID)
        guard quantity > 0 else { throw OdooError(.dataProblem, "the produced quantity must be positive (got \(event.quantity) \(event.uom))") }
        let product = try await productByID(order.productID)
        if let expected = event.product, expected.rawValue != product.code, !product.code.isEmpty {
            throw OdooError(.dataProblem, "order \(order.name) makes '\(product.code)', the event says '\(expected.rawValue)'")
        }
        var lotIDs: [Int] = []
        let lotNames = (event.lots ?? []).map(\.lot.rawValue)
        switch product.tracking {
        case "serial":
            guard lotNames.count == NSDecimalNumber(decimal: quantity).intValue, Decimal(lotNames.count) == quantity else {
                throw OdooError(.dataProblem, "\(product.code) is tracked by serial numbers: \(quantity) produced needs \(quantity) serials, the event names \(lotNames.count)")
            }
            let ids = try await lots(lotNames, product: product, create: true)
            lotIDs = lotNames.compactMap { ids[$0] }
        case "lot":
            guard lotNames.count == 1 else {
                throw OdooError(.dataProblem, "\(product.code) is tracked by lots: Odoo takes exactly one lot per completion, the event names \(lotNames.count)")
            }
            lotIDs = Array(try await lots(lotNames, product: product, create: true).values)
        default:
            if !lotNames.isEmpty {
                throw OdooError(.dataProblem, "\(product.code) is not tracked in Odoo, but the event names lots \(lotNames)")
            }
        }
        var plan: [String: JSONValue] = [
            "order": .int(order.id), "name": .string(order.name), "quantity": .decimal(quantity),
            "lots": .ints(lotIDs), "close": .bool(event.final == true),
            "backorder": .bool(event.final != true && quantity < order.quantity),
        ]
        if let consumed = event.consumed, !consumed.isEmpty {
            plan["moves"] = try await planConsumption(order: order, lines: consumed.map { ConsumptionLine(product: $0.product, quantity: $0.quantity, uom: $0.uom, lot: $0.lot) }, replace: true)
        } else {
            // Consumption recorded earlier (picked moves) is what gets posted: set_qty_producing would
            // reset it to the BoM's quantities, so it is kept in the plan and written back afterwards.
            let picked = try await openComponentMoves(order.id, fields: ["quantity", "picked"]).filter { $0.bool("picked") }
            if !picked.isEmpty {
                plan["moves"] = .array(picked.map { .object(["move": .int($0.id), "quantity": .decimal($0.decimal("quantity") ?? 0)]) })
            }
        }
        return .object(plan)
    }

    func productByID(_ id: Int) async throws(OdooError) -> ProductInfo {
        let found = try await client.read("product.product", [id], fields: Self.productFields, context: ["active_test": false])
        guard let r = found.first else { throw OdooError(.missingRecord, "product id \(id) is gone from Odoo") }
        return ProductInfo(id: id, code: r.string("default_code") ?? "", name: r.string("name") ?? "", uomID: r.many2one("uom_id") ?? 1, tracking: r.string("tracking") ?? "none")
    }

    /// The order's component moves that are neither done nor cancelled, with `fields` (and `state`).
    func openComponentMoves(_ orderID: Int, fields: [String]) async throws(OdooError) -> [OdooRecord] {
        let moveIDs = try await client.read("mrp.production", [orderID], fields: ["move_raw_ids"]).first?.ids("move_raw_ids") ?? []
        return try await client.read("stock.move", moveIDs, fields: fields + ["state"])
            .filter { $0.string("state") != "done" && $0.string("state") != "cancel" }
    }

    /// Absolute quantities for the order's component moves: `[{"move": id, "quantity": q, "lot": id?}]`.
    /// `replace`: the lines are the whole consumption (a completion); otherwise they add to what is picked.
    func planConsumption(order: ProductionOrder, lines: [ConsumptionLine], replace: Bool) async throws(OdooError) -> JSONValue {
        let moves = try await openComponentMoves(order.id, fields: ["product_id", "product_uom", "quantity", "picked"])
        var planned: [JSONValue] = []
        for line in lines {
            let product = try await product(line.product)
            guard let move = moves.first(where: { $0.many2one("product_id") == product.id }) else {
                throw OdooError(.dataProblem, "order \(order.name) has no open component move for '\(line.product.rawValue)': add it to the order in Odoo or fix the event")
            }
            let amount = try await quantity(line.quantity, line.uom, in: move.many2one("product_uom") ?? product.uomID)
            let base = (replace || !move.bool("picked")) ? Decimal(0) : (move.decimal("quantity") ?? 0)
            var entry: [String: JSONValue] = ["move": .int(move.id), "quantity": .decimal(base + amount)]
            if let lot = line.lot {
                let ids = try await lots([lot.rawValue], product: product, create: false)
                if let id = ids[lot.rawValue] { entry["lot"] = .int(id) }
            }
            planned.append(.object(entry))
        }
        return .array(planned)
    }

    /// Writes planned component quantities: `quantity` + `picked` on the move; with a lot, the lot on the
    /// move's first line and the other lines deleted (`[2, id]` releases their reservation; never `[5]`).
    func applyConsumption(_ moves: [JSONValue]) async throws(OdooError) {
        for entry in moves {
            guard let move = entry.int("move"), let quantity = entry.decimal("quantity") else { continue }
            if let lot = entry.int("lot") {
                let lines = try await client.read("stock.move", [move], fields: ["move_line_ids"]).first?.ids("move_line_ids") ?? []
                if let first = lines.first {
                    try await client.write("stock.move.line", [first], ["lot_id": .int(lot), "quantity": .decimal(quantity), "picked": true])
                    let extra = lines.dropFirst().map { JSONValue.array([.int(2), .int($0), .int(0)]) }
                    if !extra.isEmpty { try await client.write("stock.move", [move], ["move_line_ids": .array(extra)]) }
                    try await client.write("stock.move", [move], ["picked": true])
                    continue
                }
            }
            try await client.write("stock.move", [move], ["quantity": .decimal(quantity), "picked": true])
        }
    }

    private func applyCompletion(_ plan: JSONValue, event: ProductionCompleted, key: String) async throws(OdooError) -> OperationResult {
        guard let id = plan.int("order"), let quantity = plan.decimal("quantity") else {
            throw OdooError(.unexpectedAnswer, "the journaled plan for \(key) is unreadable: \(plan.canonicalText)")
        }
        let name = plan["name"]?.stringValue ?? "#\(id)"
        let current = try await client.read("mrp.production", [id], fields: ProductionOrder.fields)
        guard let before = current.first.map(ProductionOrder.init) else {
            throw OdooError(.missingRecord, "production order \(name) (id \(id)) was deleted in Odoo")
        }
        if before.state == "done" {
            return try await completionResult(.alreadyApplied, order: before, plan: plan)
        }
        guard before.state != "cancel" else {
            throw OdooError(.userError, "production order \(before.name) was cancelled in Odoo before the completion could be posted")
        }
        if before.state == "draft" {
            _ = try await client.call("mrp.production", "action_confirm", ids: [id])
        }
        var vals: [String: JSONValue] = ["qty_producing": .decimal(quantity)]
        let lots = plan["lots"]?.arrayValue ?? []
        if !lots.isEmpty { vals["lot_producing_ids"] = [[6, 0, .array(lots)]] }
        try await client.write("mrp.production", [id], vals)
        _ = try await client.call("mrp.production", "set_qty_producing", ids: [id])
        let moves = plan["moves"]?.arrayValue ?? []
        try await applyConsumption(moves)
        for (index, scrap) in (event.scrap ?? []).enumerated() {
            _ = try await scrapProduct(
                product: scrap.product, quantity: scrap.quantity, uom: scrap.uom, location: nil, lot: nil, orderID: id,
                reason: scrap.reason, key: "\(key)/scrap/\(index)")
        }
        var context: [String: JSONValue] = [:]
        if !moves.isEmpty { context["skip_consumption"] = true }
        if plan["backorder"]?.boolValue == true {
            context["skip_backorder"] = true
            context["mo_ids_to_backorder"] = .ints([id])
        } else if plan["close"]?.boolValue == true {
            context["skip_backorder"] = true
        }
        let answer = try await client.call("mrp.production", "button_mark_done", ids: [id], context: context)
        let after = try await client.read("mrp.production", [id], fields: ProductionOrder.fields).first.map(ProductionOrder.init)
        guard let after, after.state == "done" else {
            if let action = OdooAction(answer), action.resModel != "mrp.production" {
                throw OdooError(.needsDecision, "Odoo wants a decision before \(name) can be done: \(action.name ?? action.resModel ?? "a wizard") (\(action.resModel ?? "?")); the order is left as it is")
            }
            throw OdooError(.userError, "\(name) is \(after?.state ?? "gone") after button_mark_done (Odoo answered \(answer.canonicalText.prefix(200)))")
        }
        return try await completionResult(.applied, order: after, plan: plan)
    }

    private func completionResult(_ effect: OperationResult.Effect, order: ProductionOrder, plan: JSONValue) async throws(OdooError) -> OperationResult {
        var records = ["order": order.id]
        var summary = "\(order.name) done with \(order.quantityProduced) produced"
        if plan["backorder"]?.boolValue == true {
            let chain = try await findOrders(OrderQuery(name: OrderReference(rawValue: order.groupName)))
            if let next = chain.filter({ $0.isOpen && $0.backorderSequence > order.backorderSequence }).min(by: { $0.backorderSequence < $1.backorderSequence }) {
                records["backorder"] = next.id
                summary += "; backorder \(next.name) for \(next.quantity)"
            }
        }
        return OperationResult(effect, summary, records: records)
    }

    // MARK: - Consumption

    /// Records material consumed against an order's component move. In Odoo 17+ nothing is posted
    /// before the order (or its partial) is marked done: the quantity is written on the move, picked, and
    /// posted with the next completion. The new absolute quantity is journaled before it is written.
    public func recordConsumption(_ event: MaterialConsumed, key: String) async throws(OdooError) -> OperationResult {
        try await withFreshReferences { () async throws(OdooError) -> OperationResult in
            let (plan, resumed) = try await plan(key) { () async throws(OdooError) -> JSONValue in
                let order = try await openOrder(event.order)
                let line = ConsumptionLine(product: event.product, quantity: event.quantity, uom: event.uom, lot: event.lot)
                return ["order": .int(order.id), "name": .string(order.name), "moves": try await planConsumption(order: order, lines: [line], replace: false)]
            }
            let moves = plan["moves"]?.arrayValue ?? []
            guard let moveID = moves.first?.int("move"), let target = moves.first?.decimal("quantity") else {
                throw OdooError(.unexpectedAnswer, "the journaled plan for \(key) is unreadable: \(plan.canonicalText)")
            }
            let name = plan["name"]?.stringValue ?? ""
            let move = try await client.read("stock.move", [moveID], fields: ["quantity", "picked", "state"]).first
            if resumed, let move, move.bool("picked"), move.decimal("quantity") == target {
                return OperationResult(.alreadyApplied, "\(name): component move \(moveID) already at \(target)", records: ["move": moveID])
            }
            guard move?.string("state") != "done", move?.string("state") != "cancel" else {
                throw OdooError(.userError, "the component move \(moveID) of \(name) is \(move?.string("state") ?? "gone"): the order was completed before this consumption arrived")
            }
            try await applyConsumption(moves)
            return OperationResult(.applied, "\(name): \(event.product.rawValue) consumed, move \(moveID) now \(target)", records: ["move": moveID])
        }
    }
}
