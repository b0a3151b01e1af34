/// Limits and switches of the HTTP API.
public struct APIConfiguration: Sendable {
    /// Largest request body accepted, in bytes (413 above). Default 1 MiB.
    public var maxBodyBytes: Int = 1_048_576
    /// Most events in one `application/cloudevents-batch+json` request (413 above). Default 1,000.
    public var maxBatchEvents: Int = 1_000
    /// Whether `/metrics` needs a token with `metrics:read`. Default: no (scrapers on a trusted network).
    public var metricsRequireToken: Bool = false
    /// Deepest JSON nesting accepted.
    public var maxJSONDepth: Int = 64
    /// Requests per bearer token (`limits.rate`): off unless configured.
    public var rateLimit = RateLimitConfiguration()
    /// Sensitive actions that need a second person's approval (`approvals:`): none by default.
    public var approvals = ApprovalPolicy()
    /// Inbound webhook sources (`hooks:`), secrets still as references.
    public var hooks: [HookSourceConfiguration] = []

    public init() {}
}
