import AsyncHTTPClient
import Foundation
import Logging
import MillwrightCore
import NIOCore
import NIOHTTP1

/// How to reach one Odoo database. The API key is resolved from its reference before this is built.
public struct OdooSettings: Sendable {
    public var url: String
    public var database: String
    public var login: String
    public var apiKey: String
    /// `nil`: detect from the server version (JSON-2 from Odoo 19 on, JSON-RPC before).
    public var preferredProtocol: OdooProtocol?
    /// Calls in flight at once. Odoo serves a call per worker; more only queue in its backlog (8 × workers).
    public var maxConcurrentCalls: Int
    /// Calls started per second, on average (`nil`: no limit) and the burst above it.
    public var callsPerSecond: Double?
    public var burst: Int?
    /// Per call. Odoo kills a worker after `limit_time_real` (120 s by default).
    public var callTimeout: Duration
    /// Attempts for calls that are safe to repeat (reads, and any call Odoo rolled back on a conflict).
    public var maxAttempts: Int
    /// The wait before retry `attempt` (1-based), given Odoo's `Retry-After`. Tests inject `{ _, _ in .zero }`.
    public var backoff: @Sendable (_ attempt: Int, _ retryAfter: Int?) -> Duration = OdooClient.backoff

    public init(
        url: String, database: String, login: String, apiKey: String, preferredProtocol: OdooProtocol? = nil,
        maxConcurrentCalls: Int = 2, callsPerSecond: Double? = 50, burst: Int? = nil,
        callTimeout: Duration = .seconds(125), maxAttempts: Int = 4
    ) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.database = database
        self.login = login
        self.apiKey = apiKey
        self.preferredProtocol = preferredProtocol
        self.maxConcurrentCalls = maxConcurrentCalls
        self.callsPerSecond = callsPerSecond
        self.burst = burst
        self.callTimeout = callTimeout
        self.maxAttempts = maxAttempts
    }
}

/// What the server said about itself.
public struct OdooServerVersion: Sendable, Equatable, CustomStringConvertible {
    public var text: String
    public var major: Int
    public var minor: Int
    public var description: String { text }
}

/// A connection to one Odoo database: protocol chosen at connect time, calls bounded by an
/// ``OdooThrottle``, safe calls retried with exponential backoff and full jitter.
public final class OdooClient: Sendable {
    public let settings: OdooSettings
    public let version: OdooServerVersion
    /// The Odoo user id the API key belongs to.
    public let uid: Int
    public let throttle: OdooThrottle
    let transport: any OdooTransport
    let http: HTTPClient
    let ownsHTTPClient: Bool
    let logger: Logger

    public var protocolKind: OdooProtocol { transport.kind }

    /// Connects: reads the server version (`GET /web/version`, or JSON-RPC `common.version` on servers
    /// without it), picks the protocol, and authenticates (JSON-2: `res.users/context_get`; JSON-RPC:
    /// `common.authenticate`). Any failure is an ``OdooError`` that says what to fix.
    public static func connect(_ settings: OdooSettings, httpClient: HTTPClient? = nil, logger: Logger = Logger(label: "millwright.odoo")) async throws(OdooError) -> OdooClient {
        guard let parsed = URL(string: settings.url), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
            throw OdooError(.unexpectedAnswer, "odoo.url '\(settings.url)' is not an http(s) URL such as http://odoo.plant.local:8069")
        }
        // The process-wide client needs no shutdown, so an error path can never leak or trap on one;
        // calls per Odoo are bounded by the throttle, not by the pool.
        let http = httpClient ?? HTTPClient.shared
        return try await handshake(settings, http: http, owns: false, logger: logger)
    }

    private static func handshake(_ settings: OdooSettings, http: HTTPClient, owns: Bool, logger: Logger) async throws(OdooError) -> OdooClient {
        let wire = OdooHTTP(client: http, baseURL: settings.url, database: settings.database)
        let version = try await detectVersion(wire, timeout: settings.callTimeout)
        let kind = settings.preferredProtocol ?? (version.major >= 19 ? .json2 : .jsonrpc)
        if kind == .json2 && version.major < 19 {
            throw OdooError(.unexpectedAnswer, "Odoo \(version) has no JSON-2 API (it arrived in 19.0): set odoo.protocol to json-rpc or leave it unset")
        }
        let transport: any OdooTransport
        let uid: Int
        switch kind {
        case .json2:
            let json2 = JSON2Transport(http: wire, apiKey: settings.apiKey, login: settings.login)
            let context = try await json2.execute(OdooCall("res.users", "context_get"), timeout: settings.callTimeout)
            guard let id = context["uid"].flatMap(Self.int) else {
                throw OdooError(.unexpectedAnswer, "res.users/context_get did not name the user (answer: \(context.canonicalText.prefix(200)))")
            }
            uid = id
            transport = json2
        case .jsonrpc:
            let result = try await JSONRPCTransport.rpc(
                wire, service: "common", method: "authenticate",
                args: [.string(settings.database), .string(settings.login), .string(settings.apiKey), .object([:])],
                timeout: settings.callTimeout, call: "common/authenticate", login: settings.login)
            guard let id = Self.int(result) else {
                throw OdooError(.authentication, "Odoo refused login '\(settings.login)' on database '\(settings.database)': check odoo.login and odoo.api_key")
            }
            uid = id
            transport = JSONRPCTransport(http: wire, apiKey: settings.apiKey, login: settings.login, uid: id)
        }
        logger.info("connected to Odoo", metadata: ["odoo.version": "\(version)", "odoo.protocol": "\(kind.rawValue)", "odoo.uid": "\(uid)"])
        return OdooClient(settings: settings, version: version, uid: uid, transport: transport, http: http, owns: owns, logger: logger)
    }

    init(settings: OdooSettings, version: OdooServerVersion, uid: Int, transport: any OdooTransport, http: HTTPClient, owns: Bool, logger: Logger) {
        self.settings = settings
        self.version = version
        self.uid = uid
        self.transport = transport
        self.http = http
        self.ownsHTTPClient = owns
        self.logger = logger
        self.throttle = OdooThrottle(maxConcurrent: settings.maxConcurrentCalls, ratePerSecond: settings.callsPerSecond, burst: settings.burst)
    }

    static func detectVersion(_ wire: OdooHTTP, timeout: Duration) async throws(OdooError) -> OdooServerVersion {
        let response = try await wire.send(method: .GET, path: "/web/version", headers: [("Accept", "application/json")], body: nil, timeout: timeout, call: "web/version")
        if response.status == 200, let value = try? JSONParser().parse(response.body), let text = value["version"]?.stringValue,
            let info = value["version_info"]?.arrayValue, info.count >= 2, let major = int(info[0]), let minor = int(info[1])
        {
            return OdooServerVersion(text: text, major: major, minor: minor)
        }
        // Before 17 there is no /web/version: ask JSON-RPC.
        let result = try await JSONRPCTransport.rpc(wire, service: "common", method: "version", args: [], timeout: timeout, call: "common/version", login: nil)
        guard let text = result["server_version"]?.stringValue, let info = result["server_version_info"]?.arrayValue, info.count >= 2,
            let major = int(info[0]), let minor = int(info[1])
        else {
            throw OdooError(.unexpectedAnswer, "\(wire.baseURL) does not look like Odoo: neither /web/version nor JSON-RPC common.version answered")
        }
        return OdooServerVersion(text: text, major: major, minor: minor)
    }

    /// Calls `model.method`. Read-only calls are repeated after transport failures; any call is
    /// repeated after a serialization conflict (Odoo rolled it back). Other errors are thrown at once.
    public func call(_ call: OdooCall) async throws(OdooError) -> JSONValue {
        var attempt = 0
        while true {
            attempt += 1
            let started = ContinuousClock.now
            let result: Result<JSONValue, OdooError> = await throttle.run { () async -> Result<JSONValue, OdooError> in
                do throws(OdooError) {
                    return .success(try await transport.execute(call, timeout: settings.callTimeout))
                } catch {
                    return .failure(error)
                }
            }
            switch result {
            case .success(let value):
                logger.trace("odoo call", metadata: ["call": "\(call)", "ms": "\((ContinuousClock.now - started).milliseconds)"])
                return value
            case .failure(let error):
                let repeatable = error.kind == .conflict || error.kind == .overloaded || (error.retryable && call.isReadOnly)
                guard repeatable, attempt < settings.maxAttempts, !Task.isCancelled else { throw error }
                let delay = settings.backoff(attempt, error.retryAfter)
                logger.notice("odoo call failed, retrying", metadata: ["call": "\(call)", "error": "\(error.code)", "attempt": "\(attempt)", "delay_ms": "\(delay.milliseconds)"])
                do { try await Task.sleep(for: delay) } catch { throw OdooError(.timeout, "cancelled while waiting to retry", call: call.description) }
            }
        }
    }

    public func call(_ model: String, _ method: String, ids: [Int]? = nil, _ arguments: [String: JSONValue] = [:], context: [String: JSONValue] = [:]) async throws(OdooError) -> JSONValue {
        try await call(OdooCall(model, method, ids: ids, arguments, context: context))
    }

    /// Exponential backoff with full jitter: uniform in [0, min(8 s, 0.2 s × 2^attempt)], or `Retry-After`.
    @Sendable public static func backoff(_ attempt: Int, _ retryAfter: Int?) -> Duration {
        if let retryAfter { return .seconds(min(max(retryAfter, 1), 120)) }
        let cap = min(8.0, 0.2 * pow(2.0, Double(attempt)))
        return .milliseconds(Int(Double.random(in: 0...cap) * 1000))
    }

    public func shutdown() async {
        if ownsHTTPClient { try? await http.shutdown() }
    }

    static func int(_ value: JSONValue) -> Int? {
        if case .number(let n) = value { return Int(n) }
        return nil
    }
}

extension Duration {
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
