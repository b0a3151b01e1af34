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
    /// The circuit breaker phase of a sink (`closed`, `open`, `half-open`).
    public var breakerPhase: @Sendable (String) -> String = { _ in "closed" }

    public init(
        store: any Store,
        ingestor: Ingestor,
        verifier: TokenVerifier,
        configuration: APIConfiguration,
        metricsFactory: any MetricsFactory,
        renderMetrics: @escaping @Sendable () async -> String,
        isReady: @escaping @Sendable () -> Bool
    ) {
        self.store = store
        self.ingestor = ingestor
        self.verifier = verifier
        self.configuration = configuration
        self.metricsFactory = metricsFactory
        self.renderMetrics = renderMetrics
        self.isReady = isReady
    }
}

/// Every route and the scope it needs (`nil`: no token). Documentation and the route-coverage test read
/// this table; the test proves each handler enforces exactly this and that no route is missing from it.
public let routeScopes: [(method: String, path: String, scope: String?)] = [
    ("GET", "/healthz", nil),
    ("GET", "/readyz", nil),
    ("GET", "/metrics", nil),  // or metrics:read when metrics.require_token is set
    ("GET", "/openapi.yaml", nil),
    ("GET", "/openapi.json", nil),
    ("POST", "/v1/events", "events:publish:<type>"),
    ("GET", "/v1/events", "events:read"),
    ("GET", "/v1/events/{seq}", "events:read"),
    ("GET", "/v1/schemas", "schemas:read"),
    ("GET", "/v1/schemas/{type}", "schemas:read"),
    ("GET", "/v1/service-accounts", "admin"),
    ("POST", "/v1/service-accounts", "admin"),
    ("GET", "/v1/service-accounts/{name}/tokens", "admin"),
    ("POST", "/v1/service-accounts/{name}/tokens", "admin"),
    ("POST", "/v1/tokens/{id}/rotate", "admin"),
    ("DELETE", "/v1/tokens/{id}", "admin"),
    ("GET", "/v1/audit", "audit:read"),
    ("GET", "/v1/audit/verify", "audit:read"),
    ("GET", "/v1/flows", "flows:read"),
    ("GET", "/v1/deliveries", "deliveries:read"),
    ("GET", "/v1/deliveries/{id}", "deliveries:read"),
    ("GET", "/v1/dead-letters", "deliveries:read"),
    ("POST", "/v1/dead-letters/{id}/replay", "deliveries:replay"),
    ("POST", "/v1/replays", "deliveries:replay"),
    ("GET", "/v1/messages", "events:read"),
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
    if deps.configuration.metricsRequireToken {
        router.group("metrics").add(middleware: AuthMiddleware(verifier: deps.verifier)).get { request, context in
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

    let v1 = router.group("v1").add(middleware: AuthMiddleware(verifier: deps.verifier))
    EventRoutes(ingestor: deps.ingestor, store: deps.store, configuration: deps.configuration).register(on: v1)
    SchemaRoutes(catalogue: deps.ingestor.decoder.catalogue).register(on: v1)
    let verifier = deps.verifier
    let governance = Governance(store: deps.store, onTokenChange: { hash in verifier.forget(hash: hash) })
    GovernanceRoutes(governance: governance, maxBodyBytes: deps.configuration.maxBodyBytes).register(on: v1)
    if let deliveries = deps.deliveries {
        DeliveryRoutes(store: deps.store, deliveries: deliveries, flows: deps.flows, governance: governance, breakerPhase: deps.breakerPhase, now: { Date() }).register(on: v1)
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
