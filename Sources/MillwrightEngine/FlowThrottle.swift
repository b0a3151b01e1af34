import Foundation
import MillwrightCore
import Synchronization

/// Token buckets of the flows that have a `rate_limit`, on the worker's clock (tests move it by hand).
/// A delivery takes one token when it is claimed, a micro-batch one for the whole batch.
final class FlowThrottle: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: Date
    }

    let buckets = Mutex<[String: Bucket]>([:])

    /// Whole tokens `flow` has now (a new bucket starts full).
    func available(_ flow: String, _ limit: Flow.RateLimit, now: Date) -> Int {
        buckets.withLock { buckets in
            let bucket = Self.refilled(buckets[flow], limit, now: now)
            buckets[flow] = bucket
            return Int(bucket.tokens.rounded(.down))
        }
    }

    func take(_ flow: String, _ count: Int, _ limit: Flow.RateLimit, now: Date) {
        guard count > 0 else { return }
        buckets.withLock { buckets in
            var bucket = Self.refilled(buckets[flow], limit, now: now)
            bucket.tokens = max(0, bucket.tokens - Double(count))
            buckets[flow] = bucket
        }
    }

    static func refilled(_ bucket: Bucket?, _ limit: Flow.RateLimit, now: Date) -> Bucket {
        guard let bucket else { return Bucket(tokens: Double(limit.burst), updated: now) }
        let elapsed = max(0, now.timeIntervalSince(bucket.updated))
        return Bucket(tokens: min(Double(limit.burst), bucket.tokens + elapsed * limit.perSecond), updated: max(now, bucket.updated))
    }
}
