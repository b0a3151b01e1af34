import Foundation
import Logging
import Metrics
import MillwrightCore
import MillwrightEngine
import MillwrightFiles
import MillwrightSQLite
import Testing

/// The file sink on a real folder and store, driven by the delivery engine.
@Suite struct FileSinkTests {
    struct Harness {
        let store: SQLiteStore
        let folder: String
        let directory: URL

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("mw-files-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            store = try SQLiteStore(path: directory.appendingPathComponent("m.sqlite").path)
            folder = directory.appendingPathComponent("out").path
        }

        func send(_ id: String, order: String, quantity: String = "1") async throws {
            let text = """
                {"specversion":"1.0","id":"\(id)","source":"mes/test","type":"mfg.production.completed.v1","data":{"order":"\(order)","quantity":\(quantity),"uom":"H87"}}
                """
            _ = try await store.append([try EventDecoder().decode(try JSONParser().parse(text))], receivedAt: Date())
        }

        func events() async throws -> [StoredEvent] { try await store.events(EventQuery()) }

        func files() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: folder).sorted() }

        func read(_ name: String) throws -> String { try String(contentsOfFile: (folder as NSString).appendingPathComponent(name), encoding: .utf8) }
    }

    @Test func jsonLinesOneFilePerEventAndNoDuplicateOnRedelivery() async throws {
        let h = try Harness()
        let sink = FileSink(targets: [FileTarget(name: "mes", folder: h.folder, format: .jsonl)], journal: h.store)
        try await h.send("e1", order: "MO-1")
        let event = try #require(try await h.events().first)
        guard case .applied(let summary) = await sink.deliver(event, operation: "mes") else { Issue.record("not applied"); return }
        #expect(summary == "written to mes-1.jsonl")
        #expect(try h.files() == ["mes-1.jsonl"], "no temporary file is left behind")
        let line = try h.read("mes-1.jsonl")
        #expect(line.hasSuffix("\n") && line.split(separator: "\n").count == 1)
        #expect(try JSONParser().parse(Array(line.utf8.dropLast()))["id"]?.stringValue == "e1")

        // A redelivery (a crash before the outcome was recorded, or a replay) writes nothing again.
        guard case .alreadyApplied = await sink.deliver(event, operation: "mes") else { Issue.record("written twice"); return }
        #expect(try h.files() == ["mes-1.jsonl"])
        #expect(try h.read("mes-1.jsonl") == line)
    }

    @Test func csvColumnsQuotingAndMicroBatchesThroughTheEngine() async throws {
        let h = try Harness()
        let target = FileTarget(
            name: "erp", folder: h.folder, format: .csv,
            columns: [FileTarget.Column(name: "order", pointer: "/data/order"), FileTarget.Column(name: "qty", pointer: "/data/quantity"),
                      FileTarget.Column(name: "missing", pointer: "/data/nothing")],
            prefix: "completions")
        let sink = FileSink(targets: [target], journal: h.store)
        var flow = Flow(name: "to-erp", types: ["mfg.production.completed.v1"], sink: "file", operation: "erp")
        flow.sync = .microBatch(max: 3, window: 60)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let router = DeliveryRouter(store: h.store, flows: [flow], logger: logger)
        let worker = DeliveryWorker(store: h.store, flows: [flow], sinks: [sink], owner: "w", metricsFactory: NOOPMetricsHandler.instance, logger: logger)
        try await h.send("e1", order: "MO-1", quantity: "2.50")  // the log keeps numbers canonical: 2.5
        try await h.send("e2", order: #"MO \"2\", line 3"#)
        try await h.send("e3", order: "MO-3")
        try await router.routeOnce()
        #expect(try await worker.runOnce() == 3)
        #expect(try h.files() == ["completions-1-3.csv"], "one micro-batch, one file")
        let csv = try h.read("completions-1-3.csv")
        #expect(csv == "order,qty,missing\r\nMO-1,2.5,\r\n\"MO \"\"2\"\", line 3\",1,\r\nMO-3,1,\r\n")
        let states = try await h.store.deliveries(DeliveryQuery()).map(\.state)
        #expect(states == [.done, .done, .done])

        // Replaying one of them adds no row anywhere.
        let events = try await h.events()
        let outcomes = await sink.deliverBatch(Array(events.prefix(2)), operation: "erp")
        #expect(outcomes.allSatisfy { if case .alreadyApplied = $0 { true } else { false } })
        #expect(try h.files() == ["completions-1-3.csv"])
    }

    @Test func anUnwritableFolderIsRetried() async throws {
        let h = try Harness()
        // A file where the folder should be.
        let blocked = h.directory.appendingPathComponent("blocked").path
        _ = FileManager.default.createFile(atPath: blocked, contents: Data())
        let sink = FileSink(targets: [FileTarget(name: "x", folder: blocked, format: .jsonl)], journal: h.store)
        try await h.send("e1", order: "MO-1")
        let event = try #require(try await h.events().first)
        guard case .transient(let code, _, _) = await sink.deliver(event, operation: "x") else { Issue.record("not transient"); return }
        #expect(code == FileSink.Code.writeFailed)
        guard case .permanent(let unknown, _) = await sink.deliver(event, operation: "nope") else { Issue.record("not permanent"); return }
        #expect(unknown == FileSink.Code.unknownTarget)
    }
}

extension FileSinkTests {
    @Test func theSplitPiecesOfAnEventAreOneFileEach() async throws {
        let h = try Harness()
        let sink = FileSink(targets: [FileTarget(name: "lots", folder: h.folder, format: .jsonl)], journal: h.store)
        let text = #"{"specversion":"1.0","id":"e1","source":"mes/test","type":"mfg.production.completed.v1","data":{"order":"MO-1","quantity":2,"uom":"H87","lots":[{"lot":"L1","quantity":1},{"lot":"L2","quantity":1}]}}"#
        _ = try await h.store.append([try EventDecoder().decode(try JSONParser().parse(text))], receivedAt: Date())
        var flow = Flow(name: "lots", types: ["mfg.production.completed.v1"], sink: "file", operation: "lots")
        flow.steps = [.split(pointer: "/data/lots", into: "/data/lot")]
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        try await DeliveryRouter(store: h.store, flows: [flow], logger: logger).routeOnce()
        let worker = DeliveryWorker(store: h.store, flows: [flow], sinks: [sink], owner: "w", metricsFactory: NOOPMetricsHandler.instance, logger: logger)
        #expect(try await worker.runOnce() == 1)
        #expect(try h.files() == ["lots-1.1.jsonl", "lots-1.2.jsonl"])
        let lots = try h.files().map { try JSONParser().parse(Array(try h.read($0).utf8.dropLast()))["data"]?["lot"]?["lot"]?.stringValue }
        #expect(lots == ["L1", "L2"])
    }
}
