/// A fault the simulator injects into the next matching call, for testing how a client copes.
public enum OdooSimulatedFault: Sendable, Equatable {
    /// HTTP 500 with Odoo's error body (`builtins.ValueError`); nothing is applied.
    case serverError
    /// HTTP 500 `psycopg2.errors.SerializationFailure`, as Odoo answers after its own retries; nothing is applied.
    case serializationFailure
    /// HTTP 503 with `Retry-After`, what a reverse proxy in front of Odoo sends; Odoo itself never does.
    case overloaded(retryAfter: Int)
    /// The connection is closed without a response. With `afterApplying`, the call's effect is committed first
    /// (a worker killed after commit); without, nothing happens (a reset before the request reached Odoo).
    case dropConnection(afterApplying: Bool)
    /// The call is applied and answered normally, after `Duration`.
    case delay(Duration)
}

/// One queued fault: what it does, which calls it matches, how many more times it fires.
struct OdooFaultRule: Sendable {
    var fault: OdooSimulatedFault
    var model: String?
    var method: String?
    var remaining: Int

    func matches(model: String?, method: String?) -> Bool {
        (self.model == nil || self.model == model) && (self.method == nil || self.method == method)
    }
}

/// The protocol a call came in on.
public enum OdooSimulatedProtocol: String, Sendable, Equatable {
    /// `POST /json/2/<model>/<method>`.
    case json2
    /// `POST /jsonrpc` (`common` and `object` services).
    case jsonRPC
    /// Plain web routes (`GET /web/version`) and unknown paths.
    case web
}

/// One call as the simulator saw it, for assertions in tests.
public struct OdooCallRecord: Sendable, Equatable {
    public var model: String?
    public var method: String?
    public var `protocol`: OdooSimulatedProtocol
    /// The HTTP status sent; nil when the connection was dropped.
    public var status: Int?
    /// The Odoo error name for errors (`odoo.exceptions.AccessError`), JSON-RPC ones included.
    public var errorName: String?
    /// The injected fault that shaped this call, if any.
    public var fault: OdooSimulatedFault?
}
