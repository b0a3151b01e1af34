import Foundation
import MillwrightCore

/// The operation journal kept in Millwright's store (`operation_journal` table), so a plan survives a
/// crash of Millwright, not just of one call.
public struct StoreOperationJournal: OperationJournal {
    let store: any DeliveryStore

    public init(store: any DeliveryStore) { self.store = store }

    public func plan(for key: String) async throws -> JSONValue? {
        guard let text = try await store.journalPlan(key: key) else { return nil }
        return try JSONParser(maxDepth: 512).parse(text)
    }

    public func record(_ plan: JSONValue, for key: String) async throws {
        try await store.recordJournalPlan(key: key, plan: plan.canonicalText, at: Date())
    }
}

/// Odoo as a flow sink: each operation takes one canonical event type. The event's `(source, id)` is
/// the operation's idempotency key, so a redelivery or a replay changes Odoo once.
public struct OdooSink: Sink {
    public let name = "odoo"
    let operationsProvider: @Sendable () async throws(OdooError) -> OdooOperations
    /// Equipment whose downtime opens a maintenance request (`downtime.maintenance`); empty = all.
    public var criticalEquipment: Set<String>

    /// `operations` is called for each delivery; it may connect lazily (and throw a retryable error
    /// while Odoo is down).
    /// The clock for `effective_from` (an engineering change waits until it is effective).
    let now: @Sendable () -> Date

    public init(
        criticalEquipment: Set<String> = [], now: @escaping @Sendable () -> Date = { Date() },
        operations: @escaping @Sendable () async throws(OdooError) -> OdooOperations
    ) {
        self.operationsProvider = operations
        self.criticalEquipment = criticalEquipment
        self.now = now
    }

    public static let operationTypes: [String: String] = [
        "product.upsert": ProductUpserted.eventType,
        "bom.release": EngineeringChangeReleased.eventType,
        "lot.upsert": LotCreated.eventType,
        "production.complete": ProductionCompleted.eventType,
        "material.consume": MaterialConsumed.eventType,
        "scrap": ScrapReported.eventType,
        "inventory.count": InventoryCounted.eventType,
        "stock.move": StockMoved.eventType,
        "quality.hold": QualityHoldPlaced.eventType,
        "quality.release": QualityHoldReleased.eventType,
        "maintenance.request": MaintenanceRequested.eventType,
        "downtime.maintenance": EquipmentDowntimeStarted.eventType,
        "operation.complete": OperationCompleted.eventType,
    ]

    public var operations: Set<String> { Self.operationNames }
    public static var operationNames: Set<String> { Set(operationTypes.keys) }

    public func deliver(_ event: StoredEvent, operation: String) async -> SinkOutcome {
        guard let expected = Self.operationTypes[operation] else {
            return .permanent(code: "MW-FLOW-0005", message: "the odoo sink has no operation '\(operation)'")
        }
        guard event.type == expected else {
            return .permanent(code: "MW-FLOW-0006", message: "odoo operation '\(operation)' takes \(expected), not \(event.type)")
        }
        let data: JSONValue
        let envelopeTime: String?
        do {
            let envelope = try JSONParser(maxDepth: 512).parse(event.envelope)
            data = envelope["data"] ?? .null
            envelopeTime = envelope["time"]?.stringValue
        } catch {
            return .permanent(code: "MW-FLOW-0001", message: "the stored envelope does not parse: \(error)")
        }
        let key = "\(event.source)/\(event.id)"
        if operation == "bom.release", let wait = Self.untilEffective(data, now: now()) {
            return .transient(code: "MW-ODOO-0018", message: "the change is effective from \(data["effective_from"]?.stringValue ?? "later"): it waits until then", retryAfter: wait)
        }
        do throws(OdooError) {
            let ops = try await operationsProvider()
            // When the plant says it happened (the envelope's `time`), else when Millwright received it.
            let time = envelopeTime.flatMap(RFC3339.parse) ?? event.receivedAt
            let result = try await run(operation, data: data, key: key, time: time, ops: ops)
            return result.effect == .applied ? .applied(result.summary) : .alreadyApplied(result.summary)
        } catch {
            if error.retryable {
                return .transient(code: error.code, message: error.message, retryAfter: error.retryAfter.map(TimeInterval.init))
            }
            return .permanent(code: error.code, message: error.message)
        }
    }

    /// Product upserts of a micro-batch go to Odoo together: one `upsertProducts` (a `create` per 300 new
    /// products) instead of five calls per product. Other operations go one by one.
    public func deliverBatch(_ events: [StoredEvent], operation: String) async -> [SinkOutcome] {
        guard operation == "product.upsert", events.count > 1 else {
            var outcomes: [SinkOutcome] = []
            for event in events { outcomes.append(await deliver(event, operation: operation)) }
            return outcomes
        }
        var decoded: [Int: ProductUpserted] = [:]
        var outcomes = [SinkOutcome](repeating: .permanent(code: "MW-FLOW-0006", message: "not a product upsert"), count: events.count)
        for (index, event) in events.enumerated() where event.type == ProductUpserted.eventType {
            do {
                let data = try JSONParser(maxDepth: 512).parse(event.envelope)["data"] ?? .null
                decoded[index] = try decode(ProductUpserted.self, data)
            } catch let error as OdooError {
                outcomes[index] = .permanent(code: error.code, message: error.message)
            } catch {
                outcomes[index] = .permanent(code: "MW-FLOW-0001", message: "the stored envelope does not parse: \(error)")
            }
        }
        do throws(OdooError) {
            let ops = try await operationsProvider()
            // Later events win for the same product (the batch is in log order).
            let results = try await ops.upsertProducts(decoded.sorted { $0.key < $1.key }.map(\.value))
            for (index, product) in decoded {
                switch results[product.product] {
                case .success(let id)?: outcomes[index] = .applied("product \(product.product.rawValue) is Odoo product \(id) (batch of \(decoded.count))")
                case .failure(let error)?:
                    outcomes[index] = error.retryable
                        ? .transient(code: error.code, message: error.message, retryAfter: error.retryAfter.map(TimeInterval.init))
                        : .permanent(code: error.code, message: error.message)
                case nil: outcomes[index] = .transient(code: "MW-ODOO-0014", message: "no result for product \(product.product.rawValue)", retryAfter: nil)
                }
            }
        } catch {
            for index in decoded.keys {
                outcomes[index] = error.retryable
                    ? .transient(code: error.code, message: error.message, retryAfter: error.retryAfter.map(TimeInterval.init))
                    : .permanent(code: error.code, message: error.message)
            }
        }
        return outcomes
    }

    func decode<T: CanonicalEventData>(_ type: T.Type, _ data: JSONValue) throws(OdooError) -> T {
        do { return try CanonicalCoding.decode(T.self, from: data) } catch {
            throw OdooError(.dataProblem, "the event's data does not decode as \(T.eventType): \(error)")
        }
    }

    /// Seconds until an engineering change's `effective_from`, if that is still ahead.
    static func untilEffective(_ data: JSONValue, now: Date) -> TimeInterval? {
        guard let text = data["effective_from"]?.stringValue else { return nil }
        let date = RFC3339.parse(text) ?? RFC3339.parse(text + "T00:00:00Z")
        guard let date, date > now else { return nil }
        return date.timeIntervalSince(now)
    }

    func run(_ operation: String, data: JSONValue, key: String, time: Date, ops: OdooOperations) async throws(OdooError) -> OperationResult {
        switch operation {
        case "bom.release":
            return try await ops.releaseEngineeringChange(try decode(EngineeringChangeReleased.self, data))
        case "product.upsert":
            let event = try decode(ProductUpserted.self, data)
            let results = try await ops.upsertProducts([event])
            switch results[event.product] {
            case .success(let id)?: return OperationResult(.applied, "product \(event.product.rawValue) is Odoo product \(id)", records: ["product": id])
            case .failure(let error)?: throw error
            case nil: throw OdooError(.unexpectedAnswer, "no result for product \(event.product.rawValue)")
            }
        case "lot.upsert":
            let event = try decode(LotCreated.self, data)
            let ids = try await ops.upsertLots([(event.lot, event.product)])
            return OperationResult(.applied, "lot \(event.lot.rawValue) of \(event.product.rawValue) is Odoo lot \(ids[event.lot] ?? 0)", records: ["lot": ids[event.lot] ?? 0])
        case "production.complete": return try await ops.postCompletion(try decode(ProductionCompleted.self, data), key: key)
        case "operation.complete": return try await ops.completeOperation(try decode(OperationCompleted.self, data), time: time, key: key)
        case "material.consume": return try await ops.recordConsumption(try decode(MaterialConsumed.self, data), key: key)
        case "scrap": return try await ops.scrap(try decode(ScrapReported.self, data), key: key)
        case "inventory.count": return try await ops.countInventory(try decode(InventoryCounted.self, data), key: key)
        case "stock.move": return try await ops.moveStock(try decode(StockMoved.self, data), key: key)
        case "quality.hold": return try await ops.placeQualityHold(try decode(QualityHoldPlaced.self, data), key: key)
        case "quality.release": return try await ops.releaseQualityHold(try decode(QualityHoldReleased.self, data), key: key)
        case "maintenance.request": return try await ops.requestMaintenance(try decode(MaintenanceRequested.self, data), key: key)
        case "downtime.maintenance":
            let downtime = try decode(EquipmentDowntimeStarted.self, data)
            guard criticalEquipment.isEmpty || criticalEquipment.contains(downtime.equipment.rawValue) else {
                return OperationResult(.alreadyApplied, "\(downtime.equipment.rawValue) is not critical equipment: no maintenance request")
            }
            var request: [String: JSONValue] = [
                "equipment": .string(downtime.equipment.rawValue),
                "title": .string("Downtime \(downtime.reasonCode.map { "(\($0)) " } ?? "")since \(downtime.startedAt)"),
                "kind": "corrective", "priority": 2,
            ]
            if let order = downtime.order { request["order"] = .string(order.rawValue) }
            return try await ops.requestMaintenance(try decode(MaintenanceRequested.self, .object(request)), key: key)
        default:
            throw OdooError(.badRequest, "unknown operation \(operation)")
        }
    }
}

/// Connects to Odoo on first use and keeps the connection; a failed connect is retried by the next
/// delivery (it surfaces as a retryable error while Odoo is down).
public actor LazyOdooOperations {
    let client: LazyOdooClient
    let journal: any OperationJournal
    let configure: @Sendable (OdooClient, any OperationJournal) -> OdooOperations
    var operations: OdooOperations?

    public init(settings: OdooSettings, journal: any OperationJournal, configure: @escaping @Sendable (OdooClient, any OperationJournal) -> OdooOperations) {
        self.init(client: LazyOdooClient(settings: settings), journal: journal, configure: configure)
    }

    /// Shares one client (one throttle) with other users of the same Odoo, such as change capture.
    public init(client: LazyOdooClient, journal: any OperationJournal, configure: @escaping @Sendable (OdooClient, any OperationJournal) -> OdooOperations) {
        self.client = client
        self.journal = journal
        self.configure = configure
    }

    public func get() async throws(OdooError) -> OdooOperations {
        if let operations { return operations }
        let client = try await client.get()
        let made = configure(client, journal)
        operations = made
        return made
    }
}

/// `enrich` steps read Odoo through the sink's connection: `search_read` on the model with one `=` leaf
/// per matched field, at most two records (one is the answer, two are ambiguous).
extension OdooSink: RecordReader {
    public func readRecords(model: String, where conditions: [String: JSONValue], fields: [String]) async throws(StepError) -> [[String: JSONValue]] {
        do throws(OdooError) {
            let operations = try await operationsProvider()
            let domain = conditions.sorted { $0.key < $1.key }.map { JSONValue.leaf($0.key, "=", $0.value) }
            return try await operations.client.searchRead(model, domain, fields: fields, order: "id", limit: 2).map(\.fields)
        } catch {
            throw StepError("reading \(model) from Odoo: \(error.code) \(error.message)", transient: error.retryable)
        }
    }
}

/// One Odoo client, connected on first use and kept; a failed connect is tried again by the next caller.
public actor LazyOdooClient {
    let settings: OdooSettings
    var client: OdooClient?

    public init(settings: OdooSettings) { self.settings = settings }

    public func get() async throws(OdooError) -> OdooClient {
        if let client { return client }
        let made = try await OdooClient.connect(settings)
        client = made
        return made
    }
}
