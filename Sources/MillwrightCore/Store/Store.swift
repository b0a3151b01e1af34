import Foundation

/// An event in the log: its position, when it was received, and its canonical envelope.
public struct StoredEvent: Sendable, Hashable {
    /// Position in the log; strictly increasing, never reused.
    public var seq: Int64
    public var receivedAt: Date
    public var source: String
    public var id: String
    public var type: String
    /// Canonical JSON text of the envelope.
    public var envelope: String

    public init(seq: Int64, receivedAt: Date, source: String, id: String, type: String, envelope: String) {
        self.seq = seq
        self.receivedAt = receivedAt
        self.source = source
        self.id = id
        self.type = type
        self.envelope = envelope
    }
}

/// What appending one event did.
public enum AppendOutcome: Sendable, Hashable {
    /// New: appended at `seq`.
    case created(StoredEvent)
    /// `(source, id)` was already stored with the same content: nothing changed.
    case duplicate(StoredEvent)
    /// `(source, id)` was already stored with different content. The stored event is unchanged;
    /// the new content is kept for inspection under `conflictID`.
    case conflict(existing: StoredEvent, conflictID: Int64)

    public var stored: StoredEvent {
        switch self {
        case .created(let e), .duplicate(let e): e
        case .conflict(let e, _): e
        }
    }
}

/// A filter over the event log, in log order, with cursor pagination.
public struct EventQuery: Sendable, Hashable {
    public var type: String?
    public var source: String?
    public var id: String?
    public var subject: String?
    /// Business keys that must all match (`order = WH/MO/00042`).
    public var keys: [BusinessKey] = []
    /// A value that must match any business key (order, product, lot or equipment).
    public var anyKey: String?
    /// Inclusive lower bound on the event's time (its `time` attribute, else when it was received).
    public var since: Date?
    /// Exclusive upper bound on the event's time.
    public var until: Date?
    /// Only events after this log position.
    public var after: Int64?
    public var limit: Int = 100
    /// Take the newest `limit` matches instead of the oldest (results are still returned in log order).
    public var newestFirst = false

    public init() {}
}

/// A stored API token: only its hash is kept.
public struct TokenRecord: Sendable, Hashable {
    public var id: String
    public var name: String
    /// The non-secret part that identifies the token in logs (`mw_3f9a1c2e`).
    public var prefix: String
    /// Hex SHA-256 of the whole token.
    public var hash: String
    public var scopes: [String]
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?

    public init(id: String, name: String, prefix: String, hash: String, scopes: [String], createdAt: Date, expiresAt: Date? = nil, revokedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.prefix = prefix
        self.hash = hash
        self.scopes = scopes
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }
}

public struct StoreStatistics: Sendable, Hashable {
    public var events: Int64
    public var lastSeq: Int64
    public var conflicts: Int64
    public var sizeBytes: Int64

    public init(events: Int64, lastSeq: Int64, conflicts: Int64, sizeBytes: Int64) {
        self.events = events
        self.lastSeq = lastSeq
        self.conflicts = conflicts
        self.sizeBytes = sizeBytes
    }
}

/// A conflicting submission kept for inspection: same `(source, id)`, different content.
public struct ConflictRecord: Sendable, Hashable {
    public var conflictID: Int64
    public var source: String
    public var id: String
    public var existingSeq: Int64
    public var receivedAt: Date
    public var envelope: String

    public init(conflictID: Int64, source: String, id: String, existingSeq: Int64, receivedAt: Date, envelope: String) {
        self.conflictID = conflictID
        self.source = source
        self.id = id
        self.existingSeq = existingSeq
        self.receivedAt = receivedAt
        self.envelope = envelope
    }
}

/// Durable storage for the event log and Millwright's own state.
///
/// Implementations keep every SQL dialect detail inside; `StoreConformance` (in `MillwrightTesting`)
/// is the contract each one must pass.
public protocol Store: Sendable {
    /// Appends events in one durable transaction, in order. An event is acknowledged to its sender
    /// only after this returns: everything returned as `.created` is committed.
    ///
    /// Events later in `events` see earlier ones: the same `(source, id)` twice in one call is
    /// `.created` then `.duplicate` (or `.conflict`).
    func append(_ events: [NewEvent], receivedAt: Date) async throws -> [AppendOutcome]

    /// Events matching `query`, in log order, at most `query.limit`.
    func events(_ query: EventQuery) async throws -> [StoredEvent]

    /// Conflicting submissions kept for `(source, id)`, oldest first.
    func conflicts(source: String, id: String) async throws -> [ConflictRecord]

    func insertToken(_ token: TokenRecord) async throws
    func token(hash: String) async throws -> TokenRecord?
    func tokenCount() async throws -> Int
    /// Tokens of one service account (or all), newest first.
    func tokens(account: String?) async throws -> [TokenRecord]
    /// Sets a token's expiry and revocation time (rotation and revocation).
    func updateToken(id: String, expiresAt: Date?, revokedAt: Date?) async throws

    /// Creates a service account; returns `false` if one of that name exists.
    func createServiceAccount(_ account: ServiceAccount) async throws -> Bool
    func serviceAccounts() async throws -> [ServiceAccount]

    /// Appends to the audit log in one transaction with reading the previous entry's hash.
    func appendAudit(_ draft: AuditDraft, hasher: AuditHasher) async throws -> AuditEntry
    /// Audit entries in log order, after `after`, at most `limit`.
    func auditEntries(after: Int64?, limit: Int) async throws -> [AuditEntry]

    /// Records that inbound webhook message `id` from hook source `source` was received, remembered until
    /// `until` (the end of its replay window). Returns `false`, recording nothing, when the same `(source, id)`
    /// is still remembered at `now`: a replay. Receipts whose window has closed are forgotten.
    func recordHookReceipt(source: String, id: String, now: Date, until: Date) async throws -> Bool
    /// Forgets one receipt, so a message whose processing failed can be delivered again.
    func forgetHookReceipt(source: String, id: String) async throws

    func insertApproval(_ approval: ApprovalRecord) async throws
    func approval(id: String) async throws -> ApprovalRecord?
    /// Approvals, newest first, optionally of one status, at most `limit`.
    func approvals(status: ApprovalRecord.Status?, limit: Int) async throws -> [ApprovalRecord]
    /// Records a decision on an approval that is still pending; returns `false` (changing nothing) when it
    /// is not pending any more, so two approvers racing cannot both run the action.
    func decideApproval(id: String, status: ApprovalRecord.Status, by: String, at: Date, outcome: JSONValue?) async throws -> Bool
    /// Records what happened after a decision (the action's outcome, or its failure).
    func recordApprovalOutcome(id: String, status: ApprovalRecord.Status, outcome: JSONValue?) async throws

    func statistics() async throws -> StoreStatistics

    /// Flushes and closes. Nothing may be called afterwards.
    func close() async throws
}

/// How hard a commit works to survive power loss.
public enum Durability: String, Sendable, Codable, CaseIterable {
    /// Every commit is on disk before it is acknowledged (fsync on each commit). The default.
    case full
    /// Commits survive a crash of Millwright; the last ones may be lost on power loss or an OS crash.
    case normal
}
