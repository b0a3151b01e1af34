import Foundation
import Logging
import Metrics
import MillwrightCore

/// Outbound webhook subscriptions: the one place that changes them (API, CLI and the webhook sink's
/// health reports), keeps the delivery engine's run-time flows in step, and audits every change.
///
/// Each subscription is the flow `subscription/<id>` in ``flows``; a disabled one stays routed (its
/// messages are kept) but held (not attempted). An endpoint that has failed without one success for
/// its `disable_after` is disabled here, audited as done by `millwright`.
public actor SubscriptionManager {
    /// Who made a change, for the audit log.
    public struct Actor: Sendable {
        public var name: String
        public var origin: String
        public init(name: String, origin: String) {
            self.name = name
            self.origin = origin
        }
        /// Millwright itself (an endpoint disabled after failing too long).
        public static let millwright = Actor(name: "millwright", origin: "webhook health")
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public enum Kind: Sendable { case notFound, invalid }
        public var kind: Kind
        public var message: String
        public var description: String { message }
    }

    /// What a create or update sets; `nil` leaves a field as it is (create: its default).
    public struct Changes: Sendable {
        public var url: String?
        public var types: [String]?
        public var filter: [FlowStep]?
        public var description: String?
        public var ordered: Bool?
        public var disableAfter: TimeInterval?
        public var headers: [String: String]?
        public var schedule: [TimeInterval]?
        /// `.some(nil)` removes the limit.
        public var rateLimit: Flow.RateLimit??
        public init() {}
    }

    let store: any Store & DeliveryStore & SubscriptionStore
    public nonisolated let flows: DynamicFlows
    let hasher: AuditHasher
    let now: @Sendable () -> Date
    let metrics: any MetricsFactory
    let logger: Logger
    var cache: [String: Subscription] = [:]
    /// How long the secret before a rotation still signs (a second signature): 24 hours.
    public static let rotationOverlap: TimeInterval = 86_400

    public init(
        store: any Store & DeliveryStore & SubscriptionStore, flows: DynamicFlows = DynamicFlows(), hasher: @escaping AuditHasher,
        now: @escaping @Sendable () -> Date = { Date() }, metricsFactory: any MetricsFactory, logger: Logger
    ) {
        self.store = store
        self.flows = flows
        self.hasher = hasher
        self.now = now
        self.metrics = metricsFactory
        self.logger = logger
    }

    /// Reads every subscription from the store into the engine's flows. Call once before the workers start.
    public func load() async throws {
        cache = Dictionary(try await store.subscriptions().map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        publish()
    }

    public func list() -> [Subscription] {
        cache.values.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    /// The subscription with this id, `nil` when there is none (the webhook sink's lookup).
    public func subscription(_ id: String) -> Subscription? { cache[id] }

    public func get(_ id: String) throws(Failure) -> Subscription {
        guard let s = cache[id] else { throw Failure(kind: .notFound, message: "no subscription \(id)") }
        return s
    }

    /// Creates a subscription with a new id and secret (the secret is in the returned value: show it once).
    public func create(_ changes: Changes, by actor: Actor) async throws -> Subscription {
        guard let url = changes.url, let types = changes.types else {
            throw Failure(kind: .invalid, message: "a subscription needs url and types")
        }
        let at = now()
        var s = Subscription(id: Self.newID(), url: url, types: types, secret: Self.newSecret(), stateSince: at, createdAt: at, updatedAt: at)
        apply(changes, to: &s)
        guard try await store.insertSubscription(s) else { throw Failure(kind: .invalid, message: "subscription id \(s.id) exists; try again") }
        cache[s.id] = s
        publish()
        try await audit("subscription.create", s.id, by: actor, after: Self.describe(s))
        return s
    }

    public func update(_ id: String, _ changes: Changes, by actor: Actor) async throws -> Subscription {
        let before = try get(id)
        var s = before
        apply(changes, to: &s)
        s.updatedAt = now()
        try await save(s)
        try await audit("subscription.update", id, by: actor, before: Self.describe(before), after: Self.describe(s))
        return s
    }

    /// Deletes a subscription. Its messages not yet delivered become dead letters.
    public func delete(_ id: String, by actor: Actor) async throws {
        let before = try get(id)
        _ = try await store.deleteSubscription(id: id)
        cache[id] = nil
        publish()
        try await audit("subscription.delete", id, by: actor, before: Self.describe(before))
    }

    /// Enables (an operator, after the receiver is fixed) or disables a subscription. Enabling clears the
    /// failure record and makes every waiting message due now.
    public func setState(_ id: String, _ state: Subscription.State, reason: String?, by actor: Actor) async throws -> Subscription {
        let before = try get(id)
        var s = before
        s.state = state
        s.stateReason = state == .enabled ? nil : (reason ?? "disabled by \(actor.name)")
        if before.state != state { s.stateSince = now() }
        if state == .enabled { s.failingSince = nil }
        s.updatedAt = now()
        try await save(s)
        Gauge(label: "mw_webhook_endpoint_disabled", dimensions: [("subscription", id)], factory: metrics).record(state == .disabled ? 1 : 0)
        try await audit(state == .enabled ? "subscription.enable" : "subscription.disable", id, by: actor, before: Self.describe(before), after: Self.describe(s))
        if state == .enabled && before.state == .disabled {
            var after: Int64 = 0
            while true {
                let waiting = try await store.deliveries(DeliveryQuery(states: [.pending, .retrying], flow: s.flowName, after: after, limit: 500))
                guard let last = waiting.last else { break }
                _ = try await store.resend(waiting.map { NewDelivery(flow: $0.flow, eventSeq: $0.eventSeq, partition: $0.partition, sequence: $0.sequence, priority: $0.priority) }, at: now())
                after = last.id
            }
        }
        return s
    }

    /// A new secret; the old one still signs (as a second signature) for ``rotationOverlap``.
    public func rotateSecret(_ id: String, by actor: Actor) async throws -> Subscription {
        var s = try get(id)
        s.previousSecret = s.secret
        s.previousSecretUntil = now().addingTimeInterval(Self.rotationOverlap)
        s.secret = Self.newSecret()
        s.updatedAt = now()
        try await save(s)
        try await audit("subscription.rotate_secret", id, by: actor, after: ["previous_secret_valid_until": .string(RFC3339.format(s.previousSecretUntil ?? now()))])
        return s
    }

    /// Sends these events to this one subscription again (done, dead or never routed to it alike); events
    /// whose type it does not subscribe to are skipped. Returns the delivery ids now due.
    public func replay(_ id: String, events: [StoredEvent], by actor: Actor) async throws -> [Int64] {
        let s = try get(id)
        let flow = s.flow
        var deliveries: [NewDelivery] = []
        for event in events where flow.types.contains(where: { Flow.glob($0, event.type) }) {
            let envelope = (try? JSONParser(maxDepth: 512).parse(event.envelope)) ?? .null
            deliveries.append(NewDelivery(
                flow: flow.name, eventSeq: event.seq, partition: flow.partition(of: envelope, seq: event.seq), sequence: Flow.sequence(of: envelope),
                priority: flow.priority.rank))
        }
        let ids = try await store.resend(deliveries, at: now())
        try await audit(
            "subscription.replay", id, by: actor,
            after: ["events": .array(deliveries.map { .number(String($0.eventSeq)) }), "deliveries": .array(ids.map { .number(String($0)) })])
        return ids
    }

    // MARK: health

    /// One call's outcome from the webhook sink: a success clears the failure record; a failure starts it,
    /// or disables the subscription once it is older than `disable_after`.
    public func record(_ id: String, failure: String?, at: Date) async {
        guard var s = cache[id] else { return }
        do {
            guard let failure else {
                if s.failingSince != nil {
                    s.failingSince = nil
                    try await save(s)
                }
                return
            }
            guard let since = s.failingSince else {
                s.failingSince = at
                try await save(s)
                return
            }
            guard s.state == .enabled, at.timeIntervalSince(since) >= s.disableAfter else { return }
            let reason = "failing since \(RFC3339.format(since)) without a success for longer than \(Self.duration(s.disableAfter)); last: \(failure)"
            _ = try await setState(id, .disabled, reason: reason, by: .millwright)
            Counter(label: "mw_webhook_endpoint_disabled_total", dimensions: [("subscription", id)], factory: metrics).increment()
            logger.warning("webhook endpoint disabled: it kept failing", metadata: ["mw.subscription": "\(id)", "mw.url": "\(s.url)", "mw.error": "\(failure)"])
        } catch {
            logger.error("could not record a webhook endpoint's health", metadata: ["mw.subscription": "\(id)", "mw.error": "\(error)"])
        }
    }

    // MARK: helpers

    func apply(_ c: Changes, to s: inout Subscription) {
        if let v = c.url { s.url = v }
        if let v = c.types { s.types = v }
        if let v = c.filter { s.filter = v }
        if let v = c.description { s.description = v }
        if let v = c.ordered { s.ordered = v }
        if let v = c.disableAfter { s.disableAfter = v }
        if let v = c.headers {
            // A value sent back as shown (`********`) keeps the current one: read, change, write back works.
            let current = s.headers
            s.headers = Dictionary(uniqueKeysWithValues: v.map { name, value in
                (name, value == Self.hiddenHeaderValue ? current[name] ?? value : value)
            })
        }
        if let v = c.schedule { s.schedule = v }
        if let v = c.rateLimit { s.rateLimit = v }
    }

    func save(_ s: Subscription) async throws {
        guard try await store.updateSubscription(s) else { throw Failure(kind: .notFound, message: "no subscription \(s.id)") }
        cache[s.id] = s
        publish()
    }

    /// Hands the engine the subscriptions as flows; the disabled ones held.
    func publish() {
        let all = list()
        flows.replace(routed: all.map(\.flow), held: Set(all.filter { $0.state == .disabled }.map(\.flowName)))
    }

    func audit(_ action: String, _ id: String, by actor: Actor, before: JSONValue? = nil, after: JSONValue? = nil) async throws {
        _ = try await store.appendAudit(
            AuditDraft(at: now(), actor: actor.name, action: action, target: "subscription/\(id)", origin: actor.origin, before: before, after: after),
            hasher: hasher)
    }

    /// What a header's value is shown as: header values are credentials for the receiver as often as not.
    public static let hiddenHeaderValue = "********"

    /// A subscription as shown to operators and in the audit log: never its secret, nor its header values.
    public static func describe(_ s: Subscription) -> JSONValue {
        .object([
            "id": .string(s.id), "url": .string(s.url), "types": .array(s.types.map(JSONValue.string)), "filter": Subscription.filterJSON(s.filter),
            "description": .string(s.description), "ordered": .bool(s.ordered), "state": .string(s.state.rawValue),
            "state_reason": s.stateReason.map(JSONValue.string) ?? .null, "state_since": .string(RFC3339.format(s.stateSince)),
            "disable_after_seconds": .number(String(Int(s.disableAfter))),
            "failing_since": s.failingSince.map { .string(RFC3339.format($0)) } ?? .null,
            "headers": .object(s.headers.mapValues { _ in .string(hiddenHeaderValue) }), "retry_schedule_seconds": Subscription.scheduleJSON(s.schedule),
            "rate_limit": s.rateLimit?.json ?? .null,
            "flow": .string(s.flowName), "created_at": .string(RFC3339.format(s.createdAt)), "updated_at": .string(RFC3339.format(s.updatedAt)),
        ])
    }

    static func duration(_ seconds: TimeInterval) -> String {
        let s = Int(seconds)
        if s % 86_400 == 0 { return "\(s / 86_400) d" }
        if s % 3_600 == 0 { return "\(s / 3_600) h" }
        if s % 60 == 0 { return "\(s / 60) min" }
        return "\(s) s"
    }

    /// `sub_` and 24 random lower-case base32 characters.
    static func newID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        var generator = SystemRandomNumberGenerator()
        return "sub_" + String((0..<24).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    /// 32 random bytes, `whsec_<base64>`.
    static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return "whsec_" + Data((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }).base64EncodedString()
    }
}
