import Foundation
import MillwrightCore

/// What an operation did to Odoo.
public struct OperationResult: Sendable, Equatable, CustomStringConvertible {
    public enum Effect: String, Sendable { case applied, alreadyApplied = "already-applied" }
    public var effect: Effect
    /// One line for an operator: "WH/MO/00018-001 done with 2 Units; backorder WH/MO/00018-002".
    public var summary: String
    /// The Odoo records involved, by role ("order", "backorder", "scrap", "picking", ...).
    public var records: [String: Int]

    public init(_ effect: Effect, _ summary: String, records: [String: Int] = [:]) {
        self.effect = effect
        self.summary = summary
        self.records = records
    }

    public var description: String { "\(effect.rawValue): \(summary)" }
}

/// The typed manufacturing operations, on canonical references (order name, product `default_code`,
/// lot name, location name or barcode, equipment serial or name). Each is idempotent: running it
/// twice, or again after a crash between its calls, changes Odoo once. `docs/odoo.md` gives each call
/// sequence and idempotency strategy.
public struct OdooOperations: Sendable {
    public let client: OdooClient
    public let journal: any OperationJournal
    /// Where held lots go (`quality hold`), by complete name or barcode.
    public var quarantineLocation: LocationReference
    /// Where stock is taken from and put to when an event names no location.
    public var stockLocation: LocationReference
    public var unitNames: [String: [String]]
    let cache = ReferenceCache()

    public init(
        client: OdooClient, journal: any OperationJournal = InMemoryOperationJournal(),
        stockLocation: LocationReference = LocationReference(rawValue: "WH/Stock"),
        quarantineLocation: LocationReference = LocationReference(rawValue: "WH/Quarantine"),
        unitNames: [String: [String]] = OdooUnits.standardNames
    ) {
        self.client = client
        self.journal = journal
        self.stockLocation = stockLocation
        self.quarantineLocation = quarantineLocation
        self.unitNames = unitNames
    }

    // MARK: - Resolution

    /// What the operations need to know about a product.
    public struct ProductInfo: Sendable, Hashable {
        public var id: Int
        public var code: String
        public var name: String
        public var uomID: Int
        public var tracking: String  // none, lot, serial
    }

    static let productFields = ["default_code", "name", "uom_id", "tracking"]

    func product(_ reference: ProductReference) async throws(OdooError) -> ProductInfo {
        let key = "product:" + reference.rawValue
        if let cached = await cache.get(key), let info = Self.productInfo(cached) { return info }
        let found = try await client.searchRead(
            "product.product", [.leaf("default_code", "=", .string(reference.rawValue))], fields: Self.productFields,
            context: ["active_test": false])
        guard let record = found.first else {
            throw OdooError(.notFound, "product '\(reference.rawValue)' is not in Odoo (no product with that Internal Reference / default_code)")
        }
        guard found.count == 1 else {
            throw OdooError(.dataProblem, "\(found.count) products in Odoo have the Internal Reference '\(reference.rawValue)' (ids \(found.map(\.id))): make it unique in Odoo")
        }
        let info = ProductInfo(
            id: record.id, code: reference.rawValue, name: record.string("name") ?? reference.rawValue,
            uomID: record.many2one("uom_id") ?? 1, tracking: record.string("tracking") ?? "none")
        await cache.set(key, ["id": .int(info.id), "name": .string(info.name), "uom": .int(info.uomID), "tracking": .string(info.tracking)])
        return info
    }

    static func productInfo(_ value: JSONValue) -> ProductInfo? {
        guard case .number(let id)? = value["id"], let id = Int(id), case .number(let uom)? = value["uom"], let uom = Int(uom) else { return nil }
        return ProductInfo(id: id, code: "", name: value["name"]?.stringValue ?? "", uomID: uom, tracking: value["tracking"]?.stringValue ?? "none")
    }

    /// A location by complete name (`WH/Stock`) or barcode (`WH-STOCK`).
    func location(_ reference: LocationReference) async throws(OdooError) -> Int {
        let key = "location:" + reference.rawValue
        if case .number(let n)? = await cache.get(key), let id = Int(n) { return id }
        let found = try await client.searchRead(
            "stock.location",
            [.string("|"), .leaf("complete_name", "=", .string(reference.rawValue)), .leaf("barcode", "=", .string(reference.rawValue))],
            fields: ["complete_name", "usage"], context: ["active_test": false])
        guard let record = found.first else {
            throw OdooError(.notFound, "location '\(reference.rawValue)' is not in Odoo (searched full name and barcode)")
        }
        guard found.count == 1 else {
            throw OdooError(.dataProblem, "location '\(reference.rawValue)' matches \(found.count) locations in Odoo: use the full name, e.g. WH/Stock")
        }
        await cache.set(key, .int(record.id))
        return record.id
    }

    func units() async throws(OdooError) -> OdooUnits {
        if case .array(let items)? = await cache.get("units") {
            return OdooUnits(records: items.compactMap { $0.objectValue.map(OdooRecord.init) }, names: unitNames)
        }
        let records = try await client.searchRead("uom.uom", [], fields: OdooUnits.fields, context: ["active_test": false])
        await cache.set("units", .array(records.map { .object($0.fields) }))
        return OdooUnits(records: records, names: unitNames)
    }

    /// `quantity` in the event's unit, expressed in the Odoo unit `uomID`.
    func quantity(_ quantity: Decimal, _ code: UnitCode, in uomID: Int) async throws(OdooError) -> Decimal {
        let units = try await units()
        let from = try units.unit(for: code)
        guard let to = units.units[uomID] else { throw OdooError(.dataProblem, "Odoo unit id \(uomID) is not in uom.uom") }
        return try units.convert(quantity, from: from, to: to)
    }

    func lots(_ names: [String], product: ProductInfo, create: Bool) async throws(OdooError) -> [String: Int] {
        guard !names.isEmpty else { return [:] }
        if product.tracking == "none" {
            throw OdooError(.dataProblem, "product '\(product.code)' is not tracked by lots or serial numbers in Odoo, but the event names lots \(names)")
        }
        var found = try await lotIDs(names, product: product.id)
        let missing = names.filter { found[$0] == nil }
        guard !missing.isEmpty else { return found }
        guard create else {
            throw OdooError(.notFound, "lot \(missing.joined(separator: ", ")) of product '\(product.code)' is not in Odoo")
        }
        do {
            let ids = try await client.create("stock.lot", missing.map { ["name": .string($0), "product_id": .int(product.id)] })
            for (name, id) in zip(missing, ids) { found[name] = id }
        } catch where error.kind == .validation {
            // A concurrent writer (or a crash after Odoo committed) created them: unique per (name, product).
            found = try await lotIDs(names, product: product.id)
            if let stillMissing = names.first(where: { found[$0] == nil }) {
                throw OdooError(.validation, "creating lot \(stillMissing) of '\(product.code)' failed: \(error.message)")
            }
        }
        return found
    }

    private func lotIDs(_ names: [String], product: Int) async throws(OdooError) -> [String: Int] {
        let records = try await client.searchRead(
            "stock.lot", [.leaf("product_id", "=", .int(product)), .leaf("name", "in", .strings(names))], fields: ["name"])
        var result: [String: Int] = [:]
        for r in records { if let name = r.string("name") { result[name] = r.id } }
        return result
    }

    /// Runs `body`; if Odoo says a cached record is gone, forgets the cache and runs it once more.
    func withFreshReferences<T: Sendable>(_ body: () async throws(OdooError) -> T) async throws(OdooError) -> T {
        do {
            return try await body()
        } catch where error.kind == .missingRecord {
            await cache.removeAll()
            return try await body()
        }
    }

    /// Reads the plan recorded under `key`, or makes it and records it before anything is written.
    func plan(_ key: String, make: () async throws(OdooError) -> JSONValue) async throws(OdooError) -> (plan: JSONValue, resumed: Bool) {
        let stored: JSONValue?
        do { stored = try await journal.plan(for: key) } catch {
            throw OdooError(.server, "the operation journal cannot be read: \(error)")
        }
        if let stored { return (stored, true) }
        let plan = try await make()
        do { try await journal.record(plan, for: key) } catch {
            throw OdooError(.server, "the operation journal cannot be written: \(error)")
        }
        return (plan, false)
    }

    static func marker(_ key: String) -> String { "mw:" + key }
}

extension JSONValue {
    func int(_ key: String) -> Int? {
        if case .number(let n)? = self[key] { return Int(n) }
        return nil
    }

    func decimal(_ key: String) -> Decimal? {
        if case .number(let n)? = self[key] { return Decimal(string: n) }
        return nil
    }
}
