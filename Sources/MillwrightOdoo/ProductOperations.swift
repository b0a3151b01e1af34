import Foundation
import MillwrightCore

extension OdooOperations {
    /// The external id Millwright gives a product: `millwright.product_<code>`. Characters an external id
    /// cannot hold become `_`, with a short hash of the code so that two codes never share an id.
    static func externalName(product code: String) -> String {
        let allowed = code.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-") }
        if allowed { return "product_" + code }
        let cleaned = String(code.unicodeScalars.map { $0.isASCII && CharacterSet.alphanumerics.contains($0) ? Character($0) : "_" })
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a: stable across runs and machines
        for byte in code.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "product_" + cleaned + "_" + String(hash & 0xffff_ffff, radix: 16)
    }

    /// Creates or updates products by `default_code`, many per call. Idempotent through external ids
    /// (`ir.model.data`, module `millwright`): products that exist without one are bound first (so nothing
    /// is ever duplicated), new ones are made with one `create` per 300 and bound, existing ones are read
    /// and only those that differ are written (`load`, one call per 300). Unit and tracking are set on
    /// creation only: Odoo refuses to change them on products with stock moves. Returns each product's id,
    /// or the reason it failed; a bad row does not stop the others (`load` names it, it is taken out and
    /// the rest sent again).
    public func upsertProducts(_ products: [ProductUpserted]) async throws(OdooError) -> [ProductReference: Result<Int, OdooError>] {
        var results: [ProductReference: Result<Int, OdooError>] = [:]
        var latest: [ProductReference: ProductUpserted] = [:]
        var order: [ProductReference] = []
        for p in products {
            if latest.updateValue(p, forKey: p.product) == nil { order.append(p.product) }
        }
        guard !order.isEmpty else { return [:] }
        let names = Dictionary(uniqueKeysWithValues: order.map { ($0, Self.externalName(product: $0.rawValue)) })

        // 1. Which products already carry Millwright's external id.
        var bound: [String: Int] = [:]
        for chunk in Array(names.values).chunked(400) {
            let rows = try await client.searchRead(
                "ir.model.data",
                [.leaf("module", "=", "millwright"), .leaf("model", "=", "product.product"), .leaf("name", "in", .strings(chunk))],
                fields: ["name", "res_id"])
            for r in rows { if let name = r.string("name"), let id = r.int("res_id") { bound[name] = id } }
        }
        // 2. Bind products that exist under the same default_code but without an external id.
        let unbound = order.filter { bound[names[$0] ?? ""] == nil }
        if !unbound.isEmpty {
            var hits: [String: [Int]] = [:]
            for chunk in unbound.map(\.rawValue).chunked(400) {
                let rows = try await client.searchRead(
                    "product.product", [.leaf("default_code", "in", .strings(chunk))], fields: ["default_code"], context: ["active_test": false])
                for r in rows { if let code = r.string("default_code") { hits[code, default: []].append(r.id) } }
            }
            var bindings: [[String: JSONValue]] = []
            for reference in unbound {
                guard let ids = hits[reference.rawValue], let name = names[reference] else { continue }
                if ids.count > 1 {
                    results[reference] = .failure(OdooError(.dataProblem, "\(ids.count) products in Odoo have the Internal Reference '\(reference.rawValue)' (ids \(ids.sorted())): merge or archive the duplicates, then retry"))
                    continue
                }
                bindings.append(["module": "millwright", "name": .string(name), "model": "product.product", "res_id": .int(ids[0]), "noupdate": false])
                bound[name] = ids[0]
            }
            if !bindings.isEmpty {
                do {
                    _ = try await client.create("ir.model.data", bindings)
                } catch where error.kind == .validation {
                    // Another writer bound them between our read and this create: read them again.
                    let rows = try await client.searchRead(
                        "ir.model.data", [.leaf("module", "=", "millwright"), .leaf("name", "in", .strings(bindings.compactMap { $0["name"]?.stringValue }))],
                        fields: ["name", "res_id"])
                    for r in rows { if let name = r.string("name"), let id = r.int("res_id") { bound[name] = id } }
                }
            }
        }
        // 3. New products: one `create` per 300 (the fastest write Odoo has), then their external ids.
        //    A crash between the two leaves products without external ids: step 2 binds them on the re-run.
        //    If Odoo refuses a batch, `load` names the bad rows; the others still land.
        let pending = order.filter { results[$0] == nil }
        let units = try await self.units()
        var fresh: [(ProductReference, [String: JSONValue])] = []
        var existing: [ProductReference] = []
        for reference in pending {
            guard let p = latest[reference], let name = names[reference] else { continue }
            if bound[name] != nil {
                existing.append(reference)
                continue
            }
            let unit: OdooUnit
            do { unit = try units.unit(for: p.uom) } catch {
                results[reference] = .failure(error)
                continue
            }
            var vals = Self.productVals(p)
            vals["uom_id"] = .int(unit.id)
            vals["tracking"] = .string(p.tracking?.rawValue ?? "none")
            fresh.append((reference, vals))
        }
        for chunk in fresh.chunked(300) {
            let ids: [Int]
            do {
                ids = try await client.create("product.product", chunk.map(\.1))
            } catch where error.kind == .validation || error.kind == .badRequest || error.kind == .userError {
                try await load(
                    chunk.map { reference, vals in (reference, [.string("millwright." + (names[reference] ?? ""))] + Self.loadRow(vals, withCreationFields: true)) },
                    fields: Self.loadFields + ["uom_id/.id", "tracking"], into: &results)
                continue
            }
            _ = try await client.create("ir.model.data", zip(chunk, ids).map { entry, id in
                ["module": "millwright", "name": .string(names[entry.0] ?? ""), "model": "product.product", "res_id": .int(id), "noupdate": false]
            })
            for (entry, id) in zip(chunk, ids) { results[entry.0] = .success(id) }
        }
        // 4. Existing products: read them, and write only those that differ (a replayed batch costs one read).
        var changed: [(ProductReference, [JSONValue])] = []
        for chunk in existing.chunked(400) {
            let ids = chunk.compactMap { bound[names[$0] ?? ""] }
            let current = try await client.read("product.product", ids, fields: ["name", "default_code", "type", "is_storable", "barcode"], context: ["active_test": false])
            let byID = Dictionary(current.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            for reference in chunk {
                guard let id = bound[names[reference] ?? ""], let p = latest[reference] else { continue }
                let vals = Self.productVals(p)
                if let record = byID[id], Self.matches(record, vals) {
                    results[reference] = .success(id)
                } else {
                    changed.append((reference, [.string("millwright." + (names[reference] ?? ""))] + Self.loadRow(vals, withCreationFields: false)))
                }
            }
        }
        try await load(changed, fields: Self.loadFields, into: &results)
        return results
    }

    static let loadFields = ["id", "name", "default_code", "type", "is_storable", "barcode"]

    static func productVals(_ p: ProductUpserted) -> [String: JSONValue] {
        let (type, storable) = odooType(p.type)
        return [
            "name": .string(p.name), "default_code": .string(p.product.rawValue), "type": .string(type), "is_storable": .bool(storable),
            "barcode": p.barcode.map(JSONValue.string) ?? false,
        ]
    }

    static func loadRow(_ vals: [String: JSONValue], withCreationFields: Bool) -> [JSONValue] {
        func text(_ v: JSONValue?) -> JSONValue {
            switch v {
            case .string(let s)?: .string(s)
            case .bool(let b)?: .string(b ? "1" : "")
            case .number(let n)?: .string(n)
            default: .string("")
            }
        }
        var row = ["name", "default_code", "type"].map { text(vals[$0]) }
        row.append(.string(vals["is_storable"]?.boolValue == true ? "1" : "0"))
        row.append(text(vals["barcode"]))
        if withCreationFields { row += [text(vals["uom_id"]), text(vals["tracking"])] }
        return row
    }

    static func matches(_ record: OdooRecord, _ vals: [String: JSONValue]) -> Bool {
        record.string("name") == vals["name"]?.stringValue && record.string("default_code") == vals["default_code"]?.stringValue
            && record.string("type") == vals["type"]?.stringValue && record.bool("is_storable") == (vals["is_storable"]?.boolValue ?? false)
            && (record.string("barcode") ?? "") == (vals["barcode"]?.stringValue ?? "")
    }

    static func odooType(_ kind: ProductUpserted.Kind?) -> (String, Bool) {
        switch kind {
        case .service: ("service", false)
        case .combo: ("combo", false)
        case .goods, nil: ("consu", true)
        }
    }

    private func load(_ rows: [(ProductReference, [JSONValue])], fields: [String], into results: inout [ProductReference: Result<Int, OdooError>]) async throws(OdooError) {
        for batch in rows.chunked(300) {
            var remaining = batch
            while !remaining.isEmpty {
                let answer = try await client.call("product.product", "load", ["fields": .strings(fields), "data": .array(remaining.map { .array($0.1) })])
                if case .array(let ids)? = answer["ids"], ids.count == remaining.count {
                    for (row, id) in zip(remaining, ids) {
                        if case .number(let n) = id, let id = Int(n) { results[row.0] = .success(id) }
                    }
                    break
                }
                // All or nothing: name the failed rows, take them out, send the rest again.
                let messages = answer["messages"]?.arrayValue ?? []
                var failed = Set<Int>()
                for message in messages where message["type"]?.stringValue == "error" {
                    let index = message["rows"]?["from"].flatMap { if case .number(let n) = $0 { Int(n) } else { nil } }
                        ?? message["record"].flatMap { if case .number(let n) = $0 { Int(n) } else { nil } }
                    guard let index, remaining.indices.contains(index) else { continue }
                    failed.insert(index)
                    let field = message["field"]?.stringValue.map { " (field \($0))" } ?? ""
                    results[remaining[index].0] = .failure(OdooError(.validation, "Odoo refused product '\(remaining[index].0.rawValue)'\(field): \(message["message"]?.stringValue ?? "no reason given")"))
                }
                guard !failed.isEmpty else {
                    throw OdooError(.unexpectedAnswer, "product.product/load imported nothing and named no row: \(answer.canonicalText.prefix(300))")
                }
                remaining = remaining.enumerated().filter { !failed.contains($0.offset) }.map(\.element)
            }
        }
    }

    /// Lots (or serial numbers) of products, created when missing; returns each lot's id.
    public func upsertLots(_ lots: [(lot: LotReference, product: ProductReference)]) async throws(OdooError) -> [LotReference: Int] {
        var byProduct: [ProductReference: [String]] = [:]
        for entry in lots { byProduct[entry.product, default: []].append(entry.lot.rawValue) }
        var result: [LotReference: Int] = [:]
        for (reference, names) in byProduct.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            let product = try await product(reference)
            for (name, id) in try await self.lots(Array(Set(names)).sorted(), product: product, create: true) {
                result[LotReference(rawValue: name)] = id
            }
        }
        return result
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
