import Foundation
import Synchronization

/// A token bucket's size and refill rate.
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    /// Requests per second added to the bucket. Fractions are allowed (`0.5`: one every two seconds).
    public var perSecond: Double
    /// The bucket's size: how many requests may come at once after a quiet period.
    public var burst: Int

    public init(perSecond: Double, burst: Int) {
        self.perSecond = perSecond
        self.burst = burst
    }

    public var description: String {
        let rate = perSecond == perSecond.rounded() && perSecond < 1e15 ? String(Int(perSecond)) : String(perSecond)
        return "\(rate) requests per second, burst \(burst)"
    }
}

/// Rate limits for bearer tokens: one default, and overrides by service account.
public struct RateLimitConfiguration: Sendable {
    /// Applies to every token without an override; `nil`: no limit.
    public var standard: RateLimit?
    /// By service account name; an override applies to each of the account's tokens separately.
    public var accounts: [String: RateLimit] = [:]

    public init(standard: RateLimit? = nil, accounts: [String: RateLimit] = [:]) {
        self.standard = standard
        self.accounts = accounts
    }

    public func limit(account: String) -> RateLimit? { accounts[account] ?? standard }
}

/// Token buckets by token id. Time comes from an injected clock, so tests move it by hand.
///
/// ```swift
/// let limiter = RateLimiter(configuration: .init(standard: RateLimit(perSecond: 50, burst: 100)))
/// if let wait = limiter.take(tokenID: principal.tokenID, account: principal.name) { /* 429, Retry-After: wait */ }
/// ```
public final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: Date
    }

    public let configuration: RateLimitConfiguration
    let now: @Sendable () -> Date
    let buckets = Mutex<[String: Bucket]>([:])
    /// Beyond this many buckets, full ones are dropped (a full bucket is the same as none).
    let maxBuckets: Int

    public init(configuration: RateLimitConfiguration, maxBuckets: Int = 100_000, now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.maxBuckets = maxBuckets
        self.now = now
    }

    /// Takes one request from the token's bucket. Returns `nil` when allowed, else the whole seconds (at
    /// least 1) until the bucket holds a request again.
    public func take(tokenID: String, account: String) -> Int? {
        guard let limit = configuration.limit(account: account), limit.perSecond > 0 else { return nil }
        let at = now()
        return buckets.withLock { buckets in
            var bucket = buckets[tokenID] ?? Bucket(tokens: Double(limit.burst), updated: at)
            let elapsed = max(0, at.timeIntervalSince(bucket.updated))  // a wall clock stepped back refills nothing
            bucket.tokens = min(Double(limit.burst), bucket.tokens + elapsed * limit.perSecond)
            bucket.updated = at
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                buckets[tokenID] = bucket
                if buckets.count > maxBuckets { Self.dropFull(&buckets, at: at, configuration: configuration) }
                return nil
            }
            buckets[tokenID] = bucket
            let seconds = (1 - bucket.tokens) / limit.perSecond
            return max(1, Int(seconds.rounded(.up)))
        }
    }

    static func dropFull(_ buckets: inout [String: Bucket], at: Date, configuration: RateLimitConfiguration) {
        // A bucket untouched for burst/rate seconds is full again: forget it. The slowest limit decides.
        let limits = [configuration.standard].compactMap { $0 } + Array(configuration.accounts.values)
        let quiet = limits.filter { $0.perSecond > 0 }.map { Double($0.burst) / $0.perSecond }.max() ?? 0
        buckets = buckets.filter { at.timeIntervalSince($0.value.updated) < quiet }
    }
}
