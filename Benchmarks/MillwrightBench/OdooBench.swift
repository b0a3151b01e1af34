import ArgumentParser
import Foundation
import MillwrightCore
import MillwrightOdoo

/// Upserting products into a real Odoo: the connector's batched upsert against Odoo's own batched
/// `create` (the ceiling), the connector one product per call, and a per-record XML-RPC script (the way
/// integrations are written today), all in the same run against the same server.
struct OdooProducts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "odoo",
        abstract: "Product upsert throughput against a real Odoo (MILLWRIGHT_ODOO_URL, _DB, _LOGIN, _API_KEY)."
    )

    @Option(help: "Products per scenario.") var count = 1000
    @Option(help: "Products in the per-record scenarios (they are slow).") var perRecordCount = 200
    @Option(help: "Path of the XML-RPC baseline script.") var baseline = "Benchmarks/odoo/xmlrpc_per_record.py"

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["MILLWRIGHT_ODOO_URL"], let db = env["MILLWRIGHT_ODOO_DB"], let login = env["MILLWRIGHT_ODOO_LOGIN"],
            let key = env["MILLWRIGHT_ODOO_API_KEY"]
        else { throw ValidationError("set MILLWRIGHT_ODOO_URL, MILLWRIGHT_ODOO_DB, MILLWRIGHT_ODOO_LOGIN, MILLWRIGHT_ODOO_API_KEY (odoo-up env)") }
        let client = try await OdooClient.connect(OdooSettings(url: url, database: db, login: login, apiKey: key, callsPerSecond: nil))
        let ops = OdooOperations(client: client)
        let tag = String(UInt64.random(in: 0..<(1 << 32)), radix: 36).uppercased()
        print("Odoo \(client.version) at \(url), \(client.protocolKind.rawValue); run \(tag)")
        print("| scenario | products | calls | seconds | products/s |")
        print("|---|---:|---:|---:|---:|")
        func row(_ name: String, _ n: Int, _ calls: String, _ seconds: Double) {
            print("| \(name) | \(n) | \(calls) | \(String(format: "%.2f", seconds)) | \(String(format: "%.1f", Double(n) / seconds)) |")
        }
        func events(_ prefix: String, _ n: Int) throws -> [ProductUpserted] {
            try (0..<n).map { i in
                try CanonicalCoding.decode(ProductUpserted.self, from: ["product": .string("\(prefix)-\(String(format: "%05d", i))"), "name": .string("Bench \(prefix) \(i)"), "uom": "H87"])
            }
        }

        // 1. Odoo's own batched create, 300 per call: the ceiling.
        var start = ContinuousClock.now
        for chunk in stride(from: 0, to: count, by: 300) {
            let vals: [[String: JSONValue]] = (chunk..<min(chunk + 300, count)).map { i in
                ["name": .string("Bench raw \(i)"), "default_code": .string("BR-\(tag)-\(i)"), "is_storable": true]
            }
            _ = try await client.create("product.product", vals)
        }
        let raw = seconds(since: start)
        row("Odoo `product.product/create`, 300 per call (ceiling)", count, "\((count + 299) / 300)", raw)

        // 2. The connector, batched: new products.
        let batch = try events("BC-\(tag)", count)
        start = ContinuousClock.now
        let created = try await ops.upsertProducts(batch)
        let connector = seconds(since: start)
        precondition(created.values.allSatisfy { (try? $0.get()) != nil }, "every product upserted")
        row("Millwright `upsertProducts`, one call per batch, new", count, "\(1 + 2 * ((count + 399) / 400) + 2 * ((count + 299) / 300))", connector)

        // 3. The same batch again: updates through external ids.
        start = ContinuousClock.now
        _ = try await ops.upsertProducts(batch)
        let update = seconds(since: start)
        row("Millwright `upsertProducts`, same batch again (nothing changed)", count, "\(1 + 2 * ((count + 399) / 400))", update)

        // 4. The connector, one product per call.
        let single = try events("BS-\(tag)", perRecordCount)
        start = ContinuousClock.now
        for event in single { _ = try await ops.upsertProducts([event]) }
        let perCall = seconds(since: start)
        row("Millwright `upsertProducts`, one product per call", perRecordCount, "\(perRecordCount) × 5", perCall)

        // 5. The baseline script: XML-RPC, one search + create per product.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", baseline, url, db, login, key, "BX-\(tag)", String(perRecordCount)]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        var script = Double.nan
        if let value = try? JSONParser().parse(Array(output)), case .number(let s)? = value["seconds"] { script = Double(s) ?? .nan }
        row("per-record XML-RPC script (search + create per product)", perRecordCount, "\(perRecordCount) × 2", script)

        let ceilingRate = Double(count) / raw
        let connectorRate = Double(count) / connector
        let scriptRate = Double(perRecordCount) / script
        print("")
        print(String(format: "connector batched = %.0f%% of Odoo's batched create; %.1f× the per-record XML-RPC script", 100 * connectorRate / ceilingRate, connectorRate / scriptRate))
        await client.shutdown()
    }

    func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
