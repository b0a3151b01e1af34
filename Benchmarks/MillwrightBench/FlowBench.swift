import ArgumentParser
import Foundation
import Logging
import Metrics
import MillwrightCore
import MillwrightEngine
import MillwrightOdoo
import MillwrightSQLite
import MillwrightServer
import MillwrightTesting
import Synchronization

/// End to end through the delivery engine: events appended to the log (the acknowledgement), the router,
/// the workers on the shipped flows, the Odoo sink, Odoo (the simulator in this process, or a real Odoo
/// with `--real`). Each Millwright figure is measured in the same run as what it is compared with.
struct FlowBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flows",
        abstract: "End-to-end delivery into Odoo: batched products, per-order completions, added latency at a fixed rate."
    )

    @Flag(help: "Use the real Odoo of MILLWRIGHT_ODOO_URL, _DB, _LOGIN, _API_KEY instead of the simulator.") var real = false
    @Option(help: "Product events (batched flow).") var products = 1000
    @Option(help: "Orders completed directly, and as many through Millwright.") var orders = 40
    @Option(help: "Operation reports (one work order each) made directly, and as many through Millwright.") var operations = 40
    @Option(help: "Concurrent Odoo calls, for both the direct calls and Millwright's workers.") var concurrency = 4
    @Option(help: "Events per second in the latency scenario.") var rate = 50.0
    @Option(help: "Seconds of the latency scenario.") var seconds = 20.0
    @Option(help: "The shipped flows.") var flows = "flows"

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let target: OdooTarget
        if real {
            guard let found = OdooTarget.environment(ProcessInfo.processInfo.environment) else {
                throw ValidationError("set MILLWRIGHT_ODOO_URL, _DB, _LOGIN, _API_KEY (odoo-up env)")
            }
            target = found
        } else {
            target = try await .simulator()
        }
        let settings = OdooSettings(
            url: target.url, database: target.database, login: target.login, apiKey: target.apiKey, maxConcurrentCalls: concurrency, callsPerSecond: nil)
        let client = try await OdooClient.connect(settings)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mw-flowbench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: directory.appendingPathComponent("m.sqlite").path)
        let ops = OdooOperations(client: client, journal: StoreOperationJournal(store: store))
        let timing = TimingSink(OdooSink { () async throws(OdooError) -> OdooOperations in ops })
        // The shipped Odoo flows (change capture and the other sinks are not part of this measurement).
        let shipped = try FlowLoader(sinks: MillwrightNode.knownSinks).loadDirectory(flows).filter { $0.sink == timing.name }
        let tag = String(UInt64.random(in: 0..<(1 << 32)), radix: 36).uppercased()
        print("Odoo \(client.version) at \(settings.url) (\(real ? "real" : "simulator, in this process")), \(client.protocolKind.rawValue); run \(tag); concurrency \(concurrency)")

        let engine = Engine(store: store, flows: shipped, sink: timing, concurrency: concurrency, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in engine.services { group.addTask { try await service.run() } }
            defer { group.cancelAll() }

            // 1. Products: Odoo's own batched create (the ceiling), then the same count through the flow.
            print("\n| products | scenario | seconds | products/s | ack→done p50 ms | ack→done p99 ms |")
            print("|---:|---|---:|---:|---:|---:|")
            // Alternating rounds (ceiling, Millwright, ceiling, Millwright): a warm-up or a neighbour's load
            // hits both sides alike.
            var start = ContinuousClock.now
            var ceilingTotal = 0.0
            var batchedTotal = 0.0
            for round in 1...2 where products > 0 {
                start = ContinuousClock.now
                for chunk in stride(from: 0, to: products, by: 300) {
                    let vals: [[String: JSONValue]] = (chunk..<min(chunk + 300, products)).map { i in
                        ["name": .string("Bench raw \(i)"), "default_code": .string("FR-\(tag)-\(round)-\(i)"), "is_storable": true]
                    }
                    _ = try await client.create("product.product", vals)
                }
                let ceiling = seconds(since: start)
                ceilingTotal += ceiling
                print("| \(products) | round \(round): Odoo `product.product/create`, 300 per call (ceiling) | \(f(ceiling)) | \(f(Double(products) / ceiling, 1)) | | |")
                let productEvents = try (0..<products).map { i in
                    try event("p-\(tag)-\(round)-\(i)", ProductUpserted.eventType, ["product": .string("FP-\(tag)-\(round)-\(i)"), "name": .string("Bench \(i)"), "uom": "H87"])
                }
                start = ContinuousClock.now
                let productLatencies = try await engine.run(productEvents)
                let batched = seconds(since: start)
                batchedTotal += batched
                print("| \(products) | round \(round): Millwright, events → `odoo-product-upserted` (micro-batches of 300, 2 s window) | \(f(batched)) | \(f(Double(products) / batched, 1)) | \(ms(productLatencies.endToEnd, 0.5)) | \(ms(productLatencies.endToEnd, 0.99)) |")
            }
            let ceiling = ceilingTotal
            let batched = batchedTotal
            if products > 0 { print("\nMillwright / ceiling: \(f(100 * ceiling / batched, 0))%") }

            // 2. Completions: 4 × orders confirmed orders; alternating rounds of direct calls and the flow
            // (direct, Millwright, direct, Millwright), each on its own orders.
            if orders > 0 {
                try await prepareStock(ops, tag: tag)
                var names: [String] = []
                for _ in 0..<(4 * orders) { names.append(try await makeOrder(client, ops)) }
                @Sendable func completion(_ name: String) throws -> ProductionCompleted {
                    try CanonicalCoding.decode(ProductionCompleted.self, from: ["order": .string(name), "quantity": 1, "uom": "H87", "final": true])
                }
                try await perOrderRounds(
                    names, count: orders, unit: "completions", direct: "direct `postCompletion` calls", flow: "`odoo-production-completed`", engine: engine,
                    call: { name in _ = try await ops.postCompletion(try completion(name), key: "direct-\(tag)-\(name)") },
                    event: { round, i, name in
                        try event("c-\(tag)-\(round)-\(i)", ProductionCompleted.eventType, ["order": .string(name), "quantity": 1, "uom": "H87", "final": true])
                    })
            }

            // 3. Operation reports: Table Top orders (one operation, "Manual Assembly"), each report finishing
            // its work order with a time line and a note; alternating rounds as for completions.
            if operations > 0 {
                var names: [String] = []
                for _ in 0..<(4 * operations) { names.append(try await makeOrder(client, ops, product: "FURN_8522")) }
                let time = Date()
                @Sendable func report(_ name: String) throws -> OperationCompleted {
                    try CanonicalCoding.decode(OperationCompleted.self, from: [
                        "order": .string(name), "operation": "Manual Assembly", "quantity_good": 1, "uom": "H87", "duration_minutes": 12, "operator": "bench",
                    ])
                }
                try await perOrderRounds(
                    names, count: operations, unit: "reports", direct: "direct `completeOperation` calls", flow: "`odoo-operation-completed`", engine: engine,
                    call: { name in _ = try await ops.completeOperation(try report(name), time: time, key: "direct-op-\(tag)-\(name)") },
                    event: { round, i, name in
                        try event("o-\(tag)-\(round)-\(i)", OperationCompleted.eventType, [
                            "order": .string(name), "operation": "Manual Assembly", "quantity_good": 1, "uom": "H87", "duration_minutes": 12, "operator": "bench",
                        ])
                    })
            }

            // 4. Added latency at a fixed rate: lots, one event every 1/rate s (open loop).
            let count = Int(rate * seconds)
            guard count > 0 else { return }
            let lotEvents = try (0..<count).map { i in
                try event("l-\(tag)-\(i)", LotCreated.eventType, ["lot": .string("FL-\(tag)-\(i)"), "product": "FURN_8855"])
            }
            let lots = try await engine.run(lotEvents, rate: rate)
            print("\n| events | rate/s | ack→done p50 ms | ack→done p99 ms | added p50 ms | added p99 ms | added max ms |")
            print("|---:|---:|---:|---:|---:|---:|---:|")
            print("| \(count) | \(f(rate, 0)) | \(ms(lots.endToEnd, 0.5)) | \(ms(lots.endToEnd, 0.99)) | \(ms(lots.added, 0.5)) | \(ms(lots.added, 0.99)) | \(ms(lots.added, 1)) |")
            print("\nadded = (ack → the sink's first Odoo call) + (Odoo's last answer → delivery recorded done)")
        }
        await client.shutdown()
        await target.shutdown()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Per-order work in alternating rounds (direct, Millwright, direct, Millwright), each on its own `count`
    /// of the `4 × count` orders: `call` with `concurrency` in flight, then one event per order through
    /// the shipped flow. Prints a row per round and the ratio.
    func perOrderRounds(
        _ names: [String], count: Int, unit: String, direct: String, flow: String, engine: Engine,
        call: @escaping @Sendable (String) async throws -> Void, event: (Int, Int, String) throws -> NewEvent
    ) async throws {
        print("\n| orders | scenario | seconds | \(unit)/s | ack→done p50 ms | ack→done p99 ms |")
        print("|---:|---|---:|---:|---:|---:|")
        var directTotal = 0.0
        var flowTotal = 0.0
        for round in 0..<2 {
            let directNames = Array(names[(2 * round * count)..<((2 * round + 1) * count)])
            let through = Array(names[((2 * round + 1) * count)..<((2 * round + 2) * count)])
            var start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { calls in
                var next = 0
                for _ in 0..<min(concurrency, directNames.count) {
                    let name = directNames[next]
                    next += 1
                    calls.addTask { try await call(name) }
                }
                while try await calls.next() != nil, next < directNames.count {
                    let name = directNames[next]
                    next += 1
                    calls.addTask { try await call(name) }
                }
            }
            let directSeconds = seconds(since: start)
            directTotal += directSeconds
            print("| \(count) | round \(round + 1): \(direct), \(concurrency) at a time | \(f(directSeconds)) | \(f(Double(count) / directSeconds)) | | |")
            let events = try through.enumerated().map { i, name in try event(round, i, name) }
            start = ContinuousClock.now
            let latencies = try await engine.run(events)
            let flowSeconds = seconds(since: start)
            flowTotal += flowSeconds
            print("| \(count) | round \(round + 1): Millwright, events → \(flow) (critical pool, \(concurrency) workers) | \(f(flowSeconds)) | \(f(Double(count) / flowSeconds)) | \(ms(latencies.endToEnd, 0.5)) | \(ms(latencies.endToEnd, 0.99)) |")
        }
        print("\nMillwright / direct: \(f(100 * directTotal / flowTotal, 0))%")
    }

    func event(_ id: String, _ type: String, _ data: JSONValue) throws -> NewEvent {
        try EventDecoder().decode(["specversion": "1.0", "id": .string(id), "source": "bench/flows", "type": .string(type), "data": data])
    }

    func prepareStock(_ ops: OdooOperations, tag: String) async throws {
        for code in ["FURN_7111", "FURN_8111"] {
            let count = try CanonicalCoding.decode(InventoryCounted.self, from: ["product": .string(code), "location": "WH/Stock", "quantity": 100_000, "uom": "H87"])
            _ = try await ops.countInventory(count, key: "bench-\(tag)-\(code)")
        }
    }

    /// A confirmed order for one Wood Panel (FURN_7023: 3 ply + 1 wear layer, no operations), or of another
    /// product on its default BoM, as Odoo's users make them.
    func makeOrder(_ client: OdooClient, _ ops: OdooOperations, product code: String = "FURN_7023") async throws -> String {
        let product = try requireValue(try await client.searchRead("product.product", [.array(["default_code", "=", .string(code)])], fields: ["id"]).first?.id)
        let id = try requireValue(try await client.create("mrp.production", [["product_id": .number(String(product)), "product_qty": 1]]).first)
        let name = try requireValue(try await client.read("mrp.production", [id], fields: ["name"]).first?.string("name"))
        _ = try await ops.confirmOrder(OrderReference(rawValue: name))
        return name
    }

    func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    func f(_ x: Double, _ places: Int = 2) -> String { String(format: "%.\(places)f", x) }

    func ms(_ values: [Double], _ quantile: Double) -> String {
        guard !values.isEmpty else { return "–" }
        let sorted = values.sorted()
        let index = min(sorted.count - 1, Int((Double(sorted.count - 1) * quantile).rounded()))
        return String(format: "%.1f", sorted[index] * 1000)
    }
}

/// `#require` for a benchmark: a missing value is a clear failure, not a crash.
func requireValue<T>(_ value: T?, _ what: String = "a value Odoo should have answered") throws -> T {
    guard let value else { throw ValidationError("missing \(what)") }
    return value
}

/// The router and one worker per priority on the shipped flows, as `serve` wires them.
struct Engine {
    let store: SQLiteStore
    let router: DeliveryRouter
    let services: [DeliveryRouter.Runner]
    let sink: TimingSink

    init(store: SQLiteStore, flows: [Flow], sink: TimingSink, concurrency: Int, logger: Logger) {
        self.store = store
        self.sink = sink
        var workers: [DeliveryWorker] = []
        for priority in Flow.Priority.allCases {
            let group = flows.filter { $0.priority == priority }
            guard !group.isEmpty else { continue }
            workers.append(DeliveryWorker(
                store: store, flows: group, sinks: [sink], owner: "bench/\(priority.rawValue)", concurrency: concurrency,
                metricsFactory: NOOPMetricsHandler.instance, logger: logger))
        }
        router = DeliveryRouter(store: store, flows: flows, wake: workers.map(\.doorbell), logger: logger)
        services = [.router(router)] + workers.map { .worker($0) }
    }

    struct Latencies {
        var endToEnd: [Double] = []
        var added: [Double] = []
    }

    /// Appends the events (all at once, or one every 1/rate s), rings the router as `serve`'s ingest path
    /// does, and waits until every delivery is finished. Returns per-event latencies.
    func run(_ events: [NewEvent], rate: Double? = nil) async throws -> Latencies {
        let ids = Set(events.map(\.event.id))
        var last: Int64 = 0
        func note(_ outcomes: [AppendOutcome]) {
            for case .created(let e) in outcomes { last = max(last, e.seq) }
        }
        if let rate {
            let start = ContinuousClock.now
            for (i, event) in events.enumerated() {
                let due = start + .nanoseconds(Int64(Double(i) / rate * 1e9))
                if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
                note(try await store.append([event], receivedAt: Date()))
                router.doorbell.ring()
            }
        } else {
            for chunk in stride(from: 0, to: events.count, by: 500) {
                note(try await store.append(Array(events[chunk..<min(chunk + 500, events.count)]), receivedAt: Date()))
                router.doorbell.ring()
            }
        }
        while true {
            // The cursor first: once every event is routed, no delivery can appear after the count.
            let routed = try await store.routerCursor() >= last
            let counts = try await store.deliveryCounts(flow: nil)
            let open = (counts[.pending] ?? 0) + (counts[.retrying] ?? 0) + (counts[.inFlight] ?? 0)
            if routed, open == 0 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        var latencies = Latencies()
        var query = EventQuery()
        query.limit = 100_000
        let stored = try await store.events(query).filter { ids.contains($0.id) }
        let bySeq = Dictionary(uniqueKeysWithValues: stored.map { ($0.seq, $0) })
        let deliveries = try await store.deliveries(DeliveryQuery(eventSeqs: stored.map(\.seq), limit: 100_000))
        let calls = sink.calls
        var failed: [String: Int] = [:]
        for d in deliveries {
            guard let e = bySeq[d.eventSeq] else { continue }
            if d.state != .done { failed["\(d.state.rawValue) \(d.lastErrorCode ?? "") \(d.lastError ?? "")", default: 0] += 1 }
            latencies.endToEnd.append(d.updatedAt.timeIntervalSince(e.receivedAt))
            if let call = calls[e.id] {
                latencies.added.append(max(0, call.enter.timeIntervalSince(e.receivedAt)) + max(0, d.updatedAt.timeIntervalSince(call.exit)))
            }
        }
        for (reason, n) in failed.sorted(by: { $0.value > $1.value }) { print("warning: \(n) deliveries did not end done: \(reason)") }
        return latencies
    }
}

extension DeliveryRouter {
    /// The router or a worker, run as a task.
    enum Runner: Sendable {
        case router(DeliveryRouter)
        case worker(DeliveryWorker)
        func run() async throws {
            switch self {
            case .router(let r): try await r.run()
            case .worker(let w): try await w.run()
            }
        }
    }
}

/// Forwards to the Odoo sink and notes, per event id, when the sink was entered (its first Odoo call
/// follows at once) and when it returned (Odoo's last answer precedes it).
final class TimingSink: Sink {
    let inner: OdooSink
    let state = Mutex<[String: (enter: Date, exit: Date)]>([:])
    var name: String { inner.name }
    var operations: Set<String> { inner.operations }
    var calls: [String: (enter: Date, exit: Date)] { state.withLock { $0 } }

    init(_ inner: OdooSink) { self.inner = inner }

    func deliver(_ event: StoredEvent, operation: String) async -> SinkOutcome {
        let enter = Date()
        let outcome = await inner.deliver(event, operation: operation)
        let exit = Date()
        state.withLock { $0[event.id] = $0[event.id].map { ($0.enter, exit) } ?? (enter, exit) }
        return outcome
    }

    func deliverBatch(_ events: [StoredEvent], operation: String) async -> [SinkOutcome] {
        let enter = Date()
        let outcomes = await inner.deliverBatch(events, operation: operation)
        let exit = Date()
        state.withLock { calls in
            for event in events { calls[event.id] = calls[event.id].map { ($0.enter, exit) } ?? (enter, exit) }
        }
        return outcomes
    }
}
