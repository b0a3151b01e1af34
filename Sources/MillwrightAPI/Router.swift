import Foundation
import Hummingbird
import Logging
import Metrics
import MillwrightCore
import MillwrightEngine

/// Everything the API needs, injected by the composition root.
public struct APIDependencies: Sendable {
    public var store: any Store
    public var ingestor: Ingestor
    public var verifier: TokenVerifier
    public var configuration: APIConfiguration
    public var metricsFactory: any MetricsFactory
    /// Renders `/metrics` (Prometheus text format).
    public var renderMetrics: @Sendable () async -> String
    /// Whether the node should receive traffic (false while starting or shutting down).
    public var isReady: @Sendable () -> Bool
    /// The delivery engine's state and the active flows (the operator routes).
    public var deliveries: (any DeliveryStore)?
    public var flows: [Flow] = []
    /// The cross-reference tables (`/v1/xrefs`, the `xref` step).
    public var xrefs: (any CrossReferenceStore)?
    /// The circuit breaker phase of a sink (`closed`, `open`, `half-open`).
    public var breakerPhase: @Sendable (String) -> String = { _ in "closed" }
    /// Outbound webhook subscriptions (`/v1/subscriptions`).
    public var subscriptions: SubscriptionManager?
    /// Inbound webhook sources (`hooks:`), their secrets read.
    public var hooks: [HookSource]
    /// Wall-clock time, injected so tests can check webhook timestamps against a fixed now.
    public var now: @Sendable () -> Date

    public init(
        store: any Store,
        ingestor: Ingestor,
        verifier: TokenVerifier,
        configuration: APIConfiguration,
        metricsFactory: any MetricsFactory,
        renderMetrics: @escaping @Sendable () async -> String,
        isReady: @escaping @Sendable () -> Bool,
        hooks: [HookSource] = [],
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.ingestor = ingestor
        self.verifier = verifier
        self.configuration = configuration
        self.metricsFactory = metricsFactory
        self.renderMetrics = renderMetrics
        self.isReady = isReady
        self.hooks = hooks
        self.now = now
    }
}

/// How a route authenticates its caller.
public enum RouteAuthentication: Sendable, Hashable {
    /// Open: no credentials (health, metrics, the API document).
    case none
    /// A bearer token with this scope (`events:publish:<type>` names the scope per event type).
    case token(scope: String)
    /// An inbound webhook: the hook source's own verification (Standard Webhooks signature, shared-secret
    /// header, network allow-list, secret in the path). Bearer tokens are neither needed nor accepted.
    case hookVerification

    /// The token scope, when the route takes a token.
    public var scope: String? {
        if case .token(let scope) = self { return scope }
        return nil
    }
}

/// Every route and how it authenticates. Documentation and the route-coverage test read this table; the
/// test proves each handler enforces exactly this and that no route is missing from it.
public let routeScopes: [(method: String, path: String, auth: RouteAuthentication)] = [
    ("GET", "/healthz", .none),
    ("GET", "/readyz", .none),
    ("GET", "/metrics", .none),  // or metrics:read when metrics.require_token is set
    ("GET", "/openapi.yaml", .none),
    ("GET", "/openapi.json", .none),
    ("POST", "/v1/events", .token(scope: "events:publish:<type>")),
    ("GET", "/v1/events", .token(scope: "events:read")),
    ("GET", "/v1/events/{seq}", .token(scope: "events:read")),
    ("GET", "/v1/schemas", .token(scope: "schemas:read")),
    ("GET", "/v1/schemas/{type}", .token(scope: "schemas:read")),
    ("GET", "/v1/service-accounts", .token(scope: "admin")),
    ("POST", "/v1/service-accounts", .token(scope: "admin")),
    ("GET", "/v1/service-accounts/{name}/tokens", .token(scope: "admin")),
    ("POST", "/v1/service-accounts/{name}/tokens", .token(scope: "admin")),
    ("POST", "/v1/tokens/{id}/rotate", .token(scope: "admin")),
    ("DELETE", "/v1/tokens/{id}", .token(scope: "admin")),
    ("GET", "/v1/audit", .token(scope: "audit:read")),
    ("GET", "/v1/audit/verify", .token(scope: "audit:read")),
    ("GET", "/v1/approvals", .token(scope: "admin")),
    ("GET", "/v1/approvals/{id}", .token(scope: "admin")),
    ("POST", "/v1/approvals/{id}/approve", .token(scope: "admin")),
    ("POST", "/v1/approvals/{id}/reject", .token(scope: "admin")),
    ("POST", "/v1/hooks/{source}", .hookVerification),
    ("POST", "/v1/hooks/{source}/{secret}", .hookVerification),
    ("GET", "/v1/flows", .token(scope: "flows:read")),
    ("GET", "/v1/deliveries", .token(scope: "deliveries:read")),
    ("GET", "/v1/deliveries/{id}", .token(scope: "deliveries:read")),
    ("GET", "/v1/dead-letters", .token(scope: "deliveries:read")),
    ("POST", "/v1/dead-letters/{id}/replay", .token(scope: "deliveries:replay")),
    ("POST", "/v1/replays", .token(scope: "deliveries:replay")),
    ("GET", "/v1/messages", .token(scope: "events:read")),
    ("GET", "/v1/xrefs", .token(scope: "flows:read")),
    ("PUT", "/v1/xrefs", .token(scope: "xrefs:write")),
    ("DELETE", "/v1/xrefs/{system}/{kind}/{id}", .token(scope: "xrefs:write")),
    ("POST", "/v1/subscriptions", .token(scope: "admin")),
    ("GET", "/v1/subscriptions", .token(scope: "flows:read")),
    ("GET", "/v1/subscriptions/{id}", .token(scope: "flows:read")),
    ("PATCH", "/v1/subscriptions/{id}", .token(scope: "admin")),
    ("DELETE", "/v1/subscriptions/{id}", .token(scope: "admin")),
    ("POST", "/v1/subscriptions/{id}/enable", .token(scope: "deliveries:replay")),
    ("POST", "/v1/subscriptions/{id}/rotate-secret", .token(scope: "admin")),
    ("GET", "/v1/subscriptions/{id}/deliveries", .token(scope: "deliveries:read")),
    ("POST", "/v1/subscriptions/{id}/replay", .token(scope: "deliveries:replay")),
]

/// Builds Millwright's HTTP router: `/v1/*` behind bearer tokens, health and metrics outside.
public func makeRouter(_ deps: APIDependencies) -> Router<MillwrightRequestContext> {
    let router = Router(context: MillwrightRequestContext.self)
    router.add(middleware: RequestMetricsMiddleware(factory: deps.metricsFactory))
    router.add(middleware: ProblemMiddleware())

    router.get("healthz") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
    }
    router.get("readyz") { _, _ in
        guard deps.isReady() else {
            throw Problem.unavailable("Millwright is starting or shutting down")
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ready"}"#)))
    }
    let metrics: @Sendable (Request, MillwrightRequestContext) async throws -> Response = { _, _ in
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: await deps.renderMetrics()))
        )
    }
    let limiter = deps.configuration.rateLimit.standard == nil && deps.configuration.rateLimit.accounts.isEmpty
        ? nil : RateLimiter(configuration: deps.configuration.rateLimit, now: deps.now)
    let auth = AuthMiddleware(verifier: deps.verifier, limiter: limiter)
    if deps.configuration.metricsRequireToken {
        router.group("metrics").add(middleware: auth).get { request, context in
            try context.require("metrics:read")
            return try await metrics(request, context)
        }
    } else {
        router.get("metrics", use: metrics)
    }

    let openAPI = OpenAPIDocument.make(catalogue: deps.ingestor.decoder.catalogue, metricsRequireToken: deps.configuration.metricsRequireToken)
    let openAPIYAML = YAMLWriter.write(openAPI)
    let openAPIJSON = openAPI.canonicalText
    router.get("openapi.yaml") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: openAPIYAML)))
    }
    router.get("openapi.json") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: openAPIJSON)))
    }

    // Hooks first and outside the token middleware: each source verifies its own callers.
    HookRoutes(sources: deps.hooks, ingestor: deps.ingestor, store: deps.store, configuration: deps.configuration, now: deps.now)
        .register(on: router)

    let v1 = router.group("v1").add(middleware: auth)
    EventRoutes(ingestor: deps.ingestor, store: deps.store, configuration: deps.configuration).register(on: v1)
    SchemaRoutes(catalogue: deps.ingestor.decoder.catalogue).register(on: v1)
    let verifier = deps.verifier
    let governance = Governance(store: deps.store, now: deps.now, onTokenChange: { hash in verifier.forget(hash: hash) })
    var approvals = Approvals(governance: governance, policy: deps.configuration.approvals, now: deps.now)
    var deliveryRoutes: DeliveryRoutes?
    if let deliveries = deps.deliveries {
        let routes = DeliveryRoutes(
            store: deps.store, deliveries: deliveries, flows: deps.flows, governance: governance, approvals: nil,
            breakerPhase: deps.breakerPhase, now: deps.now)
        approvals.bulkReplay = { request, actor in try await routes.replay(request, by: actor) }
        deliveryRoutes = routes
    }
    GovernanceRoutes(governance: governance, maxBodyBytes: deps.configuration.maxBodyBytes, approvals: approvals).register(on: v1)
    ApprovalRoutes(approvals: approvals).register(on: v1)
    if var routes = deliveryRoutes {
        routes.approvals = approvals
        routes.register(on: v1)
    }
    if let xrefs = deps.xrefs {
        XrefRoutes(xrefs: xrefs, governance: governance, maxBodyBytes: deps.configuration.maxBodyBytes).register(on: v1)
    }
    if let manager = deps.subscriptions, let deliveries = deps.deliveries {
        SubscriptionRoutes(
            manager: manager, store: deps.store, deliveries: deliveries, maxBodyBytes: deps.configuration.maxBodyBytes, breakerPhase: deps.breakerPhase
        ).register(on: v1)
    }
    return router
}

/// Records `mw_http_request_duration_seconds` by method, route and status.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let factory: any MetricsFactory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        Metrics.Timer(
            label: "mw_http_request_duration_seconds",
            dimensions: [
                ("method", request.method.rawValue),
                ("route", context.endpointPath ?? "unmatched"),
                ("status", String(response.status.code)),
            ],
            factory: factory
        ).recordInterval(since: start)
        return response
    }
}
