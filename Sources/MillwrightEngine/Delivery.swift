import Foundation
import Logging
import Metrics
import MillwrightCore
import ServiceLifecycle
import Synchronization

/// A wake-up signal for one waiter: rings while nobody waits count as one.
public final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    public func ring() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            s.rung = true
            return nil
        }
        waiter?.resume()
    }

    private func release() {
        state.withLock { s -> CheckedContinuation<Void, Never>? in
            defer { s.waiter = nil }
            return s.waiter
        }?.resume()
    }

    /// Returns when rung, after `timeout`, or when the task is cancelled.
    func wait(timeout: Duration) async {
        if state.withLock({ s in defer { s.rung = false }; return s.rung }) { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let early = self.state.withLock { s -> Bool in
                        if s.rung {
                            s.rung = false
                            return true
                        }
                        s.waiter = continuation
                        return false
                    }
                    if early { continuation.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.release()
            }
            await group.next()
            group.cancelAll()
            release()
        }
    }
}

/// Routes acknowledged events to flows: one delivery per (event, matching flow), created in the same
/// transaction that moves the router's cursor, so a crash neither loses nor doubles a route.
public final class DeliveryRouter: Service, Sendable {
    let store: any Store & DeliveryStore
    let flows: [Flow]
    /// Flows added at run time (webhook subscriptions), read at every round.
    let source: (any FlowSource)?
    let now: @Sendable () -> Date
    let logger: Logger
    public let doorbell: Doorbell
    let pollInterval: Duration
    /// Rung after new deliveries were made (the workers' doorbells).
    let wake: [Doorbell]

    public init(
        store: any Store & DeliveryStore, flows: [Flow], now: @escaping @Sendable () -> Date = { Date() }, doorbell: Doorbell = Doorbell(),
        pollInterval: Duration = .milliseconds(200), wake: [Doorbell] = [], source: (any FlowSource)? = nil, logger: Logger
    ) {
        self.store = store
        self.flows = flows
        self.source = source
        self.now = now
        self.logger = logger
        self.doorbell = doorbell
        self.pollInterval = pollInterval
        self.wake = wake
    }

    /// Routes up to `batch` events after the cursor. Returns how many events it looked at.
    @discardableResult
    public func routeOnce(batch: Int = 500) async throws -> Int {
        let cursor = try await store.routerCursor()
        var query = EventQuery()
        query.after = cursor
        query.limit = batch
        let events = try await store.events(query)
        guard let last = events.last else { return 0 }
        let flows = self.flows + (source?.routedFlows() ?? [])
        var deliveries: [NewDelivery] = []
        let time = now()
        for event in events {
            let matching = flows.filter { $0.matches(type: event.type, source: event.source) }
            guard !matching.isEmpty else { continue }
            let envelope = (try? JSONParser().parse(event.envelope)) ?? .null
            for flow in matching {
                deliveries.append(NewDelivery(
                    flow: flow.name, eventSeq: event.seq, partition: flow.partition(of: envelope, seq: event.seq),
                    sequence: Flow.sequence(of: envelope), priority: flow.priority.rank, notBefore: flow.sync.firstAttempt(after: time)))
            }
        }
        try await store.enqueue(deliveries, cursor: last.seq, at: time)
        if !deliveries.isEmpty {
            for bell in wake { bell.ring() }
            logger.debug("routed", metadata: ["mw.events": "\(events.count)", "mw.deliveries": "\(deliveries.count)", "mw.cursor": "\(last.seq)"])
        }
        return events.count
    }

    public func run() async throws {
        await serviceLoop(doorbell: doorbell, pollInterval: pollInterval, logger: logger, failure: "routing failed; retrying") { try await self.routeOnce() }
    }
}

/// Claims due deliveries (of some flows, e.g. one priority) and runs them through their sink: done,
/// retry at now + backoff, or dead letter. Every attempt is recorded with its duration and error.
public final class DeliveryWorker: Service, Sendable {
    let store: any Store & DeliveryStore
    let staticFlows: [String: Flow]
    /// Flows added at run time (webhook subscriptions): claimed while delivered, held otherwise.
    let source: (any FlowSource)?
    let sinks: [String: any Sink]
    /// What steps read: the store's cross-reference tables (`xref`) and the sinks that are systems of
    /// record (`enrich`). Both are fixed for the worker's life, so it is made once.
    let stepContext: FlowStep.Context
    let owner: String
    let concurrency: Int
    let lease: TimeInterval
    let now: @Sendable () -> Date
    let random: @Sendable () -> Double
    let logger: Logger
    let metrics: any MetricsFactory
    public let doorbell: Doorbell
    let pollInterval: Duration
    public let breakers: CircuitBreakers
    let throttle = FlowThrottle()

    public init(
        store: any Store & DeliveryStore, flows: [Flow], sinks: [any Sink], owner: String, concurrency: Int = 4, lease: TimeInterval = 300,
        now: @escaping @Sendable () -> Date = { Date() }, random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) },
        doorbell: Doorbell = Doorbell(), pollInterval: Duration = .milliseconds(500), breakers: CircuitBreakers = CircuitBreakers(),
        source: (any FlowSource)? = nil, metricsFactory: any MetricsFactory, logger: Logger
    ) {
        self.breakers = breakers
        self.store = store
        self.staticFlows = Dictionary(flows.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.source = source
        self.sinks = Dictionary(sinks.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var context = FlowStep.Context(readers: self.sinks.compactMapValues { $0 as? any RecordReader })
        if let tables = store as? any CrossReferenceStore {
            context.xrefs = { system, kind, id in try await tables.xref(system: system, kind: kind, externalID: id) }
        }
        self.stepContext = context
        self.owner = owner
        self.concurrency = max(1, concurrency)
        self.lease = lease
        self.now = now
        self.random = random
        self.doorbell = doorbell
        self.pollInterval = pollInterval
        self.metrics = metricsFactory
        self.logger = logger
    }

    /// Every flow this worker knows, the run-time ones included (held or not): what a claimed delivery runs through.
    var flows: [String: Flow] {
        guard let source else { return staticFlows }
        return staticFlows.merging(source.routedFlows().map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Claims and runs one round of deliveries. Returns how many it ran.
    @discardableResult
    public func runOnce() async throws -> Int {
        // Held run-time flows are not claimed from.
        let flows = source.map { staticFlows.merging($0.deliveredFlows().map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first }) } ?? staticFlows
        // Flows whose sink's breaker is closed run freely; a half-open sink gets one probe delivery.
        let time = now()
        var free = Set<String>()
        var probes: [String: Set<String>] = [:]
        var batches: [Flow] = []
        var batchProbes: [String: [Flow]] = [:]
        for (sink, group) in Dictionary(grouping: flows.values, by: breakerKey) {
            let names = Set(group.filter { $0.sync == .realtime }.map(\.name))
            let batched = group.filter { $0.sync != .realtime }.sorted { $0.name < $1.name }
            switch breakers.permit(sink, now: time) {
            case .open:
                free.formUnion(names)
                batches += batched
            case .probe:
                // One probe per sink: a realtime delivery if the sink has such flows, else one micro-batch.
                if names.isEmpty { batchProbes[sink] = batched } else { probes[sink] = names }
            case .none:
                continue
            }
        }
        let gaps = flows.mapValues(\.gap)
        // Flows with a rate limit are claimed one by one, at most as many as they have tokens.
        let limited = free.filter { flows[$0]?.rateLimit != nil }.sorted()
        free.subtract(limited)
        var claimed = free.isEmpty ? [] : try await store.claim(owner: owner, now: time, lease: lease, limit: concurrency, flows: free, gaps: gaps)
        claimed += try await claimLimited(limited, flows: flows, room: concurrency - claimed.count, gaps: gaps, now: time)
        for (sink, names) in probes {
            let probe = try await store.claim(owner: owner, now: time, lease: lease, limit: 1, flows: names, gaps: gaps)
            if probe.isEmpty { breakers.releaseProbe(sink) }
            claimed += probe
        }
        var ran = 0
        for flow in batches.sorted(by: { $0.name < $1.name }) {
            ran += try await runBatch(flow, now: time)
        }
        for (sink, candidates) in batchProbes {
            var probed = 0
            for flow in candidates where probed == 0 { probed = try await runBatch(flow, now: time) }
            if probed == 0 { breakers.releaseProbe(sink) }
            ran += probed
        }
        guard !claimed.isEmpty else { return ran }
        // A sliding window: whenever a delivery finishes, claim another for its slot, so one slow Odoo
        // call never idles the other slots until the whole round is over.
        var count = claimed.count
        try await withThrowingTaskGroup(of: Void.self) { group in
            for delivery in claimed {
                group.addTask { try await self.run(delivery) }
            }
            var running = claimed.count
            while try await group.next() != nil {
                running -= 1
                // Only while the sink's breaker stays closed (a peek: `permit` would start a probe).
                let closed = { (name: String) in flows[name].map { self.breakers.state(of: self.breakerKey($0)).phase == .closed } ?? false }
                let refill = free.filter(closed)
                let refillLimited = limited.filter(closed)
                guard !refill.isEmpty || !refillLimited.isEmpty, !Task.isCancelled, !Task.isShuttingDownGracefully else { continue }
                var more = refill.isEmpty ? [] : try await store.claim(owner: owner, now: now(), lease: lease, limit: concurrency - running, flows: refill, gaps: gaps)
                more += try await claimLimited(refillLimited, flows: flows, room: concurrency - running - more.count, gaps: gaps, now: now())
                for delivery in more {
                    group.addTask { try await self.run(delivery) }
                }
                running += more.count
                count += more.count
            }
        }
        return count + ran
    }

    /// Claims from each rate-limited flow at most as many deliveries as it has tokens, within `room`.
    func claimLimited(_ names: [String], flows: [String: Flow], room: Int, gaps: [String: GapPolicy], now time: Date) async throws -> [Delivery] {
        var claimed: [Delivery] = []
        for name in names {
            guard let limit = flows[name]?.rateLimit else { continue }
            let wanted = min(throttle.available(name, limit, now: time), room - claimed.count)
            guard wanted > 0 else { continue }
            let got = try await store.claim(owner: owner, now: time, lease: lease, limit: wanted, flows: [name], gaps: gaps)
            throttle.take(name, got.count, limit, now: time)
            claimed += got
        }
        return claimed
    }

    /// A micro-batch flow: once `max` deliveries are due, or the oldest has waited `window`, claims up to
    /// `max` of them and hands them to the sink in one `deliverBatch`. A scheduled flow: its deliveries
    /// become due at the schedule's firing (the router set their first attempt so), and go in batches of
    /// `max`. Each delivery keeps its own outcome, attempt record and retry schedule.
    func runBatch(_ flow: Flow, now time: Date) async throws -> Int {
        guard let sink = sinks[flow.sink] else { return 0 }
        let max: Int
        let window: TimeInterval
        switch flow.sync {
        case .realtime: return 0
        case .microBatch(let size, let wait): (max, window) = (size, wait)
        case .schedule(_, let size): (max, window) = (size, 0)
        }
        let waiting = try await store.deliveries(DeliveryQuery(states: [.pending, .retrying], flow: flow.name, limit: max))
        let due = waiting.filter { $0.nextAttemptAt <= time }
        guard let oldest = due.map(\.createdAt).min() else { return 0 }
        guard due.count >= max || time.timeIntervalSince(oldest) >= window else { return 0 }
        if let limit = flow.rateLimit, throttle.available(flow.name, limit, now: time) < 1 { return 0 }
        let claimed = try await store.claim(owner: owner, now: time, lease: lease, limit: max, flows: [flow.name], gaps: [flow.name: flow.gap])
        guard !claimed.isEmpty else { return 0 }
        if let limit = flow.rateLimit { throttle.take(flow.name, 1, limit, now: time) }
        // Each event goes through the flow's steps first; those that come out as one piece go to the sink
        // together, the rest (split into several, filtered out, failed) are finished one by one.
        var events: [(Delivery, StoredEvent)] = []
        for delivery in claimed {
            var query = EventQuery()
            query.after = delivery.eventSeq - 1
            query.limit = 1
            guard let event = try await store.events(query).first, event.seq == delivery.eventSeq else {
                try await finish(delivery, flow: flow, event: nil, outcome: .permanent(code: "MW-FLOW-0003", message: "event #\(delivery.eventSeq) is no longer in the log"), started: now(), micros: 0)
                continue
            }
            switch await Self.prepare(event, through: flow, context: stepContext) {
            case .pieces(let pieces) where pieces.count == 1:
                events.append((delivery, pieces[0]))
            case .pieces(let pieces):
                let started = now()
                let outcome = await Self.deliver(pieces: pieces, operation: flow.operation, to: sink)
                try await finish(delivery, flow: flow, event: event, outcome: outcome, started: started, micros: 0)
            case .outcome(let outcome):
                try await finish(delivery, flow: flow, event: event, outcome: outcome, started: now(), micros: 0)
            }
        }
        guard !events.isEmpty else { return claimed.count }
        let started = now()
        let clock = ContinuousClock.now
        let outcomes = await sink.deliverBatch(events.map(\.1), operation: flow.operation)
        let elapsed = ContinuousClock.now - clock
        let micros = (elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000) / Int64(Swift.max(1, events.count))
        for (index, (delivery, event)) in events.enumerated() {
            let outcome = index < outcomes.count ? outcomes[index] : .transient(code: "MW-FLOW-0009", message: "the sink answered \(outcomes.count) outcomes for \(events.count) events", retryAfter: nil)
            try await finish(delivery, flow: flow, event: event, outcome: outcome, started: started, micros: micros)
        }
        return claimed.count
    }

    func run(_ delivery: Delivery) async throws {
        let started = now()
        let clock = ContinuousClock.now
        var query = EventQuery()
        query.after = delivery.eventSeq - 1
        query.limit = 1
        let event = try await store.events(query).first.flatMap { $0.seq == delivery.eventSeq ? $0 : nil }
        let outcome: SinkOutcome
        if let flow = flows[delivery.flow], let event {
            if let sink = sinks[flow.sink] {
                outcome = await Self.deliver(event, through: flow, to: sink, context: stepContext)
            } else {
                outcome = .permanent(code: "MW-FLOW-0002", message: "flow \(flow.name) sends to sink '\(flow.sink)', which is not configured")
            }
        } else if event == nil {
            outcome = .permanent(code: "MW-FLOW-0003", message: "event #\(delivery.eventSeq) is no longer in the log")
        } else {
            outcome = .permanent(code: "MW-FLOW-0004", message: "flow '\(delivery.flow)' is no longer configured")
        }
        let elapsed = ContinuousClock.now - clock
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        try await finish(delivery, flow: flows[delivery.flow], event: event, outcome: outcome, started: started, micros: micros)
    }

    /// Records one attempt's outcome: done, retry at now + backoff, or dead; feeds the breaker, metrics and log.
    func finish(_ delivery: Delivery, flow: Flow?, event: StoredEvent?, outcome: SinkOutcome, started: Date, micros: Int64) async throws {
        let policy = flow?.retry ?? RetryPolicy()
        let completion: DeliveryCompletion
        let attempt: DeliveryAttempt
        switch outcome {
        case .applied(let summary), .alreadyApplied(let summary):
            let already = { if case .alreadyApplied = outcome { true } else { false } }()
            let result = already ? "already applied: " + summary : summary
            completion = .done(result: result)
            attempt = DeliveryAttempt(deliveryID: delivery.id, number: delivery.attempts, startedAt: started, durationMicroseconds: micros, outcome: .done, result: result)
        case .transient(let code, let message, let retryAfter):
            if delivery.attempts >= policy.maxAttempts {
                let reason = "gave up after \(delivery.attempts) attempts: \(message)"
                completion = .dead(code: code, error: reason)
                attempt = DeliveryAttempt(deliveryID: delivery.id, number: delivery.attempts, startedAt: started, durationMicroseconds: micros, outcome: .dead, errorCode: code, error: message)
            } else {
                let wait = max(retryAfter ?? 0, policy.delay(afterAttempt: delivery.attempts, unit: random()))
                completion = .retry(at: now().addingTimeInterval(wait), code: code, error: message)
                attempt = DeliveryAttempt(deliveryID: delivery.id, number: delivery.attempts, startedAt: started, durationMicroseconds: micros, outcome: .retry, errorCode: code, error: message)
            }
        case .permanent(let code, let message):
            completion = .dead(code: code, error: message)
            attempt = DeliveryAttempt(deliveryID: delivery.id, number: delivery.attempts, startedAt: started, durationMicroseconds: micros, outcome: .dead, errorCode: code, error: message)
        }
        let kept = try await store.complete(delivery.id, owner: owner, attempt: attempt, as: completion, at: now())
        if let sink = flow.map(breakerKey) {
            switch outcome {
            case .applied, .alreadyApplied: breakers.record(sink, .success, now: now())
            case .transient: breakers.record(sink, .transientFailure, now: now())
            case .permanent: breakers.record(sink, .permanentFailure, now: now())
            }
            let breaker = breakers.state(of: sink)
            Gauge(label: "mw_sink_breaker_open", dimensions: [("sink", sink)], factory: metrics).record(breaker.phase == .closed ? 0 : 1)
        }
        let label = attempt.outcome.rawValue
        Counter(label: "mw_deliveries_total", dimensions: [("flow", delivery.flow), ("outcome", label)], factory: metrics).increment()
        if case .done = completion, let event {
            let latency = now().timeIntervalSince(event.receivedAt)
            Metrics.Timer(label: "mw_delivery_latency_seconds", dimensions: [("flow", delivery.flow)], factory: metrics)
                .recordNanoseconds(Int64(max(0, latency) * 1e9))
        }
        var metadata: Logger.Metadata = [
            "mw.delivery": "\(delivery.id)", "mw.flow": "\(delivery.flow)", "mw.event.seq": "\(delivery.eventSeq)",
            "mw.attempt": "\(delivery.attempts)", "mw.outcome": "\(label)",
        ]
        if let code = attempt.errorCode { metadata["mw.error.code"] = "\(code)" }
        if let error = attempt.error { metadata["mw.error"] = "\(error)" }
        if !kept { logger.warning("lease lost: another worker took the delivery over; outcome dropped", metadata: metadata) }
        switch attempt.outcome {
        case .done: logger.debug("delivered", metadata: metadata)
        case .retry: logger.notice("delivery failed, will retry", metadata: metadata)
        case .dead: logger.warning("dead letter", metadata: metadata)
        }
    }

    public func run() async throws {
        await serviceLoop(doorbell: doorbell, pollInterval: pollInterval, logger: logger, failure: "claiming deliveries failed; retrying") { try await self.runOnce() }
    }

    /// An event after its flow's steps: the pieces for the sink, or already an outcome (a step failed, or
    /// filtered everything out).
    enum Prepared {
        case pieces([StoredEvent])
        case outcome(SinkOutcome)
    }

    /// Runs the flow's steps. A split event's pieces get the ids `<id>#1`, `<id>#2`, … so that each is its
    /// own idempotent operation.
    static func prepare(_ event: StoredEvent, through flow: Flow, context: FlowStep.Context) async -> Prepared {
        guard !flow.steps.isEmpty else { return .pieces([event]) }
        let envelope: JSONValue
        do { envelope = try JSONParser(maxDepth: 512).parse(event.envelope) } catch {
            return .outcome(.permanent(code: "MW-FLOW-0001", message: "the stored envelope does not parse: \(error)"))
        }
        let pieces: [JSONValue]
        do {
            pieces = try await FlowStep.run(flow.steps, on: envelope, context: context)
        } catch {
            if error.transient { return .outcome(.transient(code: "MW-FLOW-0010", message: error.message, retryAfter: nil)) }
            return .outcome(.permanent(code: "MW-FLOW-0008", message: error.message))
        }
        guard !pieces.isEmpty else { return .outcome(.alreadyApplied("filtered out by the flow's steps: nothing to deliver")) }
        return .pieces(pieces.enumerated().map { index, piece in
            var part = event
            part.envelope = piece.canonicalText
            if pieces.count > 1 { part.id = "\(event.id)#\(index + 1)" }
            return part
        })
    }

    /// Runs the flow's steps, then the sink on every resulting piece; a transient failure retries the
    /// whole delivery (the pieces already applied answer "already applied").
    static func deliver(_ event: StoredEvent, through flow: Flow, to sink: any Sink, context: FlowStep.Context) async -> SinkOutcome {
        switch await prepare(event, through: flow, context: context) {
        case .outcome(let outcome): return outcome
        case .pieces(let pieces): return await deliver(pieces: pieces, operation: flow.operation, to: sink)
        }
    }

    static func deliver(pieces: [StoredEvent], operation: String, to sink: any Sink) async -> SinkOutcome {
        var summaries: [String] = []
        var changed = false
        for (index, piece) in pieces.enumerated() {
            switch await sink.deliver(piece, operation: operation) {
            case .applied(let summary):
                changed = true
                summaries.append(summary)
            case .alreadyApplied(let summary):
                summaries.append(summary)
            case .transient(let code, let message, let retryAfter):
                return .transient(code: code, message: pieces.count > 1 ? "piece \(index + 1) of \(pieces.count): \(message)" : message, retryAfter: retryAfter)
            case .permanent(let code, let message):
                return .permanent(code: code, message: pieces.count > 1 ? "piece \(index + 1) of \(pieces.count): \(message)" : message)
            }
        }
        let summary = summaries.joined(separator: "; ")
        return changed ? .applied(summary) : .alreadyApplied(summary)
    }
}

/// Runs `round` until graceful shutdown: again at once while it finds work, else after the doorbell or
/// `pollInterval`. A failing round is logged and retried; it never ends the service.
func serviceLoop(doorbell: Doorbell, pollInterval: Duration, logger: Logger, failure: String, _ round: () async throws -> Int) async {
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
        do {
            if try await round() > 0 { continue }
        } catch {
            logger.error("\(failure)", metadata: ["error": "\(error)"])
        }
        await doorbell.wait(timeout: pollInterval)
    }
}
