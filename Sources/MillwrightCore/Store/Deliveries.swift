import Foundation

/// Where one event stands with one flow.
public enum DeliveryState: String, Sendable, Codable, CaseIterable {
    /// Waiting for its first attempt (or for the deliveries before it in its partition).
    case pending
    /// Claimed by a worker holding a lease.
    case inFlight = "in_flight"
    /// The sink applied it (or found it already applied).
    case done
    /// Failed transiently; tried again at `nextAttemptAt`.
    case retrying
    /// A permanent error, or retries exhausted: a dead letter, kept with its reason until replayed.
    case dead
}

/// One event routed to one flow.
public struct Delivery: Sendable, Hashable {
    public var id: Int64
    public var flow: String
    public var eventSeq: Int64
    /// Deliveries of one flow with the same partition are attempted strictly in order: by `sequence`
    /// when both have one, else by arrival (`id`).
    public var partition: String
    /// The event's `sequence` extension, when it has one.
    public var sequence: Int64?
    public var priority: Int
    public var state: DeliveryState
    public var attempts: Int
    public var nextAttemptAt: Date
    public var leaseOwner: String?
    public var leaseUntil: Date?
    /// The last error's stable code (`MW-ODOO-0015`) and message.
    public var lastErrorCode: String?
    public var lastError: String?
    /// What the sink did, in one line ("WH/MO/00018-001 done with 2 produced; backorder WH/MO/00018-002").
    public var result: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64, flow: String, eventSeq: Int64, partition: String, sequence: Int64? = nil, priority: Int, state: DeliveryState, attempts: Int,
        nextAttemptAt: Date, leaseOwner: String? = nil, leaseUntil: Date? = nil, lastErrorCode: String? = nil, lastError: String? = nil,
        result: String? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.flow = flow
        self.eventSeq = eventSeq
        self.partition = partition
        self.sequence = sequence
        self.priority = priority
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.leaseOwner = leaseOwner
        self.leaseUntil = leaseUntil
        self.lastErrorCode = lastErrorCode
        self.lastError = lastError
        self.result = result
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public struct NewDelivery: Sendable, Hashable {
    public var flow: String
    public var eventSeq: Int64
    public var partition: String
    public var sequence: Int64?
    public var priority: Int
    /// The first attempt's time when it is not at once (a scheduled flow's next firing).
    public var notBefore: Date?

    public init(flow: String, eventSeq: Int64, partition: String, sequence: Int64? = nil, priority: Int, notBefore: Date? = nil) {
        self.flow = flow
        self.eventSeq = eventSeq
        self.partition = partition
        self.sequence = sequence
        self.priority = priority
        self.notBefore = notBefore
    }
}

/// What to do when a partition's next `sequence` is missing: hold the later deliveries for `hold`
/// seconds (the missing one may still come), then deliver them anyway or dead-letter them.
public struct GapPolicy: Sendable, Hashable {
    public var hold: TimeInterval
    public var deadLetter: Bool

    public init(hold: TimeInterval = 30, deadLetter: Bool = false) {
        self.hold = hold
        self.deadLetter = deadLetter
    }
}

/// One try of one delivery.
public struct DeliveryAttempt: Sendable, Hashable {
    public enum Outcome: String, Sendable, Codable { case done, retry, dead }
    public var deliveryID: Int64
    public var number: Int
    public var startedAt: Date
    public var durationMicroseconds: Int64
    public var outcome: Outcome
    public var errorCode: String?
    public var error: String?
    public var result: String?

    public init(deliveryID: Int64, number: Int, startedAt: Date, durationMicroseconds: Int64, outcome: Outcome, errorCode: String? = nil, error: String? = nil, result: String? = nil) {
        self.deliveryID = deliveryID
        self.number = number
        self.startedAt = startedAt
        self.durationMicroseconds = durationMicroseconds
        self.outcome = outcome
        self.errorCode = errorCode
        self.error = error
        self.result = result
    }
}

/// How an attempt ended, as the worker reports it to the store.
public enum DeliveryCompletion: Sendable, Hashable {
    case done(result: String)
    case retry(at: Date, code: String, error: String)
    case dead(code: String, error: String)
}

public struct DeliveryQuery: Sendable, Hashable {
    public var states: [DeliveryState]?
    public var flow: String?
    public var eventSeqs: [Int64]?
    public var after: Int64?
    public var limit = 100

    public init(states: [DeliveryState]? = nil, flow: String? = nil, eventSeqs: [Int64]? = nil, after: Int64? = nil, limit: Int = 100) {
        self.states = states
        self.flow = flow
        self.eventSeqs = eventSeqs
        self.after = after
        self.limit = limit
    }
}

/// Durable state of the delivery engine. Implemented by each store; `DeliveryConformance` is its contract.
public protocol DeliveryStore: Sendable {
    /// The last event position the router has routed (0 before the first).
    func routerCursor() async throws -> Int64
    /// Inserts deliveries and moves the cursor in one transaction: a crash never routes an event twice
    /// or skips one. A delivery that exists for `(flow, eventSeq)` is not inserted again.
    func enqueue(_ deliveries: [NewDelivery], cursor: Int64, at: Date) async throws

    /// Claims up to `limit` deliveries that are due, in priority then due order, for `lease`. Only the
    /// first unfinished delivery of each partition can be claimed, across flows (an order's consumption
    /// and its completion are two flows, one partition), first by `sequence` (when
    /// both have one) else by arrival: a partition is strictly ordered, and a dead delivery does not block
    /// the ones after it. While a partition's next sequence is missing, the later ones wait as `gaps`
    /// says for their flow. An expired lease makes a delivery claimable again (its worker died).
    func claim(owner: String, now: Date, lease: TimeInterval, limit: Int, flows: Set<String>?, gaps: [String: GapPolicy]) async throws -> [Delivery]

    /// Records an attempt's outcome. Returns `false` (and changes nothing) when `owner` no longer holds
    /// the lease: another worker took the delivery over.
    func complete(_ id: Int64, owner: String, attempt: DeliveryAttempt, as completion: DeliveryCompletion, at: Date) async throws -> Bool

    func deliveries(_ query: DeliveryQuery) async throws -> [Delivery]
    func delivery(id: Int64) async throws -> Delivery?
    func attempts(deliveryID: Int64) async throws -> [DeliveryAttempt]
    /// Counts per state, for one flow or all.
    func deliveryCounts(flow: String?) async throws -> [DeliveryState: Int]
    /// Oldest due time among deliveries not yet done or dead.
    func oldestPending(flow: String?) async throws -> Date?

    /// Sends a dead delivery back to `pending` (attempts are kept). `false` if it is not dead.
    func replay(_ id: Int64, at: Date) async throws -> Bool

    /// The operation journal: a plan per operation key, written before a multi-call operation acts.
    func journalPlan(key: String) async throws -> String?
    func recordJournalPlan(key: String, plan: String, at: Date) async throws
}

/// A cross-reference: a source system's identifier for something, and Millwright's canonical value for
/// it (`scada` `equipment` `M-07` → `CNC-07`).
public struct CrossReference: Sendable, Hashable {
    public var system: String
    public var kind: String
    public var externalID: String
    public var value: String

    public init(system: String, kind: String, externalID: String, value: String) {
        self.system = system
        self.kind = kind
        self.externalID = externalID
        self.value = value
    }
}

/// The cross-reference tables (`xrefs`), kept in the store and used by the `xref` flow step.
public protocol CrossReferenceStore: Sendable {
    func xref(system: String, kind: String, externalID: String) async throws -> String?
    /// Inserts or replaces, in one transaction.
    func putXrefs(_ xrefs: [CrossReference]) async throws
    func xrefs(system: String?, kind: String?, limit: Int) async throws -> [CrossReference]
    /// Returns whether one was deleted.
    func deleteXref(system: String, kind: String, externalID: String) async throws -> Bool
}
