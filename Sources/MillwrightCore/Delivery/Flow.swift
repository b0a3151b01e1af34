import Foundation

/// A flow: which events (`match`), to which sink operation, with which retry policy, ordering and priority.
/// Loaded from `flows/*.yaml` (see docs/flows.md); the built-in Odoo flows are defined the same way.
public struct Flow: Sendable, Hashable {
    public enum Priority: String, Sendable, CaseIterable, Comparable {
        case critical, normal, bulk
        public var rank: Int {
            switch self {
            case .critical: 0
            case .normal: 1
            case .bulk: 2
            }
        }
        public static func < (a: Priority, b: Priority) -> Bool { a.rank < b.rank }
    }

    /// Where a delivery's partition (its ordering key) comes from.
    public enum Partition: Sendable, Hashable {
        /// The event's `partitionkey` extension, else its `subject`, else its source and id (no ordering).
        case event
        /// A JSON pointer into the event (`/data/order`).
        case pointer(String)
        /// No ordering: every delivery is its own partition, so nothing waits for anything.
        case unordered
    }

    public var name: String
    public var description: String
    /// Event types; `*` matches any run of characters (`mfg.production.*`).
    public var types: [String]
    /// Sources; empty = any. `*` as in `types`.
    public var sources: [String]
    /// Sources never matched, even when `sources` matches (`odoo/change-capture`: what came from Odoo
    /// does not go back to Odoo). `*` as in `types`.
    public var excludedSources: [String] = []
    public var sink: String
    public var operation: String
    public var retry: RetryPolicy
    public var partition: Partition
    public var priority: Priority
    /// Target latency from acknowledgement to done.
    public var sla: TimeInterval?
    public var enabled: Bool
    /// A missing `sequence` in a partition: how long later events wait, and what happens then.
    public var gap = GapPolicy()
    /// Steps run on the event before the sink sees it (filter, set, lookup, split).
    public var steps: [FlowStep] = []
    /// When deliveries go: one by one as they come, or gathered into micro-batches.
    public var sync: Sync = .realtime
    /// At most this many deliveries (or micro-batches) a second go to the sink from this flow; `nil`: no limit
    /// besides the sink's own (the Odoo connector's `calls_per_second`).
    public var rateLimit: RateLimit?

    /// A token bucket: `perSecond` added, at most `burst` kept.
    public struct RateLimit: Sendable, Hashable {
        public var perSecond: Double
        public var burst: Int

        /// What flow files and subscriptions accept.
        public static let perSecondRange: ClosedRange<Double> = 0.001...100_000
        public static let burstRange: ClosedRange<Int> = 1...100_000

        public init(perSecond: Double, burst: Int? = nil) {
            self.perSecond = perSecond
            self.burst = burst ?? max(1, Int(perSecond.rounded(.up)))
        }

        /// As the API shows it: `{"per_second", "burst"}`.
        public var json: JSONValue {
            ["per_second": .number(String(format: "%g", perSecond)), "burst": .number(String(burst))]
        }
    }

    /// Prepended to every partition of this flow (`subscription/sub_…`), so it shares no partition with
    /// another flow: an outbound webhook endpoint orders its own messages and waits for nobody else's.
    /// `nil`: partitions span flows (an order's consumption and completion keep the plant's order).
    public var partitionScope: String?

    public enum Sync: Sendable, Hashable {
        case realtime
        /// Up to `max` deliveries at once, sent when `max` are due or the oldest has waited `window`.
        case microBatch(max: Int, window: TimeInterval)
        /// Held until the schedule's next firing after the event arrived, then sent in batches of up to `max`.
        case schedule(CronSchedule, max: Int)

        /// When a delivery made at `date` may first go: at once, or at the schedule's next firing.
        public func firstAttempt(after date: Date) -> Date? {
            if case .schedule(let cron, _) = self { return cron.next(after: date) }
            return nil
        }
    }

    public init(
        name: String, description: String = "", types: [String], sources: [String] = [], sink: String, operation: String,
        retry: RetryPolicy = RetryPolicy(), partition: Partition = .event, priority: Priority = .normal, sla: TimeInterval? = nil,
        enabled: Bool = true
    ) {
        self.name = name
        self.description = description
        self.types = types
        self.sources = sources
        self.sink = sink
        self.operation = operation
        self.retry = retry
        self.partition = partition
        self.priority = priority
        self.sla = sla
        self.enabled = enabled
    }

    public func matches(type: String, source: String) -> Bool {
        enabled && types.contains { Self.glob($0, type) } && (sources.isEmpty || sources.contains { Self.glob($0, source) })
            && !excludedSources.contains { Self.glob($0, source) }
    }

    /// `*` matches any run of characters; everything else literally.
    public static func glob(_ pattern: String, _ text: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 1 { return pattern == text }
        var rest = Substring(text)
        guard let first = parts.first, rest.hasPrefix(first) else { return false }
        rest = rest.dropFirst(first.count)
        for (index, part) in parts.enumerated().dropFirst() {
            if index == parts.count - 1 { return part.isEmpty || rest.hasSuffix(part) }
            guard !part.isEmpty else { continue }
            guard let range = rest.range(of: part) else { return false }
            rest = rest[range.upperBound...]
        }
        return true
    }

    /// The event's `sequence` extension as a number, if it has one.
    public static func sequence(of envelope: JSONValue) -> Int64? {
        envelope["sequence"]?.stringValue.flatMap { Int64($0) }
    }

    /// The partition of one event under this flow.
    /// A scheduled flow's partitions are its own: its deliveries wait for the schedule, and must not hold
    /// back the realtime flows that share the event's key.
    public func partition(of envelope: JSONValue, seq: Int64) -> String {
        let key = unscopedPartition(of: envelope, seq: seq)
        if let scope = partitionScope { return "\(scope)/\(key)" }
        if case .schedule = sync { return "\(name)|" + key }
        return key
    }

    func unscopedPartition(of envelope: JSONValue, seq: Int64) -> String {
        switch partition {
        case .unordered:
            return "seq:\(seq)"
        case .event:
            if let key = envelope["partitionkey"]?.stringValue, !key.isEmpty { return key }
            if let subject = envelope["subject"]?.stringValue, !subject.isEmpty { return subject }
            return "seq:\(seq)"
        case .pointer(let pointer):
            if let value = JSONPointer(rawValue: pointer).resolve(in: envelope) {
                if let s = value.stringValue { return s }
                return value.canonicalText
            }
            return "seq:\(seq)"
        }
    }
}
