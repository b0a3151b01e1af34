import Foundation
import Logging
import Metrics
import MillwrightCore
import MillwrightEngine
import MillwrightSQLite
import MillwrightWebhooks
import Synchronization
import MillwrightTesting
import Testing

extension SubscriptionManager: WebhookEndpoints {}

/// Outbound webhooks through the real engine, a real SQLite store and a real HTTP receiver on loopback,
/// with an injected clock: every wait is the clock moved forward, never a sleep.
@Suite struct WebhookDeliveryTests {
    static var quiet: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    struct Harness {
        let store: SQLiteStore
        let clock = TestClock()
        let manager: SubscriptionManager
        let router: DeliveryRouter
        let worker: DeliveryWorker
        let directory: URL
        static let admin = SubscriptionManager.Actor(name: "test-admin", origin: "test")

        /// - Parameter timeout: per webhook call. AsyncHTTPClient retries a refused connection until then.
        init(timeout: TimeInterval = 5, breakers: CircuitBreakers = CircuitBreakers(threshold: 100)) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("mw-webhooks-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            store = try SQLiteStore(path: directory.appendingPathComponent("m.sqlite").path)
            let clock = self.clock
            let now: @Sendable () -> Date = { clock.now }
            manager = SubscriptionManager(store: store, hasher: { text in String(text.hashValue) }, now: now, metricsFactory: NOOPMetricsHandler.instance, logger: WebhookDeliveryTests.quiet)
            let sink = WebhookSink(endpoints: manager, timeout: timeout, now: now, logger: WebhookDeliveryTests.quiet)
            router = DeliveryRouter(store: store, flows: [], now: now, source: manager.flows, logger: WebhookDeliveryTests.quiet)
            worker = DeliveryWorker(
                store: store, flows: [], sinks: [sink], owner: "webhooks", concurrency: 8, lease: 60, now: now, random: { 1 },
                breakers: breakers, source: manager.flows, metricsFactory: NOOPMetricsHandler.instance, logger: WebhookDeliveryTests.quiet)
        }

        func subscribe(_ url: String, ordered: Bool = false, disableAfter: TimeInterval? = nil, filter: [FlowStep]? = nil) async throws -> Subscription {
            var changes = SubscriptionManager.Changes()
            changes.url = url
            changes.types = ["mfg.production.*"]
            changes.ordered = ordered
            changes.disableAfter = disableAfter
            changes.filter = filter
            changes.headers = ["x-plant": "north"]
            return try await manager.create(changes, by: Self.admin)
        }

        @discardableResult
        func send(_ id: String, order: String, line: String = "L1") async throws -> Int64 {
            let text = """
                {"specversion":"1.0","id":"\(id)","source":"mes/test","type":"mfg.production.completed.v1","subject":"production-order/\(order)","data":{"order":"\(order)","quantity":1,"uom":"H87","line":"\(line)"}}
                """
            let event = try EventDecoder().decode(try JSONParser().parse(text))
            _ = try await store.append([event], receivedAt: clock.now)
            var query = EventQuery()
            query.id = id
            return try await store.events(query).first?.seq ?? 0
        }

        /// Routes, then runs worker rounds until one finds nothing due.
        func deliver() async throws {
            try await router.routeOnce()
            while try await worker.runOnce() > 0 {}
        }

        func deliveries(_ s: Subscription) async throws -> [Delivery] {
            try await store.deliveries(DeliveryQuery(flow: s.flowName))
        }
    }

    @Test func signsPerStandardWebhooks() async throws {
        // The specification's own test vector.
        let vector = try StandardWebhooksSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        #expect(vector.sign(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Array(#"{"test": 2432232314}"#.utf8))
            == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")

        let receiver = try await Receiver.start()
        defer { receiver.stop() }
        let h = try Harness()
        let s = try await h.subscribe(receiver.url)
        try await h.send("e1", order: "MO-1")
        try await h.deliver()
        let request = try #require(receiver.requests.first)
        #expect(receiver.requests.count == 1)
        #expect(request.headers["content-type"] == "application/cloudevents+json")
        #expect(request.headers["x-plant"] == "north")
        #expect(request.headers["webhook-timestamp"] == "1800000000")
        let id = try #require(request.headers["webhook-id"])
        let signature = try StandardWebhooksSecret(s.secret).sign(id: id, timestamp: 1_800_000_000, body: Array(request.body.utf8))
        #expect(request.headers["webhook-signature"] == signature)
        #expect(request.eventID == "e1", "the body is the CloudEvent")
        #expect(try await h.deliveries(s).map(\.state) == [.done])
        let attempts = try await h.store.attempts(deliveryID: try #require(try await h.deliveries(s).first).id)
        #expect(attempts.first?.result?.hasPrefix("HTTP 200") == true)
    }

    @Test func retriesOnTheScheduleThenDisablesThenReenablesAndReplays() async throws {
        let receiver = try await Receiver.start()
        defer { receiver.stop() }
        receiver.answer(503)
        let h = try Harness()
        let s = try await h.subscribe(receiver.url, disableAfter: 3_600)
        let start = h.clock.now
        try await h.send("e1", order: "MO-1")
        try await h.deliver()
        #expect(receiver.requests.count == 1, "attempt 1: at once")

        // Attempts 2, 3, 4 come exactly 5 s, 5 min and 30 min after the failure before, not a second sooner.
        for (attempt, delay) in [(2, 5.0), (3, 300.0), (4, 1_800.0)] {
            let delivery = try #require(try await h.deliveries(s).first)
            #expect(delivery.state == .retrying)
            #expect(delivery.nextAttemptAt == h.clock.now.addingTimeInterval(delay), "attempt \(attempt) is due \(delay) s later")
            h.clock.advance(delay - 1)
            try await h.deliver()
            #expect(receiver.requests.count == attempt - 1, "not before its time")
            h.clock.advance(1)
            try await h.deliver()
            #expect(receiver.requests.count == attempt)
        }
        #expect(try #require(await h.manager.subscription(s.id)).state == .enabled, "failing for 35 min: under the 1 h limit")
        #expect(try #require(await h.manager.subscription(s.id)).failingSince == start)

        // Attempt 5, 2 h later: failing for 2 h 35 min, over the limit: the subscription is disabled.
        h.clock.advance(7_200)
        try await h.deliver()
        #expect(receiver.requests.count == 5)
        let disabled = try #require(await h.manager.subscription(s.id))
        #expect(disabled.state == .disabled)
        #expect(disabled.stateReason?.contains("HTTP 503") == true)
        #expect(disabled.stateReason?.contains("1 h") == true)
        let audit = try await h.store.auditEntries(after: nil, limit: 100)
        let target = "subscription/\(s.id)"
        let disabling = audit.map(\.draft).filter { $0.action == "subscription.disable" && $0.target == target }
        #expect(disabling.map(\.actor) == ["millwright"])

        // Disabled: held, not lost: new events are routed and kept, nothing is attempted.
        try await h.send("e2", order: "MO-2")
        h.clock.advance(86_400)
        try await h.deliver()
        #expect(receiver.requests.count == 5, "nothing is sent to a disabled endpoint")
        #expect(try await h.deliveries(s).map(\.state) == [.retrying, .pending])

        // The receiver is back; an operator re-enables: both go at once.
        receiver.answer(200)
        _ = try await h.manager.setState(s.id, .enabled, reason: nil, by: Harness.admin)
        try await h.deliver()
        #expect(receiver.requests.count == 7)
        #expect(try await h.deliveries(s).map(\.state) == [.done, .done])
        #expect(try #require(await h.manager.subscription(s.id)).failingSince == nil)

        // Replay: the same message again, to this endpoint, with the same webhook-id.
        var query = EventQuery()
        query.id = "e1"
        let ids = try await h.manager.replay(s.id, events: try await h.store.events(query), by: Harness.admin)
        #expect(ids.count == 1)
        try await h.deliver()
        let e1 = receiver.requests.filter { $0.eventID == "e1" }
        #expect(e1.count == 7, "5 failures, 1 after re-enabling, 1 replay")
        #expect(Set(e1.compactMap { $0.headers["webhook-id"] }).count == 1, "webhook-id is stable across retries and replays")
        #expect(try await h.deliveries(s).map(\.state) == [.done, .done])
    }

    @Test func exhaustedScheduleIsADeadLetter() async throws {
        let receiver = try await Receiver.start()
        defer { receiver.stop() }
        receiver.answer(500)
        let h = try Harness()
        let s = try await h.subscribe(receiver.url)
        try await h.send("e1", order: "MO-1")
        try await h.deliver()
        for delay in RetryPolicy.webhookSchedule.dropFirst() {
            h.clock.advance(delay)
            try await h.deliver()
        }
        #expect(receiver.requests.count == RetryPolicy.webhookSchedule.count)
        let delivery = try #require(try await h.deliveries(s).first)
        #expect(delivery.state == .dead)
        #expect(delivery.lastError?.contains("gave up after 7 attempts") == true)
        #expect(try #require(await h.manager.subscription(s.id)).state == .enabled, "17 h 35 min of failures: under the 5 day default")
    }

    @Test func retryAfterIsHonoured() async throws {
        let receiver = try await Receiver.start()
        defer { receiver.stop() }
        receiver.answer(429, retryAfter: "120")
        let h = try Harness()
        let s = try await h.subscribe(receiver.url)
        try await h.send("e1", order: "MO-1")
        try await h.deliver()
        #expect(try #require(try await h.deliveries(s).first).nextAttemptAt == h.clock.now.addingTimeInterval(120), "Retry-After 120 beats the schedule's 5 s")
    }

    @Test func orderedSubscriptionKeepsAPartitionInOrder() async throws {
        let receiver = try await Receiver.start()
        defer { receiver.stop() }
        receiver.fail(["e1"])
        let h = try Harness()
        let s = try await h.subscribe(receiver.url, ordered: true)
        try await h.send("e1", order: "MO-1")
        try await h.send("e2", order: "MO-1")
        try await h.send("e3", order: "MO-2")
        try await h.deliver()
        #expect(receiver.requests.map(\.eventID).sorted() == ["e1", "e3"], "e2 waits behind e1 (same order); MO-2 does not")
        receiver.fail([])
        h.clock.advance(5)
        try await h.deliver()
        #expect(receiver.requests.map(\.eventID).filter { $0 != "e3" } == ["e1", "e1", "e2"])
        #expect(try await h.deliveries(s).map(\.partition).allSatisfy { $0.hasPrefix("subscription/\(s.id)/") }, "its partitions are its own")
    }

    @Test func unorderedSubscriptionNeverBlocks() async throws {
        let receiver = try await Receiver.start()
        defer { receiver.stop() }
        receiver.fail(["e1"])
        let h = try Harness()
        let s = try await h.subscribe(receiver.url, ordered: false)
        try await h.send("e1", order: "MO-1")
        try await h.send("e2", order: "MO-1")
        try await h.deliver()
        #expect(receiver.requests.map(\.eventID).sorted() == ["e1", "e2"], "e2 goes while e1 is failing")
        #expect(try await h.deliveries(s).map(\.state) == [.retrying, .done])

        // Deleted: the message still waiting becomes a dead letter that says why.
        try await h.manager.delete(s.id, by: Harness.admin)
        let waiting = try #require(try await h.deliveries(s).first)
        #expect(waiting.state == .dead)
        #expect(waiting.lastError == "the subscription was deleted")
    }

    @Test func filterAndPatternsChooseTheEvents() async throws {
        let receiver = try await Receiver.start()
        defer { receiver.stop() }
        let h = try Harness()
        let onL2 = FlowStep.filter(pointer: JSONPointer(rawValue: "/data/line"), condition: .equals(.string("L2")), negate: false)
        let s = try await h.subscribe(receiver.url, filter: [onL2])
        try await h.send("e1", order: "MO-1", line: "L1")
        try await h.send("e2", order: "MO-2", line: "L2")
        let scrapText = #"{"specversion":"1.0","id":"x1","source":"mes/test","type":"mfg.scrap.reported.v1","data":{"product":"P-1","quantity":1,"uom":"H87"}}"#
        let scrapJSON = try JSONParser().parse(scrapText)
        let scrap = try EventDecoder().decode(scrapJSON)
        _ = try await h.store.append([scrap], receivedAt: h.clock.now)
        try await h.deliver()
        #expect(receiver.requests.map(\.eventID) == ["e2"])
        #expect(try await h.deliveries(s).count == 2, "the scrap event does not match mfg.production.*")
    }

    @Test func aChangeTakesEffectWithoutRestart() async throws {
        let first = try await Receiver.start()
        let second = try await Receiver.start()
        defer {
            first.stop()
            second.stop()
        }
        let h = try Harness()
        let s = try await h.subscribe(first.url)
        try await h.send("e1", order: "MO-1")
        try await h.deliver()
        var changes = SubscriptionManager.Changes()
        changes.url = second.url
        _ = try await h.manager.update(s.id, changes, by: Harness.admin)
        try await h.send("e2", order: "MO-2")
        try await h.deliver()
        #expect(first.requests.map(\.eventID) == ["e1"])
        #expect(second.requests.map(\.eventID) == ["e2"])

        // Rotation: for a day both secrets sign.
        let rotated = try await h.manager.rotateSecret(s.id, by: Harness.admin)
        try await h.send("e3", order: "MO-3")
        try await h.deliver()
        let signatures = second.requests.last?.headers["webhook-signature"]?.split(separator: " ").map(String.init) ?? []
        #expect(signatures.count == 2)
        let request = try #require(second.requests.last)
        let id = try #require(request.headers["webhook-id"])
        #expect(signatures.first == (try StandardWebhooksSecret(rotated.secret).sign(id: id, timestamp: 1_800_000_000, body: Array(request.body.utf8))))
        #expect(signatures.last == (try StandardWebhooksSecret(s.secret).sign(id: id, timestamp: 1_800_000_000, body: Array(request.body.utf8))))

        // A deleted subscription is no longer routed to.
        try await h.manager.delete(s.id, by: Harness.admin)
        try await h.send("e4", order: "MO-4")
        try await h.deliver()
        #expect(second.requests.count == 2)
        #expect(try await h.deliveries(s).count == 3)
        #expect(try await h.deliveries(s).map(\.state) == [.done, .done, .done])
    }

    @Test func unreachableReceiverIsATransientFailure() async throws {
        let h = try Harness(timeout: 0.5)
        // A port nobody listens on: connection refused.
        let s = try await h.subscribe("http://127.0.0.1:9/hooks")
        try await h.send("e1", order: "MO-1")
        try await h.deliver()
        let delivery = try #require(try await h.deliveries(s).first)
        #expect(delivery.state == .retrying)
        #expect(delivery.lastErrorCode == WebhookSink.Code.unreachable)
        #expect(delivery.lastError?.hasPrefix("HTTP") == false)
        #expect(try #require(await h.manager.subscription(s.id)).failingSince == h.clock.now, "the failure counts toward disabling")
    }

    @Test func oneEndpointDownDoesNotHoldBackAnother() async throws {
        let down = try await Receiver.start()
        let up = try await Receiver.start()
        defer {
            down.stop()
            up.stop()
        }
        down.answer(503)
        let breakers = CircuitBreakers(threshold: 3, cooldown: 60)
        let h = try Harness(breakers: breakers)
        let a = try await h.subscribe(down.url)
        let b = try await h.subscribe(up.url)
        for i in 1...5 { try await h.send("e\(i)", order: "MO-\(i)") }
        try await h.deliver()
        #expect(up.requests.count == 5, "the healthy endpoint got everything")
        #expect(breakers.state(of: "webhook/\(a.id)").phase == .open, "the endpoint that is down has its own breaker, open")
        #expect(breakers.state(of: "webhook/\(b.id)").phase == .closed)
        let triedWhileDown = down.requests.count
        // Retries come due, but the breaker holds them until its cool-down ends; the other endpoint goes on.
        h.clock.advance(5)
        try await h.send("e6", order: "MO-6")
        try await h.deliver()
        #expect(down.requests.count == triedWhileDown)
        #expect(up.requests.count == 6)
    }

    @Test func scheduleDelays() {
        let policy = RetryPolicy(schedule: RetryPolicy.webhookSchedule)
        #expect(policy.maxAttempts == 7)
        #expect((1...6).map { policy.delay(afterAttempt: $0, unit: 0.5) } == [5, 300, 1_800, 7_200, 18_000, 36_000])
        #expect(RetryPolicy(schedule: []).maxAttempts == 1)
    }
}
