import Foundation
import MillwrightAPI
import Yams

/// `limits.rate`: requests per bearer token.
///
/// ```yaml
/// limits:
///   rate:
///     per_second: 50      # refill rate of each token's bucket; 0 or absent: no limit
///     burst: 100          # bucket size; default twice per_second (at least 1)
///     accounts:           # overrides by service account, for each of its tokens
///       mes-bridge: {per_second: 500, burst: 1000}
/// ```
extension YAMLReader {
    func rateLimit(_ node: Node) throws(ConfigurationError) -> RateLimitConfiguration {
        let m = try mapping(node, keys: ["per_second", "burst", "accounts"])
        var result = RateLimitConfiguration()
        result.standard = try limit(m, allowOff: true, at: node)
        if let accounts = m["accounts"] {
            guard case .mapping(let entries) = accounts else { throw error(accounts, "expected a mapping of service account names to {per_second, burst}") }
            for (keyNode, value) in entries {
                guard let name = keyNode.string, !name.isEmpty else { throw error(keyNode, "expected a service account name") }
                let limitNode = try mapping(value, keys: ["per_second", "burst"])
                guard let limit = try limit(limitNode, allowOff: false, at: value) else {
                    throw error(value, "an account's rate limit needs per_second")
                }
                result.accounts[name] = limit
            }
        }
        return result
    }

    func limit(_ m: [String: Node], allowOff: Bool, at node: Node) throws(ConfigurationError) -> RateLimit? {
        guard let rateNode = m["per_second"] else {
            if let burst = m["burst"] { throw error(burst, "burst needs per_second") }
            return nil
        }
        let rate = try number(rateNode, in: (allowOff ? 0 : 0.001)...1_000_000)
        if rate == 0 {
            if let burst = m["burst"] { throw error(burst, "burst has no effect with per_second 0 (no limit)") }
            return nil
        }
        var burst = RateLimit.defaultBurst(perSecond: rate)
        if let n = m["burst"] { burst = try int(n, in: 1...10_000_000) }
        return RateLimit(perSecond: rate, burst: burst)
    }

    func number(_ node: Node, in range: ClosedRange<Double>) throws(ConfigurationError) -> Double {
        guard case .scalar(let s) = node, let v = Double(s.string.replacingOccurrences(of: "_", with: "")), v.isFinite else {
            throw error(node, "expected a number")
        }
        guard range.contains(v) else { throw error(node, "must be from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound))") }
        return v
    }

    static func format(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(v) }
}

extension RateLimit {
    /// Twice the rate, at least 1: a client may send two seconds' worth at once after a pause.
    static func defaultBurst(perSecond: Double) -> Int { max(1, Int((perSecond * 2).rounded(.up))) }
}

extension MillwrightConfiguration {
    /// `MILLWRIGHT_RATE_PER_SECOND` (0: no limit) and `MILLWRIGHT_RATE_BURST` set the default per-token limit.
    mutating func applyRateLimit(environment: [String: String]) throws(ConfigurationError) {
        var rate = api.rateLimit.standard?.perSecond
        var burst = api.rateLimit.standard?.burst
        if let raw = environment["MILLWRIGHT_RATE_PER_SECOND"] {
            guard let v = Double(raw), v.isFinite, (0...1_000_000).contains(v) else {
                throw ConfigurationError(file: "environment", message: "MILLWRIGHT_RATE_PER_SECOND='\(raw)' is not valid: expected a number from 0 (no limit) to 1000000")
            }
            rate = v
            if environment["MILLWRIGHT_RATE_BURST"] == nil { burst = v > 0 ? RateLimit.defaultBurst(perSecond: v) : nil }
        }
        if let raw = environment["MILLWRIGHT_RATE_BURST"] {
            guard let v = Int(raw), (1...10_000_000).contains(v) else {
                throw ConfigurationError(file: "environment", message: "MILLWRIGHT_RATE_BURST='\(raw)' is not valid: expected a whole number from 1 to 10000000")
            }
            guard (rate ?? 0) > 0 else {
                throw ConfigurationError(file: "environment", message: "MILLWRIGHT_RATE_BURST is set but no rate is: set MILLWRIGHT_RATE_PER_SECOND or limits.rate.per_second")
            }
            burst = v
        }
        if let rate, rate > 0, let burst {
            api.rateLimit.standard = RateLimit(perSecond: rate, burst: burst)
        } else if rate == 0 {
            api.rateLimit.standard = nil
        }
    }
}
