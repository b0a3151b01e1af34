import ArgumentParser
import AsyncHTTPClient
import Foundation
import GRDB
import NIOCore
import NIOHTTP1
import Synchronization

/// The in-repo load tool behind BENCHMARKS.md. Build it in release mode:
/// `swift build -c release --product millwright-bench --product millwright`.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "millwright-bench",
        abstract: "Measure Millwright's ingest path and its storage ceiling.",
        subcommands: [Suite.self, StoreCeiling.self, Ingest.self, OdooProducts.self, FlowBench.self]
    )
}

// MARK: - Event bodies

enum Bodies {
    /// A production completion of about 500 bytes, like the plant sends.
    static func event(_ id: String) -> String {
        """
        {"specversion":"1.0","id":"\(id)","source":"bench/plant-1","type":"mfg.production.completed.v1",\
        "subject":"production-order/WH/MO/00042","time":"2026-11-22T10:15:00Z","partitionkey":"WH/MO/00042",\
        "sequence":"17","datacontenttype":"application/json","data":{"order":"WH/MO/00042","product":"FURN_8522",\
        "quantity":5,"uom":"H87","final":false,"lots":[{"lot":"LOT-2026-0042","quantity":5}],\
        "consumed":[{"product":"FURN_7800","quantity":10,"uom":"H87","lot":null}],\
        "scrap":[{"product":"FURN_8522","quantity":1,"uom":"H87","reason":"surface defect"}]}}
        """
    }
}

// MARK: - Raw store ceiling

/// Appends rows of the same size as an event straight through GRDB: the most any ingest path on this disk can do.
struct StoreCeiling: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "store", abstract: "Raw GRDB append rate (WAL), the ceiling for ingest.")

    @Option var durability: String = "full"
    @Option(help: "Rows per transaction.") var batch: Int = 1
    @Option var rows: Int = 20_000
    @Option(help: "Directory for the scratch database.") var dir: String = NSTemporaryDirectory()

    func run() async throws {
        let r = try Self.measure(durability: durability, batch: batch, rows: rows, dir: dir)
        print(String(format: "store durability=%@ batch=%d: %.0f rows/s", durability, batch, r))
    }

    static func measure(durability: String, batch: Int, rows: Int, dir: String) throws -> Double {
        let path = (dir as NSString).appendingPathComponent("ceiling-\(UUID().uuidString).sqlite")
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        var config = Configuration()
        let sync = durability == "full" ? "FULL" : "NORMAL"
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = \(sync)") }
        let pool = try DatabasePool(path: path, configuration: config)
        try pool.write { db in
            try db.execute(sql: "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT, id TEXT, envelope TEXT, UNIQUE(source, id))")
        }
        let body = Bodies.event("x")
        let start = ContinuousClock.now
        var written = 0
        while written < rows {
            let n = min(batch, rows - written)
            let base = written
            try pool.write { db in
                let insert = try db.cachedStatement(sql: "INSERT INTO events (source, id, envelope) VALUES (?, ?, ?)")
                for i in 0..<n { try insert.execute(arguments: ["bench", "r\(base + i)", body]) }
            }
            written += n
        }
        let seconds = (ContinuousClock.now - start).seconds
        try pool.close()
        return Double(rows) / seconds
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

// MARK: - HTTP load

struct LoadResult {
    var requests: Int
    var events: Int
    var errors: Int
    var seconds: Double
    var latencies: [Double]  // milliseconds, per request

    var eventsPerSecond: Double { Double(events) / seconds }
    func percentile(_ p: Double) -> Double {
        guard !latencies.isEmpty else { return .nan }
        let sorted = latencies.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }
}

struct Load {
    let url: String
    let token: String
    let client: HTTPClient
    let runID: String

    /// Closed loop: `clients` workers, each sending as fast as answers come, over keep-alive connections.
    /// With `rate`, open loop: requests are due at a fixed rate and latency counts from when each was due,
    /// so a slow server cannot hide its queueing (no coordinated omission).
    func run(clients: Int, requests: Int, batchSize: Int, rate: Double?) async -> LoadResult {
        let counter = Counter()
        let start = ContinuousClock.now
        let results = await withTaskGroup(of: ([Double], Int, Int).self) { group in
            for worker in 0..<clients {
                group.addTask {
                    var latencies: [Double] = []
                    var errors = 0
                    var events = 0
                    while true {
                        let n = counter.next()
                        if n >= requests { break }
                        var due = ContinuousClock.now
                        if let rate {
                            due = start + .nanoseconds(Int64(Double(n) / rate * 1e9))
                            if due > .now { try? await Task.sleep(until: due, clock: .continuous) }
                        }
                        let ok = await send(n: n, worker: worker, batchSize: batchSize)
                        latencies.append((ContinuousClock.now - due).seconds * 1000)
                        if ok { events += batchSize } else { errors += 1 }
                    }
                    return (latencies, events, errors)
                }
            }
            var all = LoadResult(requests: requests, events: 0, errors: 0, seconds: 0, latencies: [])
            for await (l, e, x) in group {
                all.latencies += l
                all.events += e
                all.errors += x
            }
            return all
        }
        var result = results
        result.seconds = (ContinuousClock.now - start).seconds
        return result
    }

    func send(n: Int, worker: Int, batchSize: Int) async -> Bool {
        var request = HTTPClientRequest(url: url + "/v1/events")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if batchSize == 1 {
            request.headers.add(name: "Content-Type", value: "application/cloudevents+json")
            request.body = .bytes(ByteBuffer(string: Bodies.event("\(runID)-\(n)")))
        } else {
            request.headers.add(name: "Content-Type", value: "application/cloudevents-batch+json")
            let items = (0..<batchSize).map { Bodies.event("\(runID)-\(n)-\($0)") }
            request.body = .bytes(ByteBuffer(string: "[" + items.joined(separator: ",") + "]"))
        }
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 16 * 1024 * 1024)
            return response.status == .created || response.status == .ok
        } catch {
            return false
        }
    }
}

/// The next request number, shared by the workers of one run.
final class Counter: Sendable {
    private let value = Mutex(0)
    func next() -> Int {
        value.withLock { v in
            v += 1
            return v - 1
        }
    }
}

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "HTTP load against a running node.")

    @Option var url = "http://127.0.0.1:8080"
    @Option var token: String
    @Option var clients = 8
    @Option var requests = 20_000
    @Option(help: "Events per request (1 = single-event POSTs).") var batchSize = 1
    @Option(help: "Fixed arrival rate in requests/s (open loop).") var rate: Double?

    func run() async throws {
        let client = HTTPClient(configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(clients, 8))))
        let load = Load(url: url, token: token, client: client, runID: UUID().uuidString.prefix(8).lowercased())
        let r = await load.run(clients: clients, requests: requests, batchSize: batchSize, rate: rate)
        try await client.shutdown()
        print(String(format: "clients=%d batch=%d: %.0f events/s, p50 %.2f ms, p99 %.2f ms, errors %d", clients, batchSize, r.eventsPerSecond, r.percentile(0.5), r.percentile(0.99), r.errors))
    }
}

// MARK: - The whole suite

/// Starts `millwright serve` (release) at each durability and runs every scenario of BENCHMARKS.md against it,
/// with the raw store ceiling measured in the same run.
struct Suite: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run every scenario of BENCHMARKS.md and print its table.")

    @Option(help: "The millwright binary to start.") var binary = ".build/release/millwright"
    @Option var port = 18_090
    @Option(help: "Scale the request counts (1 = the recorded run).") var scale = 1.0

    func run() async throws {
        var lines: [String] = []
        func emit(_ line: String) {
            print(line)
            lines.append(line)
        }
        emit("| durability | scenario | clients | events/s | p50 ms | p99 ms | errors |")
        emit("|---|---|---:|---:|---:|---:|---:|")
        let scenarios: [(name: String, clients: Int, requests: Int, batch: Int, rate: Double?)] = [
            ("single event", 1, 3_000, 1, nil),
            ("single event", 8, 20_000, 1, nil),
            ("single event", 64, 40_000, 1, nil),
            ("batch of 100", 8, 600, 100, nil),
            ("single event at 2,000/s", 64, 20_000, 1, 2_000),
        ]
        var ceilings: [String] = []
        for durability in ["full", "normal"] {
            let dir = NSTemporaryDirectory() + "mw-bench-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let token = "mw_bench000_" + UUID().uuidString
            let server = Process()
            server.executableURL = URL(fileURLWithPath: binary)
            server.arguments = ["serve", "--data", dir, "--port", String(port)]
            var env = ProcessInfo.processInfo.environment
            env["MILLWRIGHT_ADMIN_TOKEN"] = token
            env["MILLWRIGHT_DURABILITY"] = durability
            env["MILLWRIGHT_LOG_LEVEL"] = "warning"
            server.environment = env
            try server.run()
            defer {
                server.terminate()
                server.waitUntilExit()
            }
            let client = HTTPClient(configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)))
            do {
                try await waitReady(client: client)
            } catch {
                try await client.shutdown()
                throw error
            }
            for s in scenarios {
                let load = Load(url: "http://127.0.0.1:\(port)", token: token, client: client, runID: "\(durability)-\(s.clients)-\(s.batch)-\(UUID().uuidString.prefix(6))")
                let r = await load.run(clients: s.clients, requests: max(1, Int(Double(s.requests) * scale)), batchSize: s.batch, rate: s.rate)
                emit(String(format: "| %@ | %@ | %d | %.0f | %.2f | %.2f | %d |", durability, s.name, s.clients, r.eventsPerSecond, r.percentile(0.5), r.percentile(0.99), r.errors))
            }
            try await client.shutdown()
            let rows = max(1000, Int(20_000 * scale))
            let one = try StoreCeiling.measure(durability: durability, batch: 1, rows: min(rows, 10_000), dir: dir)
            let hundred = try StoreCeiling.measure(durability: durability, batch: 100, rows: rows * 5, dir: dir)
            ceilings.append(String(format: "| %@ | %.0f | %.0f |", durability, one, hundred))
        }
        emit("")
        emit("Raw GRDB append ceiling, same disk, same run (WAL, ~560-byte rows):")
        emit("")
        emit("| durability | 1 row per transaction, rows/s | 100 rows per transaction, rows/s |")
        emit("|---|---:|---:|")
        for c in ceilings { emit(c) }
    }

    func waitReady(client: HTTPClient) async throws {
        for _ in 0..<300 {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/readyz")
            request.method = .GET
            if let r = try? await client.execute(request, timeout: .seconds(1)), r.status == .ok { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("the server did not become ready on port \(port)")
    }
}
