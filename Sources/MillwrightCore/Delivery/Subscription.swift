import Foundation

/// An outbound webhook subscription: events whose type matches `types` (and `filter`) are POSTed to `url`,
/// signed per Standard Webhooks, on the retry `schedule`. It runs as a flow of its own
/// (``flow``: `subscription/<id>`, sink `webhook`, operation `<id>`), so deliveries, attempts, dead
/// letters, replay and metrics are the delivery engine's. See docs/webhooks.md.
public struct Subscription: Sendable, Hashable {
    public enum State: String, Sendable, Hashable, CaseIterable {
        /// Deliveries are attempted.
        case enabled
        /// Deliveries are routed and kept, not attempted, until an operator enables it again.
        case disabled
    }

    /// `sub_` and 24 base32 characters.
    public var id: String
    public var url: String
    /// Event type patterns; `*` matches any run of characters, as in flows.
    public var types: [String]
    /// `filter` steps (all must keep the event), as flows write them.
    public var filter: [FlowStep]
    public var description: String
    /// Whether messages with one partition key (the event's `partitionkey`, else its `subject`) go one at a
    /// time, in order. Off: every message is on its own, so one failing message never holds back another.
    public var ordered: Bool
    /// The signing secret, `whsec_<base64>`.
    public var secret: String
    /// The secret before the last rotation, still used to sign (a second signature) until `previousSecretUntil`.
    public var previousSecret: String?
    public var previousSecretUntil: Date?
    public var state: State
    /// Why it is disabled (`failing since … for more than 5 days: HTTP 503`, or an operator's note).
    public var stateReason: String?
    /// When `state` last changed.
    public var stateSince: Date
    /// An endpoint that has failed without a single success for this long is disabled.
    public var disableAfter: TimeInterval
    /// The first failure since the last success; `nil` while the endpoint is healthy.
    public var failingSince: Date?
    /// Extra request headers (e.g. an API key the receiver wants).
    public var headers: [String: String]
    /// Delays before each attempt (``RetryPolicy/webhookSchedule`` by default).
    public var schedule: [TimeInterval]
    /// At most this many messages a second to the endpoint; `nil`: no limit (as Svix's endpoint `rateLimit`).
    public var rateLimit: Flow.RateLimit?
    public var createdAt: Date
    public var updatedAt: Date

    /// Five days, as Svix.
    public static let defaultDisableAfter: TimeInterval = 5 * 86_400
    /// The prefix of every subscription flow's name.
    public static let flowPrefix = "subscription/"

    public init(
        id: String, url: String, types: [String], filter: [FlowStep] = [], description: String = "", ordered: Bool = false, secret: String,
        state: State = .enabled, stateReason: String? = nil, stateSince: Date, disableAfter: TimeInterval = Subscription.defaultDisableAfter,
        headers: [String: String] = [:], schedule: [TimeInterval] = RetryPolicy.webhookSchedule, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.url = url
        self.types = types
        self.filter = filter
        self.description = description
        self.ordered = ordered
        self.secret = secret
        self.state = state
        self.stateReason = stateReason
        self.stateSince = stateSince
        self.disableAfter = disableAfter
        self.headers = headers
        self.schedule = schedule
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The flow that carries this subscription's deliveries.
    public var flowName: String { Self.flowPrefix + id }

    /// The subscription as a flow: `subscription/<id>` → sink `webhook`, operation `<id>`; its partitions
    /// are its own (`subscription/<id>/…`), ordered by partition key or not at all.
    public var flow: Flow {
        var flow = Flow(
            name: flowName, description: description.isEmpty ? "webhook subscription \(id)" : description, types: types, sink: "webhook",
            operation: id, retry: RetryPolicy(schedule: schedule), partition: ordered ? .event : .unordered)
        flow.partitionScope = flowName
        flow.steps = filter
        flow.rateLimit = rateLimit
        return flow
    }

    /// Whether `text` can be a subscription id: `sub_` then 1 to 64 letters, digits, `-` or `_`.
    public static func validID(_ text: String) -> Bool {
        guard text.hasPrefix("sub_") else { return false }
        let rest = text.utf8.dropFirst(4)
        return !rest.isEmpty && rest.count <= 64
            && rest.allSatisfy { c in (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F }
    }
}

/// The store's subscriptions table, and re-sending past events to one flow (webhook replay).
public protocol SubscriptionStore: Sendable {
    /// Returns `false` when the id exists already.
    func insertSubscription(_ subscription: Subscription) async throws -> Bool
    /// Replaces the stored subscription with this id; returns `false` when there is none.
    func updateSubscription(_ subscription: Subscription) async throws -> Bool
    func subscription(id: String) async throws -> Subscription?
    /// Every subscription, oldest first.
    func subscriptions() async throws -> [Subscription]
    /// Returns whether one was deleted. Its waiting deliveries become dead letters ("the subscription was
    /// deleted"); the ones done stay as they are.
    func deleteSubscription(id: String) async throws -> Bool

    /// Sends events again: a delivery of `(flow, eventSeq)` that is done or dead goes back to `pending`, due
    /// at `at` (its attempts kept); one that is waiting is made due at `at`; one in flight is left alone;
    /// a missing one is created. Returns the delivery ids now due, in the order given.
    func resend(_ deliveries: [NewDelivery], at: Date) async throws -> [Int64]
}
