import Foundation
import Logging
import MillwrightCore

/// How change capture reads Odoo.
public struct ChangeCaptureSettings: Sendable {
    /// The `source` of every event change capture emits. Flows that send events *to* Odoo skip it, so a
    /// change read from Odoo never goes back to Odoo.
    public var source: String = "odoo/change-capture"
    /// How far before the watermark each poll starts again. Odoo's `write_date` is the time its
    /// transaction *started* (and JSON-2 gives it to the second), so a long transaction can commit a
    /// record older than the watermark; the overlap catches it.
    public var overlap: TimeInterval = 60
    /// Records per `search_read` of a poll.
    public var pageSize: Int = 200
    /// UN/ECE codes to Odoo unit names (the same table the operations use), read backwards.
    public var unitNames: [String: [String]] = OdooUnits.standardNames

    public init() {}
}

/// What one capture run did.
public struct CaptureResult: Sendable, Hashable {
    /// Records read from Odoo.
    public var records: Int = 0
    /// Canonical events handed to the event log (new ones and ones already there).
    public var emitted: Int = 0
    /// Records that could not become events (no product code, unknown unit), with the reason.
    public var skipped: [String] = []

    public init() {}
}

/// Hands canonical envelopes to Millwright's event log, in order. Events already in the log (same
/// `(source, id)`) are accepted and change nothing.
public typealias CaptureEmitter = @Sendable (_ envelopes: [JSONValue]) async throws -> Void

/// Odoo → plant change capture: turns changed production orders and products into canonical events.
///
/// Two paths reach it. An Odoo `base_automation` webhook (a signal, `mw.odoo.record_changed.v1`) makes
/// it read that one record (``recordChanged(model:id:)``); a poll (``poll()``) reads every record whose
/// `write_date` is at or after the watermark minus the overlap, so a lost webhook or a stopped Millwright
/// loses nothing. Either way the record is read from Odoo, never taken from the webhook, and compared
/// with what was last emitted for it (``ChangeCaptureStore``), so each change is emitted once whichever
/// path sees it first. One group or product is processed by one path at a time, and a copy read before
/// another path captured a newer one is not used (no state goes backwards).
///
/// Production orders are followed as the plant knows them: by production group (`WH/MO/00018`, which a
/// partial completion splits into `-001` and `-002`), whose state is its open order's (the transition
/// table is in docs/odoo.md):
///
/// | Odoo `state` of the open order | canonical state | emitted |
/// |---|---|---|
/// | `draft` | — | nothing |
/// | `confirmed` | `released` | `released` (first time, with components), then `status_changed` |
/// | `progress`, `to_close` | `in_progress` | `released` if not yet, `status_changed` when the canonical state changes |
/// | `done` | `completed` | as above |
/// | `cancel` | `cancelled` | `status_changed` only if `released` was emitted |
///
/// Products (`product.product` with a `default_code`): `mfg.product.upserted.v1` whenever the canonical
/// payload differs from the one last emitted.
public actor OdooChangeCapture {
    public static let orderModel = "mrp.production"
    public static let productModel = "product.product"
    public static let models = [orderModel, productModel]

    /// Where what was emitted for a production order is remembered: its production group (the plant's
    /// order, which a partial completion splits into `-001`, `-002`, …), or the order when it has none.
    public static let groupModel = "mrp.production.group"

    static let orderFields = [
        "name", "state", "product_id", "product_qty", "product_uom_id", "date_start", "date_finished", "move_raw_ids", "workorder_ids", "write_date",
        "production_group_id", "backorder_sequence",
    ]
    static let productFields = ["default_code", "name", "uom_id", "type", "tracking", "barcode", "categ_id", "write_date"]

    let client: @Sendable () async throws(OdooError) -> OdooClient
    let store: any ChangeCaptureStore
    let emit: CaptureEmitter
    public let settings: ChangeCaptureSettings
    let logger: Logger
    /// Records being processed, and who waits for each: one record is never processed twice at once,
    /// while different records (a webhook's and a poll's) proceed side by side.
    var busy: [String: [CheckedContinuation<Void, Never>]] = [:]
    var polling = false
    var pollWaiters: [CheckedContinuation<Void, Never>] = []

    /// - Parameters:
    ///   - client: the Odoo client; called for each run, it may connect lazily and throw while Odoo is down.
    ///   - store: watermarks and what was emitted per record.
    ///   - emit: appends the canonical events to the log.
    public init(client: @escaping @Sendable () async throws(OdooError) -> OdooClient, store: any ChangeCaptureStore,
                settings: ChangeCaptureSettings = ChangeCaptureSettings(), emit: @escaping CaptureEmitter, logger: Logger) {
        self.client = client
        self.store = store
        self.settings = settings
        self.emit = emit
        self.logger = logger
    }

    // MARK: Entry points

    /// The webhook path: reads one record and emits what changed. A model that is not captured does nothing.
    public func recordChanged(model: String, id: Int) async throws -> CaptureResult {
        var result = CaptureResult()
        guard Self.models.contains(model) else { return result }
        let odoo = try await client()
        let fields = model == Self.orderModel ? Self.orderFields : Self.productFields
        // Deleted since the webhook was sent: nothing the plant can be told about it.
        let records = try await Self.readIfExists(odoo, model, id, fields: fields)
        for record in records { try await process(record, model: model, odoo: odoo, into: &result) }
        return result
    }

    static func readIfExists(_ odoo: OdooClient, _ model: String, _ id: Int, fields: [String]) async throws(OdooError) -> [OdooRecord] {
        do {
            return try await odoo.read(model, [id], fields: fields, context: ["active_test": false])
        } catch {
            if error.kind == .missingRecord { return [] }
            throw error
        }
    }

    /// The poll path: every order and product changed since the watermark (minus the overlap), paged by
    /// `(write_date, id)`, then the watermark moves to the highest `write_date` seen.
    public func poll() async throws -> CaptureResult {
        await enterPoll()
        defer { leavePoll() }
        var result = CaptureResult()
        let odoo = try await client()
        for model in Self.models {
            try await poll(model, odoo: odoo, into: &result)
        }
        return result
    }

    func poll(_ model: String, odoo: OdooClient, into result: inout CaptureResult) async throws {
        let fields = model == Self.orderModel ? Self.orderFields : Self.productFields
        var watermark = try await store.captureWatermark(model: model)
        if watermark == nil {
            // First run: start from Odoo's newest change (Odoo's clock, not ours), less the overlap.
            let newest = try await odoo.searchRead(model, [], fields: ["write_date"], order: "write_date desc, id desc", limit: 1, context: ["active_test": false])
            watermark = newest.first?.string("write_date") ?? "1970-01-01 00:00:00"
        }
        guard let mark = watermark else { return }
        let since = Self.odooTimestamp(Self.date(fromOdoo: mark).map { $0.addingTimeInterval(-settings.overlap) } ?? Date(timeIntervalSince1970: 0))
        var highest = mark
        var after: (date: String, id: Int)?
        while true {
            var domain: [JSONValue] = [.leaf("write_date", ">=", .string(since))]
            if let after {
                domain += ["|", .leaf("write_date", ">", .string(after.date)), "&", .leaf("write_date", "=", .string(after.date)), .leaf("id", ">", .int(after.id))]
            }
            let page = try await odoo.searchRead(model, domain, fields: fields, order: "write_date asc, id asc", limit: settings.pageSize, context: ["active_test": false])
            for record in page {
                try await process(record, model: model, odoo: odoo, into: &result)
                if let date = record.string("write_date"), date > highest { highest = date }
            }
            guard page.count == settings.pageSize, let last = page.last, let date = last.string("write_date") else { break }
            after = (date, last.id)
        }
        try await store.setCaptureWatermark(model: model, writeDate: highest)
    }

    // MARK: One record

    func process(_ record: OdooRecord, model: String, odoo: OdooClient, into result: inout CaptureResult) async throws {
        result.records += 1
        let key = model == Self.orderModel
            ? record.many2one("production_group_id").map { "\(Self.groupModel)/\($0)" } ?? "\(model)/\(record.id)"
            : "\(model)/\(record.id)"
        await enter(key)
        defer { leave(key) }
        let changes: ([JSONValue], CapturedRecord?)
        do {
            changes = try await changesOf(record, model: model, odoo: odoo)
        } catch let error as OdooError where error.kind == .dataProblem {
            logger.warning("change capture skipped a record", metadata: ["mw.odoo.model": "\(model)", "mw.odoo.id": "\(record.id)", "mw.reason": "\(error.message)"])
            result.skipped.append("\(model) \(record.id): \(error.message)")
            return
        }
        // Emitted before it is remembered: a crash in between emits again, with the same ids, and the
        // log takes them as duplicates.
        if !changes.0.isEmpty {
            try await emit(changes.0)
            result.emitted += changes.0.count
        }
        if let captured = changes.1 {
            try await store.recordCaptured(captured)
        }
    }

    /// The events a record's current state calls for, and what to remember (nil: nothing new).
    func changesOf(_ fetched: OdooRecord, model: String, odoo: OdooClient) async throws -> ([JSONValue], CapturedRecord?) {
        if model == Self.orderModel { return try await orderChanges(fetched, odoo: odoo) }
        let previous = try await store.capturedRecord(model: model, recordID: fetched.id)
        var record = fetched
        if let previous, let date = fetched.string("write_date") {
            // Read before another path captured a newer version of it: never go back to an older state.
            if previous.writeDate > date { return ([], nil) }
            // Same second (JSON-2 gives write_date to the second) and it would emit: read it again, to be
            // sure it is the current version and not one older than what was captured.
            if previous.writeDate == date, try !productChanges(record, previous: previous).0.isEmpty {
                guard let fresh = try await Self.readIfExists(odoo, model, fetched.id, fields: Self.productFields).first else { return ([], nil) }
                record = fresh
            }
        }
        let result = try productChanges(record, previous: previous)
        return result.1 == previous ? (result.0, nil) : result
    }

    /// The state of the plant's order: the production group of `fetched`, read again now (inside this
    /// record's turn, so never an older copy). Its state is the open order's (the last backorder not done
    /// or cancelled); with none open, `done` if any is done, else `cancel`.
    func orderChanges(_ fetched: OdooRecord, odoo: OdooClient) async throws -> ([JSONValue], CapturedRecord?) {
        let group = fetched.many2one("production_group_id")
        let keyModel = group == nil ? Self.orderModel : Self.groupModel
        let keyID = group ?? fetched.id
        let previous = try await store.capturedRecord(model: keyModel, recordID: keyID)
        // Nothing new (a poll's overlap sees most records again): older than the group's last capture,
        // or of the same second and in the state already emitted. The same second alone is not enough:
        // JSON-2 gives write_date to the second, and a member whose state changes makes the group read.
        if let previous, let date = fetched.string("write_date") {
            if date < previous.writeDate { return ([], nil) }
            if date == previous.writeDate, let native = fetched.string("state"), Self.canonicalState(native)?.rawValue == previous.state {
                return ([], nil)
            }
        }
        let members: [OdooRecord]
        if let group {
            members = try await odoo.searchRead(
                Self.orderModel, [.leaf("production_group_id", "=", .int(group))], fields: Self.orderFields,
                order: "backorder_sequence asc, id asc", context: ["active_test": false])
        } else {
            members = try await Self.readIfExists(odoo, Self.orderModel, fetched.id, fields: Self.orderFields)
        }
        guard let first = members.first else { return ([], nil) }
        let open = members.last { !["done", "cancel"].contains($0.string("state") ?? "") }
        let native = open?.string("state") ?? (members.contains { $0.string("state") == "done" } ? "done" : "cancel")
        let current = open ?? members.last ?? first
        let name = fetched.many2oneName("production_group_id") ?? first.string("name") ?? ""
        guard !name.isEmpty else { throw OdooError(.dataProblem, "the order has no name") }
        let writeDate = members.compactMap { $0.string("write_date") }.max() ?? ""
        guard let state = Self.canonicalState(native) else { return ([], nil) }
        var next = previous ?? CapturedRecord(model: keyModel, recordID: keyID, writeDate: writeDate)
        next.writeDate = writeDate
        var events: [JSONValue] = []
        if state == .cancelled && !next.released {
            next.state = state.rawValue  // never released to the plant: nothing to tell it
            return ([], next == previous ? nil : next)
        }
        if !next.released {
            events.append(try await releasedEvent(current, name: name, id: "\(keyModel)/\(keyID)/released", odoo: odoo))
            next.released = true
        }
        if next.state != state.rawValue {
            var data: [String: JSONValue] = ["order": .string(name), "state": .string(state.rawValue), "native_state": .string(native)]
            if let record = current.string("name"), record != name { data["reason"] = .string("Odoo order \(record)") }
            events.append(envelope(
                id: "\(keyModel)/\(keyID)/\(state.rawValue)/\(Self.compact(writeDate))", type: ProductionOrderStatusChanged.eventType,
                subject: "production-order/\(name)", key: name, writeDate: writeDate, data: .object(data)))
            next.state = state.rawValue
        }
        return (events, next == previous ? nil : next)
    }

    /// The canonical state of an Odoo `mrp.production.state`; `nil` for `draft` (not released yet).
    public static func canonicalState(_ native: String) -> OrderState? {
        switch native {
        case "confirmed": .released
        case "progress", "to_close": .inProgress
        case "done": .completed
        case "cancel": .cancelled
        default: nil
        }
    }

    func releasedEvent(_ r: OdooRecord, name: String, id: String, odoo: OdooClient) async throws(OdooError) -> JSONValue {
        let moves = try await odoo.read("stock.move", r.ids("move_raw_ids"), fields: ["product_id", "product_uom_qty", "product_uom"])
        let productIDs = Array(Set(([r.many2one("product_id")] + moves.map { $0.many2one("product_id") }).compactMap { $0 })).sorted()
        let products = try await odoo.read(Self.productModel, productIDs, fields: ["default_code"], context: ["active_test": false])
        let codes = Dictionary(products.compactMap { p in p.string("default_code").flatMap { $0.isEmpty ? nil : (p.id, $0) } }, uniquingKeysWith: { a, _ in a })
        var components: [JSONValue] = []
        for move in moves {
            components.append([
                "product": .string(try Self.code(move.many2one("product_id"), in: codes, order: name)),
                "quantity": .number((move.decimal("product_uom_qty") ?? 0).description),
                "uom": .string(try unitCode(move.many2oneName("product_uom"))),
            ])
        }
        var data: [String: JSONValue] = [
            "order": .string(name), "product": .string(try Self.code(r.many2one("product_id"), in: codes, order: name)),
            "quantity": .number((r.decimal("product_qty") ?? 0).description), "uom": .string(try unitCode(r.many2oneName("product_uom_id"))),
            "components": .array(components),
        ]
        let workOrders = try await odoo.read("mrp.workorder", r.ids("workorder_ids"), fields: ["name", "workcenter_id", "duration_expected"])
        if !workOrders.isEmpty {
            // The work center as the plant names it: its code, else its name (Odoo's demo has no codes).
            let centerIDs = Array(Set(workOrders.compactMap { $0.many2one("workcenter_id") })).sorted()
            let centers = try await odoo.read("mrp.workcenter", centerIDs, fields: ["code", "name"])
            var reference: [Int: String] = [:]
            for c in centers { reference[c.id] = c.string("code").flatMap { $0.isEmpty ? nil : $0 } ?? c.string("name") }
            var operations: [JSONValue] = []
            for wo in workOrders.sorted(by: { $0.id < $1.id }) {
                var op: [String: JSONValue] = ["operation": .string(wo.string("name") ?? "")]
                if let center = wo.many2one("workcenter_id").flatMap({ reference[$0] }) { op["work_center"] = .string(center) }
                if let minutes = wo.decimal("duration_expected") { op["duration_expected_minutes"] = .number(minutes.description) }
                operations.append(.object(op))
            }
            data["operations"] = .array(operations)
            if let first = operations.first?["work_center"] { data["work_center"] = first }
        }
        if let start = r.string("date_start") { data["scheduled_start"] = .string(Self.rfc3339(start)) }
        if let end = r.string("date_finished") { data["scheduled_end"] = .string(Self.rfc3339(end)) }
        return envelope(id: id, type: ProductionOrderReleased.eventType, subject: "production-order/\(name)",
                        key: name, writeDate: r.string("write_date") ?? "", data: .object(data))
    }

    static func code(_ id: Int?, in codes: [Int: String], order: String) throws(OdooError) -> String {
        guard let id, let code = codes[id] else {
            throw OdooError(.dataProblem, "product \(id.map(String.init) ?? "?") of order \(order) has no internal reference (default_code)")
        }
        return code
    }

    func productChanges(_ r: OdooRecord, previous: CapturedRecord?) throws(OdooError) -> ([JSONValue], CapturedRecord?) {
        let writeDate = r.string("write_date") ?? ""
        guard let code = r.string("default_code"), !code.isEmpty else {
            return ([], nil)  // not a product the plant can name
        }
        var data: [String: JSONValue] = [
            "product": .string(code), "name": .string(r.string("name") ?? code), "uom": .string(try unitCode(r.many2oneName("uom_id"))),
        ]
        switch r.string("type") {
        case "consu": data["type"] = "goods"
        case "service": data["type"] = "service"
        case "combo": data["type"] = "combo"
        default: break
        }
        if let tracking = r.string("tracking"), ["none", "lot", "serial"].contains(tracking) { data["tracking"] = .string(tracking) }
        if let barcode = r.string("barcode"), !barcode.isEmpty { data["barcode"] = .string(barcode) }
        if let category = r.many2oneName("categ_id") { data["category"] = .string(category) }
        let payload = JSONValue.object(data)
        let digest = Self.digest(payload.canonicalText)
        guard previous?.digest != digest else { return ([], nil) }
        let event = envelope(
            id: "\(Self.productModel)/\(r.id)/\(Self.compact(writeDate))/\(digest.prefix(8))", type: ProductUpserted.eventType,
            subject: "product/\(code)", key: code, writeDate: writeDate, data: payload)
        return ([event], CapturedRecord(model: Self.productModel, recordID: r.id, writeDate: writeDate, digest: digest))
    }

    // MARK: Helpers

    func envelope(id: String, type: String, subject: String, key: String, writeDate: String, data: JSONValue) -> JSONValue {
        [
            "specversion": "1.0", "id": .string(id), "source": .string(settings.source), "type": .string(type),
            "subject": .string(subject), "time": .string(Self.rfc3339(writeDate)), "partitionkey": .string(key),
            "datacontenttype": "application/json", "data": data,
        ]
    }

    /// The UN/ECE code of an Odoo unit name (`Units` → `H87`, `kg` → `KGM`).
    func unitCode(_ odooName: String?) throws(OdooError) -> String {
        guard let odooName else { throw OdooError(.dataProblem, "a record has no unit") }
        if odooName == "Units" { return "H87" }
        for (code, names) in settings.unitNames.sorted(by: { $0.key < $1.key }) where names.contains(odooName) { return code }
        throw OdooError(.dataProblem, "the Odoo unit '\(odooName)' has no UN/ECE code: map it under odoo.units in the configuration")
    }

    /// `2026-11-27 00:11:22` (Odoo, UTC) → `2026-11-27T00:11:22Z`.
    static func rfc3339(_ odoo: String) -> String {
        let trimmed = odoo.split(separator: ".").first.map(String.init) ?? odoo
        return trimmed.replacingOccurrences(of: " ", with: "T") + "Z"
    }

    /// `2026-11-27 00:11:22` → `20261127T001122`, for event ids.
    static func compact(_ odoo: String) -> String {
        String(rfc3339(odoo).filter { $0 != "-" && $0 != ":" }.dropLast())
    }

    static func date(fromOdoo text: String) -> Date? { RFC3339.parse(rfc3339(text)) }

    static func odooTimestamp(_ date: Date) -> String {
        let text = RFC3339.format(date)  // 2026-11-27T00:11:22Z or with fraction
        let base = text.prefix(19)
        return base.replacingOccurrences(of: "T", with: " ")
    }

    /// FNV-1a, 64 bits, hex: a stable digest of a canonical payload (not a security measure).
    static func digest(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    // MARK: One run per record, one poll at a time

    func enter(_ key: String) async {
        guard busy[key] != nil else {
            busy[key] = []
            return
        }
        await withCheckedContinuation { busy[key, default: []].append($0) }
    }

    func leave(_ key: String) {
        guard var waiting = busy[key], !waiting.isEmpty else {
            busy[key] = nil
            return
        }
        let next = waiting.removeFirst()
        busy[key] = waiting
        next.resume()
    }

    func enterPoll() async {
        guard polling else {
            polling = true
            return
        }
        await withCheckedContinuation { pollWaiters.append($0) }
    }

    func leavePoll() {
        if pollWaiters.isEmpty {
            polling = false
        } else {
            pollWaiters.removeFirst().resume()
        }
    }
}
