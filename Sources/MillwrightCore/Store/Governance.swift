import Foundation

/// A machine identity (an MES bridge, a supplier portal, a PLC gateway) that holds tokens.
public struct ServiceAccount: Sendable, Hashable {
    public var name: String
    public var description: String
    public var createdAt: Date

    public init(name: String, description: String = "", createdAt: Date) {
        self.name = name
        self.description = description
        self.createdAt = createdAt
    }
}

/// A sensitive action waiting for, or decided by, a second person's approval.
public struct ApprovalRecord: Sendable, Hashable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        /// Waiting for an approver.
        case pending
        /// Approved, and the action ran.
        case approved
        case rejected
        /// Not decided before `expiresAt`.
        case expired
        /// Approved, but the action failed when it ran (`outcome` says why).
        case failed
    }

    public var id: String
    /// The audit verb of the action: `token.create`, `token.rotate`, `token.revoke`, `service_account.create`.
    public var action: String
    /// On what: an account name or a token id/prefix.
    public var target: String
    /// The action's parameters, as requested (never a secret).
    public var request: JSONValue
    /// Who asked: the audit name (`mw_3f9a1c2e (alice)`).
    public var requestedBy: String
    /// The requester's service account: the approver must be another one.
    public var requesterAccount: String
    public var origin: String
    public var requestedAt: Date
    public var expiresAt: Date
    public var status: Status
    public var decidedBy: String?
    public var decidedAt: Date?
    /// What happened when it was decided (a token's description, an error message); never a secret.
    public var outcome: JSONValue?

    public init(
        id: String, action: String, target: String, request: JSONValue, requestedBy: String, requesterAccount: String,
        origin: String, requestedAt: Date, expiresAt: Date, status: Status = .pending,
        decidedBy: String? = nil, decidedAt: Date? = nil, outcome: JSONValue? = nil
    ) {
        self.id = id
        self.action = action
        self.target = target
        self.request = request
        self.requestedBy = requestedBy
        self.requesterAccount = requesterAccount
        self.origin = origin
        self.requestedAt = requestedAt
        self.expiresAt = expiresAt
        self.status = status
        self.decidedBy = decidedBy
        self.decidedAt = decidedAt
        self.outcome = outcome
    }
}

/// A privileged action or configuration change, before it is chained into the audit log.
public struct AuditDraft: Sendable, Hashable {
    public var at: Date
    /// Who: a token prefix and account (`mw_3f9a1c2e (admin)`), or `cli:<user>` for local commands.
    public var actor: String
    /// What, as a stable verb: `token.create`, `token.rotate`, `token.revoke`, `service_account.create`.
    public var action: String
    /// On what: an account name, a token prefix.
    public var target: String
    /// From where: the client address, or `local`.
    public var origin: String
    public var before: JSONValue?
    public var after: JSONValue?

    public init(at: Date, actor: String, action: String, target: String, origin: String, before: JSONValue? = nil, after: JSONValue? = nil) {
        self.at = at
        self.actor = actor
        self.action = action
        self.target = target
        self.origin = origin
        self.before = before
        self.after = after
    }
}

/// An entry of the append-only audit log, hash-chained to the one before it.
public struct AuditEntry: Sendable, Hashable {
    public var seq: Int64
    public var draft: AuditDraft
    /// Hash of the previous entry (64 zeros for the first).
    public var previousHash: String
    /// Hash of this entry's content and `previousHash`.
    public var hash: String

    public init(seq: Int64, draft: AuditDraft, previousHash: String, hash: String) {
        self.seq = seq
        self.draft = draft
        self.previousHash = previousHash
        self.hash = hash
    }

    public static let genesisHash = String(repeating: "0", count: 64)

    /// The exact text that is hashed: position, content and the previous hash, in canonical JSON.
    /// Time is kept to the microsecond, as stored.
    public static func chainedText(seq: Int64, draft: AuditDraft, previousHash: String) -> String {
        var members: [String: JSONValue] = [
            "seq": .number(String(seq)),
            "at_us": .number(String(draft.at.microsecondsSince1970)),
            "actor": .string(draft.actor),
            "action": .string(draft.action),
            "target": .string(draft.target),
            "origin": .string(draft.origin),
            "previous": .string(previousHash),
        ]
        if let before = draft.before { members["before"] = before }
        if let after = draft.after { members["after"] = after }
        return JSONValue.object(members).canonicalText
    }
}

/// Computes an audit entry's hash from its ``AuditEntry/chainedText(seq:draft:previousHash:)``.
/// Injected into the store so Core stays free of a crypto dependency.
public typealias AuditHasher = @Sendable (String) -> String

/// What a check of the audit chain found.
public enum AuditVerification: Sendable, Equatable, CustomStringConvertible {
    case intact(entries: Int, head: String)
    /// The first entry where the chain breaks, and why.
    case broken(seq: Int64, reason: String)

    public var description: String {
        switch self {
        case .intact(let n, let head): "audit log intact: \(n) entries, head \(head.prefix(16))…"
        case .broken(let seq, let reason): "audit log BROKEN at entry \(seq): \(reason)"
        }
    }

    /// Walks the chain in log order and reports the first entry that was changed, removed or moved.
    public static func verify(_ entries: [AuditEntry], hasher: AuditHasher) -> AuditVerification {
        var previous = AuditEntry.genesisHash
        var expectedSeq: Int64 = 1
        for entry in entries {
            if entry.seq != expectedSeq {
                return .broken(seq: expectedSeq, reason: "entry \(expectedSeq) is missing (the next one found is \(entry.seq)): entries were deleted")
            }
            if entry.previousHash != previous {
                return .broken(seq: entry.seq, reason: "it does not follow the entry before it (its previous-hash does not match): entries were removed or reordered")
            }
            let recomputed = hasher(AuditEntry.chainedText(seq: entry.seq, draft: entry.draft, previousHash: entry.previousHash))
            if recomputed != entry.hash {
                return .broken(seq: entry.seq, reason: "its content does not match its hash: the entry was edited (\(entry.draft.action) on \(entry.draft.target))")
            }
            previous = entry.hash
            expectedSeq += 1
        }
        return .intact(entries: entries.count, head: previous)
    }
}

extension Date {
    /// Microseconds since 1970, saturating: a date beyond what Int64 microseconds hold (year ±292,000)
    /// becomes the largest or smallest value instead of trapping. Stores and the audit chain use this one
    /// conversion, so what is hashed is exactly what is stored.
    public var microsecondsSince1970: Int64 {
        let value = (timeIntervalSince1970 * 1_000_000).rounded()
        guard value.isFinite else { return value > 0 ? .max : .min }
        if value >= 9.2e18 { return .max }
        if value <= -9.2e18 { return .min }
        return Int64(value)
    }
}
