import Foundation
import Logging
import Metrics
import MillwrightCore
import MillwrightEngine
import MillwrightSQLite
import MillwrightTesting
import Testing

/// Flows that change at run time (`FlowSource`), held flows, scoped and unordered partitions, and a
/// published retry schedule: the engine's side of webhook subscriptions, with a recording sink.
@Suite struct DynamicFlowsTests {
    typealias Harness = DeliveryEngineTests.Harness

    func worker(_ h: Harness, source: DynamicFlows, static flows: [Flow] = []) -> DeliveryWorker {
        DeliveryWorker(
            store: h.store, flows: flows, sinks: [h.sink], owner: "w", concurrency: 8, lease: 60, now: { [clock = h.clock] in clock.now }, random: { 1 },
            source: source, metricsFactory: NOOPMetricsHandler.instance, logger: DeliveryEngineTests.quiet)
    }

    func router(_ h: Harness, source: DynamicFlows, static flows: [Flow] = []) -> DeliveryRouter {
        DeliveryRouter(store: h.store, flows: flows, now: { [clock = h.clock] in clock.now }, source: source, logger: DeliveryEngineTests.quiet)
    }

    func flow(_ name: String, partition: Flow.Partition = .pointer("/data/order")) -> Flow {
        var flow = Flow(name: name, types: ["mfg.production.completed.v1"], sink: "recording", operation: "record", partition: partition)
        flow.partitionScope = name
        return flow
    }

    @Test func aFlowAddedAtRunTimeIsRoutedAndAHeldOneWaits() async throws {
        let h = try Harness()
        let source = DynamicFlows()
        let router = router(h, source: source)
        let worker = worker(h, source: source)
        try await h.send("e1", order: "MO-1")
        #expect(try await router.routeOnce() == 1)
        #expect(try await h.store.deliveries(DeliveryQuery()).isEmpty, "no flow yet")

        source.replace(routed: [flow("dyn")], held: [])
        try await h.send("e2", order: "MO-2")
        try await router.routeOnce()
        #expect(try await worker.runOnce() == 1)
        #expect(h.sink.delivered == ["e2"], "a flow sees the events after it")

        source.replace(routed: [flow("dyn")], held: ["dyn"])
        try await h.send("e3", order: "MO-3")
        try await router.routeOnce()
        #expect(try await worker.runOnce() == 0, "held: routed, not claimed")
        let held = try await h.store.deliveries(DeliveryQuery(flow: "dyn"))
        #expect(held.map(\.state) == [.done, .pending])
        #expect(held.last?.partition == "dyn/MO-3", "the flow's partitions are its own")

        source.replace(routed: [flow("dyn")], held: [])
        #expect(try await worker.runOnce() == 1)
        #expect(h.sink.delivered == ["e2", "e3"])
    }

    @Test func unorderedPartitionsNeverWait() async throws {
        let h = try Harness()
        let source = DynamicFlows(routed: [flow("u", partition: .unordered)])
        h.sink.script("e1", .transient(code: "X", message: "down", retryAfter: nil))
        try await h.send("e1", order: "MO-1")
        try await h.send("e2", order: "MO-1")
        try await router(h, source: source).routeOnce()
        #expect(try await worker(h, source: source).runOnce() == 2, "same order, yet e2 does not wait for e1")
        #expect(try await h.store.deliveries(DeliveryQuery()).map(\.state) == [.retrying, .done])
    }

    @Test func aPublishedScheduleIsExact() async throws {
        let h = try Harness()
        var f = flow("s")
        f.retry = RetryPolicy(schedule: [0, 10, 60])
        let source = DynamicFlows(routed: [f])
        h.sink.outage(.transient(code: "X", message: "down", retryAfter: nil))
        try await h.send("e1", order: "MO-1")
        try await router(h, source: source).routeOnce()
        let worker = worker(h, source: source)
        try await worker.runOnce()
        let start = h.clock.now
        #expect(try await h.store.deliveries(DeliveryQuery()).first?.nextAttemptAt == start.addingTimeInterval(10))
        h.clock.advance(10)
        try await worker.runOnce()
        #expect(try await h.store.deliveries(DeliveryQuery()).first?.nextAttemptAt == start.addingTimeInterval(70))
        h.clock.advance(60)
        try await worker.runOnce()
        let dead = try #require(try await h.store.deliveries(DeliveryQuery()).first)
        #expect(dead.state == .dead)
        #expect(dead.lastError == "gave up after 3 attempts: down")
        #expect(h.sink.delivered.count == 3)
    }
}
