import Crypto
import Foundation
import MillwrightCore

/// Service accounts, tokens and the audit trail: the one place that changes them, used by the API and the CLI.
///
/// Every change is appended to the hash-chained audit log in the same call.
public struct Governance: Sendable {
    public let store: any Store
    let now: @Sendable () -> Date
    /// Called after a token changes, so a running node's token cache forgets it at once.
    let onTokenChange: @Sendable (String) -> Void

    public init(store: any Store, now: @escaping @Sendable () -> Date = { Date() }, onTokenChange: @escaping @Sendable (String) -> Void = { _ in }) {
        self.store = store
        self.now = now
        self.onTokenChange = onTokenChange
    }

    /// SHA-256 in hex: the audit chain's hash.
    public static let hasher: AuditHasher = { text in
        JSONValue.hex(SHA256.hash(data: Data(text.utf8)))
    }

    /// Who did it and from where, for the audit log.
    public struct Actor: Sendable {
        public var name: String
        public var origin: String
        public init(name: String, origin: String) {
            self.name = name
            self.origin = origin
        }
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public enum Kind: Sendable { case notFound, invalid, conflict }
        public var kind: Kind
        public var message: String
        public var description: String { message }
    }

    // MARK: scopes

    /// The longest lifetime or overlap a token can be given: 10 years.
    public static let maxLifetimeSeconds = 315_360_000

    /// Account names: what ``validName(_:)`` accepts, as a regular expression for the OpenAPI document.
    public static let accountNamePattern = "^[A-Za-z0-9._@-]{1,64}$"

    /// The scope roots Millwright knows. A scope must be one of them or a refinement (`events:publish:mfg.*`).
    public static let knownScopes = [
        "admin", "events:read", "events:publish", "schemas:read", "metrics:read", "audit:read",
        "flows:read", "deliveries:read", "deliveries:replay", "xrefs:write",
    ]

    /// Roles for people: fixed sets of scopes.
    public static let roles: [String: [String]] = [
        "viewer": ["events:read", "schemas:read", "metrics:read", "flows:read", "deliveries:read"],
        "operator": ["events:read", "schemas:read", "metrics:read", "flows:read", "deliveries:read", "deliveries:replay", "xrefs:write", "events:publish"],
        "admin": ["admin"],
    ]

    /// Expands `role:<name>` entries and checks every scope against ``knownScopes``.
    public static func resolve(scopes: [String]) throws(Failure) -> [String] {
        var result: [String] = []
        for scope in scopes {
            let s = scope.trimmingCharacters(in: .whitespaces)
            if s.hasPrefix("role:") {
                guard let expanded = roles[String(s.dropFirst(5))] else {
                    throw Failure(kind: .invalid, message: "unknown role '\(s.dropFirst(5))': use viewer, operator or admin")
                }
                result += expanded
                continue
            }
            guard !s.isEmpty, !s.contains(" "),
                knownScopes.contains(where: { s == $0 || s.hasPrefix($0 + ":") })
            else {
                throw Failure(kind: .invalid, message: "unknown scope '\(s)': use one of \(knownScopes.joined(separator: ", ")), a refinement such as events:publish:mfg.production.*, or role:viewer|operator|admin")
            }
            result.append(s)
        }
        guard !result.isEmpty else { throw Failure(kind: .invalid, message: "a token needs at least one scope") }
        var seen = Set<String>()
        return result.filter { seen.insert($0).inserted }
    }

    // MARK: accounts and tokens

    static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { c in
                (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F || c == 0x2E || c == 0x40
            }
    }

    /// Creates a service account.
    @discardableResult
    public func createAccount(name: String, description: String, by actor: Actor) async throws -> ServiceAccount {
        guard Self.validName(name) else {
            throw Failure(kind: .invalid, message: "'\(name)' is not a valid account name: letters, digits, - _ . @, at most 64")
        }
        let account = ServiceAccount(name: name, description: description, createdAt: now())
        guard try await store.createServiceAccount(account) else {
            throw Failure(kind: .conflict, message: "a service account named '\(name)' exists already")
        }
        try await audit("service_account.create", target: name, by: actor, after: ["name": .string(name), "description": .string(description)])
        return account
    }

    /// Issues a new token for `account` (created if it does not exist yet).
    public func issueToken(account: String, scopes: [String], expiresAt: Date? = nil, by actor: Actor) async throws -> APIToken.Issued {
        guard Self.validName(account) else {
            throw Failure(kind: .invalid, message: "'\(account)' is not a valid account name: letters, digits, - _ . @, at most 64")
        }
        let scopes = try Self.resolve(scopes: scopes)
        if let expiresAt, expiresAt <= now() { throw Failure(kind: .invalid, message: "the expiry is in the past") }
        if let expiresAt, expiresAt.timeIntervalSince(now()) > TimeInterval(Self.maxLifetimeSeconds) {
            throw Failure(kind: .invalid, message: "a token can live at most 10 years; leave the expiry out for a token that does not expire")
        }
        if try await store.createServiceAccount(ServiceAccount(name: account, createdAt: now())) {
            try await audit("service_account.create", target: account, by: actor, after: ["name": .string(account)])
        }
        let issued = APIToken.issue(name: account, scopes: scopes, now: now(), expiresAt: expiresAt)
        try await store.insertToken(issued.record)
        try await audit("token.create", target: issued.record.prefix, by: actor, after: Self.describe(issued.record))
        return issued
    }

    /// Finds a token by id or by its prefix (`mw_3f9a1c2e`).
    public func token(_ reference: String) async throws -> TokenRecord {
        let all = try await store.tokens(account: nil)
        guard let token = all.first(where: { $0.id == reference || $0.prefix == reference }) else {
            throw Failure(kind: .notFound, message: "no token with id or prefix '\(reference)'; 'millwright tokens list' shows them")
        }
        return token
    }

    /// Issues a successor with the same account and scopes; the old token stays valid for `overlap`, then expires.
    public func rotate(_ reference: String, overlap: TimeInterval, by actor: Actor) async throws -> APIToken.Issued {
        let old = try await token(reference)
        let at = now()
        guard old.revokedAt == nil, old.expiresAt.map({ $0 > at }) ?? true else {
            throw Failure(kind: .invalid, message: "token \(old.prefix) is already revoked or expired; issue a new one instead")
        }
        guard overlap >= 0, overlap <= TimeInterval(Self.maxLifetimeSeconds) else {
            throw Failure(kind: .invalid, message: "the overlap must be from 0 to 10 years")
        }
        // The successor keeps the old token's lifetime length, counted from now.
        let lifetime = old.expiresAt.map { $0.timeIntervalSince(old.createdAt) }
        let issued = APIToken.issue(name: old.name, scopes: old.scopes, now: at, expiresAt: lifetime.map { at.addingTimeInterval($0) })
        try await store.insertToken(issued.record)
        let oldExpiry = min(old.expiresAt ?? .distantFuture, at.addingTimeInterval(overlap))
        try await store.updateToken(id: old.id, expiresAt: oldExpiry, revokedAt: nil)
        onTokenChange(old.hash)
        try await audit("token.rotate", target: old.prefix, by: actor,
                        before: Self.describe(old), after: ["successor": .string(issued.record.prefix), "old_expires_at": .string(RFC3339.format(oldExpiry))])
        return issued
    }

    /// Revokes a token at once.
    public func revoke(_ reference: String, by actor: Actor) async throws -> TokenRecord {
        var old = try await token(reference)
        guard old.revokedAt == nil else { return old }
        let at = now()
        try await store.updateToken(id: old.id, expiresAt: old.expiresAt, revokedAt: at)
        onTokenChange(old.hash)
        try await audit("token.revoke", target: old.prefix, by: actor, before: Self.describe(old))
        old.revokedAt = at
        return old
    }

    public func verifyAudit() async throws -> AuditVerification {
        var all: [AuditEntry] = []
        var after: Int64 = 0
        while true {
            let page = try await store.auditEntries(after: after, limit: 5_000)
            if page.isEmpty { break }
            all += page
            after = page.last?.seq ?? after
        }
        return AuditVerification.verify(all, hasher: Self.hasher)
    }

    public func audit(_ action: String, target: String, by actor: Actor, before: JSONValue? = nil, after: JSONValue? = nil) async throws {
        _ = try await store.appendAudit(
            AuditDraft(at: now(), actor: actor.name, action: action, target: target, origin: actor.origin, before: before, after: after),
            hasher: Self.hasher
        )
    }

    /// A token as shown to operators and in the audit log: never its secret or hash.
    public static func describe(_ token: TokenRecord) -> JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(token.id), "account": .string(token.name), "prefix": .string(token.prefix),
            "scopes": .array(token.scopes.map { .string($0) }), "created_at": .string(RFC3339.format(token.createdAt)),
        ]
        members["expires_at"] = token.expiresAt.map { .string(RFC3339.format($0)) } ?? .null
        members["revoked_at"] = token.revokedAt.map { .string(RFC3339.format($0)) } ?? .null
        return .object(members)
    }
}
