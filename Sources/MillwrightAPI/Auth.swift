import Crypto
import Foundation
import Hummingbird
import Logging
import MillwrightCore
import Synchronization

/// Who is calling: the token's identity and what it may do.
public struct Principal: Sendable, Hashable {
    public var tokenID: String
    public var name: String
    /// The non-secret prefix, safe for logs.
    public var prefix: String
    public var scopes: [String]

    /// Whether the scopes grant `action` (e.g. `events:publish:mfg.production.completed.v1`).
    ///
    /// `admin` grants everything; a scope grants itself, anything below it (`events:publish` grants
    /// `events:publish:<any type>`), and a trailing `*` matches any suffix (`events:publish:mfg.production.*`).
    public func allows(_ action: String) -> Bool {
        scopes.contains { Self.scope($0, grants: action) }
    }

    public static func scope(_ scope: String, grants action: String) -> Bool {
        if scope == "admin" || scope == action { return true }
        if scope.hasSuffix("*") { return action.hasPrefix(scope.dropLast()) }
        return action.hasPrefix(scope + ":")
    }
}

/// Tokens: `mw_<8 hex prefix>_<43 chars of base64url secret>`; only a SHA-256 hash is stored.
public enum APIToken {
    public struct Issued: Sendable {
        /// The whole token: shown once, never stored.
        public var token: String
        public var record: TokenRecord
    }

    /// Makes a new random token for `name` with `scopes`.
    public static func issue(name: String, scopes: [String], now: Date, expiresAt: Date? = nil) -> Issued {
        var rng = SystemRandomNumberGenerator()
        let prefixBytes = (0..<4).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
        let secretBytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
        let prefix = "mw_" + JSONValue.hex(prefixBytes)
        let secret = Data(secretBytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let token = prefix + "_" + secret
        let record = TokenRecord(
            id: UUID().uuidString.lowercased(), name: name, prefix: prefix, hash: hash(token),
            scopes: scopes, createdAt: now, expiresAt: expiresAt
        )
        return Issued(token: token, record: record)
    }

    public static func hash(_ token: String) -> String {
        JSONValue.hex(SHA256.hash(data: Data(token.utf8)))
    }

    /// The identifying prefix of a token, for logs (`mw_3f9a1c2e`), or `nil` if it has none.
    public static func prefix(of token: String) -> String? {
        let parts = token.split(separator: "_", maxSplits: 2)
        guard parts.count == 3, parts[0] == "mw" else { return nil }
        return "mw_" + parts[1]
    }
}

/// Checks bearer tokens against the store, with a short cache so the hot path does not read the database.
public final class TokenVerifier: Sendable {
    let store: any Store
    let now: @Sendable () -> Date
    /// The bootstrap admin token from `MILLWRIGHT_ADMIN_TOKEN`, hashed.
    let bootstrapHash: String?
    let cacheTTL: TimeInterval
    let cache = Mutex<[String: (principal: Principal?, until: Date, expiresAt: Date?)]>([:])

    /// - Parameter cacheTTL: how long a lookup is reused. Changes made through this node take effect at once
    ///   (``forget(hash:)``); changes made by another process (the CLI) within `cacheTTL`.
    public init(store: any Store, bootstrapToken: String?, cacheTTL: TimeInterval = 1, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.bootstrapHash = bootstrapToken.flatMap { $0.isEmpty ? nil : APIToken.hash($0) }
        self.cacheTTL = cacheTTL
        self.now = now
    }

    /// The principal for `token`, or `nil` when it is unknown, expired or revoked.
    public func verify(_ token: String) async throws -> Principal? {
        let hash = APIToken.hash(token)
        if let bootstrapHash, Self.constantTimeEqual(hash, bootstrapHash) {
            return Principal(tokenID: "bootstrap", name: "bootstrap-admin", prefix: APIToken.prefix(of: token) ?? "env", scopes: ["admin"])
        }
        let at = now()
        if let hit = cache.withLock({ $0[hash] }), hit.until > at {
            if let expiresAt = hit.expiresAt, expiresAt <= at { return nil }
            return hit.principal
        }
        let record = try await store.token(hash: hash)
        var principal: Principal?
        if let record, record.revokedAt == nil, record.expiresAt.map({ $0 > at }) ?? true {
            principal = Principal(tokenID: record.id, name: record.name, prefix: record.prefix, scopes: record.scopes)
        }
        cache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }  // bounded: unknown tokens cannot grow it forever
            cache[hash] = (principal, at.addingTimeInterval(cacheTTL), record?.expiresAt)
        }
        return principal
    }

    /// Drops a token from the cache, so a revocation or rotation applies to the next request.
    public func forget(hash: String) {
        _ = cache.withLock { $0.removeValue(forKey: hash) }
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}

/// Requires `Authorization: Bearer <token>` and sets ``MillwrightRequestContext/principal``.
struct AuthMiddleware: RouterMiddleware {
    let verifier: TokenVerifier
    /// Per-token rate limits, checked once the token is known; `nil`: none.
    var limiter: RateLimiter?

    func handle(_ request: Request, context: MillwrightRequestContext, next: (Request, MillwrightRequestContext) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw Self.unauthorized("This route needs a bearer token: send 'Authorization: Bearer <token>'.")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Self.unauthorized("The Authorization header must use the Bearer scheme: 'Authorization: Bearer <token>'.")
        }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        guard let principal = try await verifier.verify(token) else {
            throw Self.unauthorized("The token is unknown, expired or revoked.")
        }
        if let limiter, let wait = limiter.take(tokenID: principal.tokenID, account: principal.name) {
            context.logger.notice("rate limited", metadata: ["mw.token": "\(principal.prefix)", "mw.retry_after": "\(wait)"])
            throw Problem.rateLimited(retryAfter: wait, detail:
                "The token \(principal.prefix) is over its rate limit (\(limiter.configuration.limit(account: principal.name).map(\.description) ?? "")). Retry after \(wait) second(s).")
        }
        var context = context
        context.principal = principal
        context.logger[metadataKey: "mw.token"] = "\(principal.prefix)"
        return try await next(request, context)
    }

    static func unauthorized(_ detail: String) -> Problem {
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = "Bearer realm=\"millwright\""
        return Problem(.unauthorized, code: ProblemCode.unauthorized, title: "Unauthorized", detail: detail, headers: headers)
    }
}

extension MillwrightRequestContext {
    /// Throws a 403 problem naming the missing scope unless the caller has it.
    func require(_ scope: String) throws {
        guard let principal else { throw AuthMiddleware.unauthorized("This route needs a bearer token.") }
        guard principal.allows(scope) else { throw Problem.forbidden(scope) }
    }
}

extension Problem {
    /// 429 with `Retry-After` in whole seconds (at least 1).
    static func rateLimited(retryAfter seconds: Int, detail: String) -> Problem {
        var headers = HTTPFields()
        headers[.retryAfter] = String(max(1, seconds))
        return Problem(.tooManyRequests, code: ProblemCode.tooManyRequests, title: "Too many requests", detail: detail,
                       extensions: ["retry_after": .number(String(max(1, seconds)))], headers: headers)
    }

    static func forbidden(_ scope: String) -> Problem {
        Problem(.forbidden, code: ProblemCode.forbidden, title: "Forbidden",
                detail: "The token lacks the scope '\(scope)'. Ask an administrator for a token that has it.",
                extensions: ["missing_scope": .string(scope)])
    }
}
