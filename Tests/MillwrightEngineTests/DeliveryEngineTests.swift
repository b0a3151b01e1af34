import Foundation
import Logging
import Metrics
import MillwrightCore
import MillwrightEngine
import MillwrightSQLite
import MillwrightTesting
import Synchronization
import Testing

/// The delivery engine on a real SQLite store, with an injected clock: no sleeps.
@Suite struct DeliveryEngineTests {
    static var quiet: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    struct Harness {
        let store: SQLiteStore
        let clock = TestClock()
        let sink = RecordingSink()
        let flow: Flow
        let directory: URL

        init(retry: RetryPolicy = RetryPolicy(maxAttempts: 3, initialDelay: 1, maxDelay: 10), gap: GapPolicy = GapPolicy(), flow custom: Flow? = nil) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("mw-engine-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            store = try SQLiteStore(path: directory.appendingPathComponent("m.sqlite").path)
            var flow = Flow(name: "f", types: ["mfg.production.completed.v1"], sink: "recording", operation: "record", retry: retry, partition: .pointer("/data/order"))
            flow.gap = gap
            self.flow = custom ?? flow
        }

        var router: DeliveryRouter { DeliveryRouter(store: store, flows: [flow], now: { [clock] in clock.now }, logger: DeliveryEngineTests.quiet) }

        func worker(_ owner: String = "w1", lease: TimeInterval = 60, breakers: CircuitBreakers = CircuitBreakers()) -> DeliveryWorker {
            DeliveryWorker(
                store: store, flows: [flow], sinks: [sink], owner: owner, concurrency: 8, lease: lease, now: { [clock] in clock.now }, random: { 1 },
                breakers: breakers, metricsFactory: NOOPMetricsHandler.instance, logger: DeliveryEngineTests.quiet)
        }

        func send(_ id: String, order: String, type: String = "mfg.production.completed.v1", sequence: Int? = nil, partitionKey: String? = nil) async throws {
            let data = type == "mfg.production.completed.v1" ? #"{"order":"\#(order)","quantity":1,"uom":"H87"}"# : #"{"product":"P-1","quantity":1,"uom":"H87"}"#
            let sequenceMember = (sequence.map { #","sequence":"\#($0)""# } ?? "") + (partitionKey.map { #","partitionkey":"\#($0)""# } ?? "")
            let text = """
                {"specversion":"1.0","id":"\(id)","source":"mes/test","type":"\(type)"\(sequenceMember),"data":\(data)}
                """
            let event = try EventDecoder().decode(try JSONParser().parse(text))
            _ = try await store.append([event], receivedAt: clock.now)
        }

        func states() async throws -> [String: DeliveryState] {
            var result: [String: DeliveryState] = [:]
            for d in try await store.deliveries(DeliveryQuery(limit: 1000)) {
                var q = EventQuery()
                q.after = d.eventSeq - 1
                q.limit = 1
                if let e = try await store.events(q).first { result[e.id] = d.state }
            }
            return result
        }
    }

    @Test func routesEachEventOnceToMatchingFlows() async throws {
        let h = try Harness()
        try await h.send("e1", order: "MO-1")
        try await h.send("x1", order: "MO-1", type: "mfg.scrap.reported.v1")
        #expect(try await h.router.routeOnce() == 2)
        #expect(try await h.router.routeOnce() == 0, "the cursor moved with the deliveries")
        let deliveries = try await h.store.deliveries(DeliveryQuery())
        #expect(deliveries.count == 1)
        #expect(deliveries.first?.partition == "MO-1")
        #expect(try await h.store.routerCursor() == 2)
    }

    @Test func aPartitionIsStrictlyOrderedAndRetriesWithBackoff() async throws {
        let h = try Harness()
        h.sink.script("e1", .transient(code: "MW-ODOO-0011", message: "connection reset", retryAfter: nil))
        for (id, order) in [("e1", "MO-1"), ("e2", "MO-1"), ("e3", "MO-2")] { try await h.send(id, order: order) }
        try await h.router.routeOnce()
        let worker = h.worker()
        #expect(try await worker.runOnce() == 2, "e1 and e3: e2 waits behind e1")
        #expect(try await h.states() == ["e1": .retrying, "e2": .pending, "e3": .done])
        #expect(try await worker.runOnce() == 0, "e1 is not due yet, and e2 still waits")
        h.clock.advance(1)  // attempt 1 → up to 1 s (random = 1)
        #expect(try await worker.runOnce() == 2, "e1, then e2 in the slot e1 left (the window refills)")
        #expect(Set(h.sink.delivered.prefix(2)) == ["e1", "e3"], "the first round runs e1 and e3 concurrently")
        #expect(Array(h.sink.delivered.dropFirst(2)) == ["e1", "e2"])
        #expect(try await h.states() == ["e1": .done, "e2": .done, "e3": .done])
        let e1 = try #require(try await h.store.deliveries(DeliveryQuery()).first)
        let attempts = try await h.store.attempts(deliveryID: e1.id)
        #expect(attempts.map(\.outcome) == [.retry, .done])
        #expect(attempts.first?.errorCode == "MW-ODOO-0011")
    }

    @Test func permanentErrorsAreDeadAtOnceAndReplayable() async throws {
        let h = try Harness()
        h.sink.script("e1", .permanent(code: "MW-ODOO-0015", message: "product 'X-1' is not in Odoo"))
        try await h.send("e1", order: "MO-1")
        try await h.send("e2", order: "MO-1")
        try await h.router.routeOnce()
        let worker = h.worker()
        try await worker.runOnce()
        try await worker.runOnce()
        #expect(try await h.states() == ["e1": .dead, "e2": .done], "a dead letter does not block its partition")
        let dead = try #require(try await h.store.deliveries(DeliveryQuery(states: [.dead])).first)
        #expect(dead.lastError == "product 'X-1' is not in Odoo")
        #expect(dead.lastErrorCode == "MW-ODOO-0015")
        #expect(try await h.store.replay(dead.id, at: h.clock.now))
        #expect(try await h.store.replay(dead.id, at: h.clock.now) == false, "only a dead delivery is replayed")
        try await worker.runOnce()
        #expect(try await h.states()["e1"] == .done)
        #expect(try await h.store.attempts(deliveryID: dead.id).map(\.outcome) == [.dead, .done])
    }

    @Test func retriesAreExhaustedIntoADeadLetter() async throws {
        let h = try Harness(retry: RetryPolicy(maxAttempts: 3, initialDelay: 1, maxDelay: 10))
        let failure = SinkOutcome.transient(code: "MW-ODOO-0009", message: "HTTP 502", retryAfter: nil)
        h.sink.script("e1", failure, failure, failure)
        try await h.send("e1", order: "MO-1")
        try await h.router.routeOnce()
        let worker = h.worker()
        for wait in [0.0, 1, 2] {
            h.clock.advance(wait)
            #expect(try await worker.runOnce() == 1, "attempt after \(wait) s")
        }
        let dead = try #require(try await h.store.deliveries(DeliveryQuery()).first)
        #expect(dead.state == .dead)
        #expect(dead.attempts == 3)
        #expect(dead.lastError?.hasPrefix("gave up after 3 attempts") == true)
    }

    @Test func anExpiredLeaseIsTakenOverAndTheLateWorkerIsFenced() async throws {
        let h = try Harness()
        try await h.send("e1", order: "MO-1")
        try await h.router.routeOnce()
        let claimed = try await h.store.claim(owner: "crashed", now: h.clock.now, lease: 30, limit: 10, flows: nil, gaps: [:])
        #expect(claimed.count == 1)
        #expect(try await h.worker("w2").runOnce() == 0, "the lease still holds")
        h.clock.advance(31)
        #expect(try await h.worker("w2").runOnce() == 1)
        let late = DeliveryAttempt(deliveryID: claimed[0].id, number: 1, startedAt: h.clock.now, durationMicroseconds: 1, outcome: .done)
        #expect(try await h.store.complete(claimed[0].id, owner: "crashed", attempt: late, as: .done(result: "late"), at: h.clock.now) == false)
        #expect(try await h.states()["e1"] == .done)
    }

    @Test func anOutageOpensTheBreakerAndCallsStayBounded() async throws {
        let h = try Harness(retry: RetryPolicy(maxAttempts: 100, initialDelay: 0.001, maxDelay: 0.001))
        h.sink.outage(.transient(code: "MW-ODOO-0011", message: "connection refused", retryAfter: nil))
        for i in 1...20 { try await h.send("e\(i)", order: "MO-\(i)") }
        try await h.router.routeOnce()
        let breakers = CircuitBreakers(threshold: 5, cooldown: 10, maxCooldown: 40)
        let worker = h.worker(breakers: breakers)
        try await worker.runOnce()  // 8 in flight at once: they all fail
        #expect(breakers.state(of: "recording").phase == .open)
        let callsWhenOpened = h.sink.delivered.count
        for _ in 0..<5 {
            h.clock.advance(1)
            #expect(try await worker.runOnce() == 0, "open: nothing is sent")
        }
        #expect(h.sink.delivered.count == callsWhenOpened)
        h.clock.advance(10)
        #expect(try await worker.runOnce() == 1, "half-open: one probe")
        #expect(breakers.state(of: "recording").phase == .open, "the probe failed: open again")
        #expect(breakers.state(of: "recording").cooldown == 20, "cooldown doubles")
        h.clock.advance(20)
        // Odoo is back: the probe succeeds, the breaker closes, everything drains.
        h.sink.outage(nil)
        var rounds = 0
        while try await h.states().values.contains(where: { $0 != .done }) && rounds < 50 {
            try await worker.runOnce()
            h.clock.advance(1)
            rounds += 1
        }
        #expect(h.sink.delivered.count == callsWhenOpened + 1 + 20, "the outage cost \(callsWhenOpened) calls and one probe")
        #expect(breakers.state(of: "recording").phase == .closed)
        #expect(try await h.states().values.allSatisfy { $0 == .done })
    }

    @Test func aPartitionFollowsSequenceNotArrival() async throws {
        let h = try Harness()
        try await h.send("s1", order: "MO-1", sequence: 1)
        try await h.send("s3", order: "MO-1", sequence: 3)
        try await h.send("s2", order: "MO-1", sequence: 2)
        try await h.router.routeOnce()
        let worker = h.worker()
        while try await worker.runOnce() > 0 {}
        #expect(h.sink.delivered == ["s1", "s2", "s3"])
    }

    @Test func aSequenceGapIsHeldThenDelivered() async throws {
        let h = try Harness(gap: GapPolicy(hold: 30, deadLetter: false))
        try await h.send("s1", order: "MO-1", sequence: 1)
        try await h.send("s3", order: "MO-1", sequence: 3)
        try await h.router.routeOnce()
        let worker = h.worker()
        #expect(try await worker.runOnce() == 1)
        #expect(try await worker.runOnce() == 0, "3 waits for 2")
        h.clock.advance(10)
        try await h.send("s2", order: "MO-1", sequence: 2)  // arrives within the hold
        try await h.router.routeOnce()
        while try await worker.runOnce() > 0 {}
        #expect(h.sink.delivered == ["s1", "s2", "s3"])

        try await h.send("s5", order: "MO-1", sequence: 5)  // 4 never comes
        try await h.router.routeOnce()
        #expect(try await worker.runOnce() == 0)
        h.clock.advance(31)
        #expect(try await worker.runOnce() == 1, "delivered after the hold")
        #expect(h.sink.delivered.last == "s5")
    }

    @Test func aSequenceThatWentToNoFlowIsNotAGap() async throws {
        let h = try Harness(gap: GapPolicy(hold: 30, deadLetter: false))
        try await h.send("p1", order: "MO-9", sequence: 1, partitionKey: "MO-9")
        try await h.send("p2", order: "MO-9", type: "mfg.scrap.reported.v1", sequence: 2, partitionKey: "MO-9")  // no flow takes it
        try await h.send("p3", order: "MO-9", sequence: 3, partitionKey: "MO-9")
        try await h.router.routeOnce()
        let worker = h.worker()
        while try await worker.runOnce() > 0 {}
        #expect(h.sink.delivered == ["p1", "p3"], "2 is in the log: 3 does not wait for it")
        try await h.send("p5", order: "MO-9", sequence: 5, partitionKey: "MO-9")  // 4 never came
        try await h.router.routeOnce()
        #expect(try await worker.runOnce() == 0, "a real gap is still held")
    }

    @Test func aSequenceGapCanBeADeadLetter() async throws {
        let h = try Harness(gap: GapPolicy(hold: 30, deadLetter: true))
        try await h.send("s1", order: "MO-1", sequence: 1)
        try await h.send("s3", order: "MO-1", sequence: 3)
        try await h.router.routeOnce()
        let worker = h.worker()
        try await worker.runOnce()
        h.clock.advance(31)
        #expect(try await worker.runOnce() == 0)
        let dead = try #require(try await h.store.deliveries(DeliveryQuery(states: [.dead])).first)
        #expect(dead.lastErrorCode == "MW-FLOW-0007")
        #expect(dead.lastError?.hasPrefix("sequence gap in partition MO-1: expected 2, got 3") == true)
    }

    @Test func stepsFilterAndSplitBeforeTheSink() async throws {
        var h = try Harness()
        var flow = h.flow
        flow.steps = [
            .filter(pointer: "/data/order", condition: .equals("MO-skip"), negate: true),
            .split(pointer: "/data/pieces", into: "/data/piece"),
        ]
        h = try Harness(flow: flow)
        let text = #"{"specversion":"1.0","id":"p1","source":"mes/test","type":"mfg.production.completed.v1","data":{"order":"MO-1","quantity":1,"uom":"H87"}}"#
        _ = try await h.store.append([try EventDecoder().decode(try JSONParser().parse(text))], receivedAt: h.clock.now)
        try await h.send("skip", order: "MO-skip")
        try await h.router.routeOnce()
        try await h.worker().runOnce()
        let deliveries = try await h.store.deliveries(DeliveryQuery())
        #expect(deliveries.count == 2)
        #expect(deliveries.first?.state == .dead, "no /data/pieces to split: a step error is permanent")
        #expect(deliveries.first?.lastErrorCode == "MW-FLOW-0008")
        #expect(deliveries.last?.state == .done)
        #expect(deliveries.last?.result == "already applied: filtered out by the flow's steps: nothing to deliver")
        #expect(h.sink.delivered.isEmpty)
    }

    @Test func anXrefMissesUntilItIsAddedThenTheReplayIsMapped() async throws {
        var h = try Harness()
        var flow = h.flow
        flow.steps = [.xref(pointer: "/data/order", system: "mes", kind: "order", keepMissing: false)]
        h = try Harness(flow: flow)
        try await h.send("x1", order: "LINE4-JOB-17")
        try await h.router.routeOnce()
        try await h.worker().runOnce()
        let dead = try #require(try await h.store.deliveries(DeliveryQuery(states: [.dead])).first)
        #expect(dead.lastError == "step 1: xref: mes order 'LINE4-JOB-17' has no cross-reference: add it (PUT /v1/xrefs), then replay")
        try await h.store.putXrefs([CrossReference(system: "mes", kind: "order", externalID: "LINE4-JOB-17", value: "WH/MO/00042")])
        #expect(try await h.store.replay(dead.id, at: h.clock.now))
        try await h.worker().runOnce()
        #expect(try await h.states()["x1"] == .done)
        let delivered = try JSONParser().parse(try #require(h.sink.envelopes.last))
        #expect(delivered["data"]?["order"] == "WH/MO/00042")
    }

    @Test func aMicroBatchWaitsForItsSizeOrItsWindow() async throws {
        var h = try Harness()
        var flow = h.flow
        flow.sync = .microBatch(max: 4, window: 2)
        flow.partition = .event
        h = try Harness(flow: flow)
        for i in 1...3 { try await h.send("b\(i)", order: "MO-\(i)") }
        try await h.router.routeOnce()
        let worker = h.worker()
        #expect(try await worker.runOnce() == 0, "3 of 4, and the window is still open")
        for i in 4...9 { try await h.send("b\(i)", order: "MO-\(i)") }
        try await h.router.routeOnce()
        #expect(try await worker.runOnce() == 4, "full: the first 4 go at once")
        #expect(try await worker.runOnce() == 4)
        #expect(try await worker.runOnce() == 0, "one left, window open")
        h.clock.advance(2)
        #expect(try await worker.runOnce() == 1, "the window closed")
        #expect(h.sink.batches == [4, 4, 1])
        #expect(try await h.states().values.allSatisfy { $0 == .done })
    }

    @Test func aScheduledFlowHoldsItsDeliveriesUntilTheFiringAndDoesNotBlockRealtimeFlows() async throws {
        let h = try Harness()
        var nightly = h.flow
        nightly.name = "hourly"
        nightly.sync = .schedule(try CronSchedule("0 * * * *"), max: 3)
        let realtime = h.flow
        let router = DeliveryRouter(store: h.store, flows: [nightly, realtime], now: { [clock = h.clock] in clock.now }, logger: Self.quiet)
        let worker = DeliveryWorker(
            store: h.store, flows: [nightly, realtime], sinks: [h.sink], owner: "w", now: { [clock = h.clock] in clock.now }, random: { 1 },
            metricsFactory: NOOPMetricsHandler.instance, logger: Self.quiet)
        // 08:00:00 UTC: the next firing is 09:00.
        for i in 1...4 { try await h.send("s\(i)", order: "MO-\(i)") }
        try await router.routeOnce()
        #expect(try await worker.runOnce() == 4, "the realtime flow's four go at once, though the hourly flow holds earlier deliveries of the same orders")
        h.clock.advance(59 * 60 + 59)
        #expect(try await worker.runOnce() == 0, "08:59:59: the hourly flow still waits")
        h.clock.advance(1)
        #expect(try await worker.runOnce() == 3, "09:00: a batch of max 3")
        #expect(try await worker.runOnce() == 1)
        #expect(h.sink.batches == [3, 1])
        try await h.send("s5", order: "MO-5")
        try await router.routeOnce()
        #expect(try await worker.runOnce() == 1, "only the realtime delivery of the 09:00 event")
        h.clock.advance(3600)
        #expect(try await worker.runOnce() == 1, "10:00")
        let hourly = try await h.store.deliveries(DeliveryQuery(flow: "hourly", limit: 10))
        #expect(hourly.count == 5 && hourly.allSatisfy { $0.state == .done && $0.partition.hasPrefix("hourly|MO-") })
    }

    @Test func aSinkWithOnlyMicroBatchFlowsIsProbedAndRecovers() async throws {
        var h = try Harness(retry: RetryPolicy(maxAttempts: 100, initialDelay: 0.001, maxDelay: 0.001))
        var flow = h.flow
        flow.sync = .microBatch(max: 5, window: 1)
        flow.partition = .event
        flow.retry = RetryPolicy(maxAttempts: 100, initialDelay: 0.001, maxDelay: 0.001)
        h = try Harness(flow: flow)
        h.sink.outage(.transient(code: "MW-ODOO-0011", message: "connection refused", retryAfter: nil))
        for i in 1...5 { try await h.send("m\(i)", order: "MO-\(i)") }
        try await h.router.routeOnce()
        let breakers = CircuitBreakers(threshold: 5, cooldown: 10, maxCooldown: 40)
        let worker = h.worker(breakers: breakers)
        #expect(try await worker.runOnce() == 5)
        #expect(breakers.state(of: "recording").phase == .open)
        h.clock.advance(5)
        #expect(try await worker.runOnce() == 0, "open: no batch")
        h.sink.outage(nil)
        h.clock.advance(6)
        #expect(try await worker.runOnce() == 5, "half-open: one batch goes as the probe")
        #expect(breakers.state(of: "recording").phase == .closed)
        #expect(try await h.states().values.allSatisfy { $0 == .done })
    }

    @Test func aRateLimitedFlowSendsNoFasterThanItsTokens() async throws {
        var flow = Flow(name: "f", types: ["mfg.production.completed.v1"], sink: "recording", operation: "record", partition: .unordered)
        flow.rateLimit = Flow.RateLimit(perSecond: 2, burst: 3)
        let h = try Harness(flow: flow)
        for i in 0..<12 { try await h.send("e\(i)", order: "MO-\(i)") }
        _ = try await h.router.routeOnce()
        let worker = h.worker()
        #expect(try await worker.runOnce() == 3, "the burst")
        #expect(try await worker.runOnce() == 0, "no token left at the same instant")
        h.clock.advance(1)
        #expect(try await worker.runOnce() == 2, "two a second")
        h.clock.advance(0.5)
        #expect(try await worker.runOnce() == 1)
        h.clock.advance(3_600)
        #expect(try await worker.runOnce() == 3, "a quiet hour refills the bucket to its burst, no more")
        #expect(h.sink.envelopes.count == 9)
        let pending = try await h.store.deliveries(DeliveryQuery(states: [.pending]))
        #expect(pending.count == 3, "held, not failed: no attempt is spent while waiting for a token")
        #expect(pending.allSatisfy { $0.attempts == 0 })
    }

    @Test func backoffIsFullJitterAndCapped() {
        let policy = RetryPolicy(maxAttempts: 10, initialDelay: 1, maxDelay: 60)
        #expect(policy.delay(afterAttempt: 1, unit: 1) == 1)
        #expect(policy.delay(afterAttempt: 4, unit: 1) == 8)
        #expect(policy.delay(afterAttempt: 4, unit: 0.5) == 4)
        #expect(policy.delay(afterAttempt: 30, unit: 1) == 60)
        #expect(policy.delay(afterAttempt: 30, unit: 0) == 0)
    }

    @Test func flowGlobs() {
        #expect(Flow.glob("mfg.production.*", "mfg.production.completed.v1"))
        #expect(!Flow.glob("mfg.production.*", "mfg.scrap.reported.v1"))
        #expect(Flow.glob("*", "anything"))
        #expect(Flow.glob("mes/*/line-*", "mes/plant-1/line-4"))
        #expect(!Flow.glob("mes/*/line-*", "mes/plant-1/cell-4"))
    }
}
