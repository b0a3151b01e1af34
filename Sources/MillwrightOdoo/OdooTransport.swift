import AsyncHTTPClient
import Foundation
import MillwrightCore
import NIOCore
import NIOHTTP1

/// Which of Odoo's external APIs a client speaks.
public enum OdooProtocol: String, Sendable, CaseIterable {
    /// `POST /json/2/<model>/<method>` with a bearer API key (Odoo 19 and later).
    case json2 = "json-2"
    /// `POST /jsonrpc` with `common.authenticate` and `object.execute_kw` (Odoo 16–18; still served by 19).
    case jsonrpc = "json-rpc"
}

/// One model method call, protocol independent. `arguments` are keyword arguments (`domain`, `fields`,
/// `vals_list`, `vals`, ...); `ids` is the recordset the method runs on, `nil` for model methods.
public struct OdooCall: Sendable, CustomStringConvertible {
    public var model: String
    public var method: String
    public var ids: [Int]?
    public var arguments: [String: JSONValue]
    public var context: [String: JSONValue]

    public init(_ model: String, _ method: String, ids: [Int]? = nil, _ arguments: [String: JSONValue] = [:], context: [String: JSONValue] = [:]) {
        self.model = model
        self.method = method
        self.ids = ids
        self.arguments = arguments
        self.context = context
    }

    public var description: String { "\(model)/\(method)" }

    /// Methods that only read: safe to repeat after a dropped connection.
    public var isReadOnly: Bool {
        Self.readOnlyMethods.contains(method)
    }

    static let readOnlyMethods: Set<String> = [
        "search", "search_read", "read", "search_count", "read_group", "formatted_read_group", "fields_get",
        "name_search", "context_get", "check", "has_access", "check_access_rights",
    ]
}

/// The wire: one call in, Odoo's `result` (or an ``OdooError``) out.
protocol OdooTransport: Sendable {
    var kind: OdooProtocol { get }
    func execute(_ call: OdooCall, timeout: Duration) async throws(OdooError) -> JSONValue
}

/// HTTP plumbing shared by both protocols: one POST or GET, errors of the transport mapped to ``OdooError``.
struct OdooHTTP: Sendable {
    let client: HTTPClient
    let baseURL: String
    let database: String

    struct Response: Sendable {
        var status: Int
        var contentType: String
        var retryAfter: Int?
        var body: [UInt8]
    }

    func send(method: HTTPMethod, path: String, headers: [(String, String)], body: String?, timeout: Duration, call: String?) async throws(OdooError) -> Response {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        do {
            let response = try await client.execute(request, timeout: .init(timeout))
            let bytes = try await response.body.collect(upTo: 256 << 20)
            return Response(
                status: Int(response.status.code),
                contentType: response.headers.first(name: "content-type") ?? "",
                retryAfter: response.headers.first(name: "retry-after").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) },
                body: Array(buffer: bytes)
            )
        } catch {
            throw Self.transportError(error, url: baseURL, call: call)
        }
    }

    static func transportError(_ error: any Error, url: String, call: String?) -> OdooError {
        if let e = error as? HTTPClientError {
            switch e {
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return OdooError(.timeout, "Odoo at \(url) did not answer in time; the call may or may not have been applied", call: call)
            case .connectTimeout:
                return OdooError(.connection, "cannot connect to Odoo at \(url) (connect timeout): is it running and reachable?", call: call)
            case .remoteConnectionClosed:
                return OdooError(.connection, "Odoo at \(url) closed the connection without an answer (worker killed, restarted or overloaded)", call: call)
            case .invalidURL, .emptyHost, .emptyScheme:
                return OdooError(.unexpectedAnswer, "odoo.url '\(url)' is not a valid http(s) URL", call: call)
            default:
                break
            }
        }
        if error is CancellationError { return OdooError(.timeout, "the call to Odoo was cancelled", call: call) }
        let text = String(describing: error)
        if text.contains("refused") {
            return OdooError(.connection, "cannot connect to Odoo at \(url) (connection refused): is it running and reachable?", call: call)
        }
        if text.contains("reset") {
            return OdooError(.connection, "Odoo at \(url) reset the connection (its listen backlog is full: too many concurrent calls?)", call: call)
        }
        return OdooError(.connection, "talking to Odoo at \(url) failed: \(text)", call: call)
    }

    /// Non-JSON answers: the unknown-database HTML page, proxies' 429/502/503/504 pages.
    func classifyUnparsable(_ response: Response, call: String) -> OdooError {
        switch response.status {
        case 429, 503:
            return OdooError(.overloaded, "Odoo (or a proxy in front of it) is overloaded (HTTP \(response.status))", httpStatus: response.status, call: call, retryAfter: response.retryAfter)
        case 502, 504:
            return OdooError(.server, "a proxy in front of Odoo answered HTTP \(response.status): Odoo is down or too slow", httpStatus: response.status, call: call)
        case 404 where response.contentType.hasPrefix("text/html"):
            return OdooError(.unknownDatabase, "Odoo at \(baseURL) has no database '\(database)' (HTTP 404 page): check odoo.database", httpStatus: 404, call: call)
        default:
            let snippet = String(decoding: response.body.prefix(200), as: UTF8.self)
            return OdooError(
                response.status >= 500 ? .server : .unexpectedAnswer,
                "Odoo answered HTTP \(response.status) with \(response.contentType.isEmpty ? "no content type" : response.contentType) that is not JSON: \(snippet)",
                httpStatus: response.status, call: call)
        }
    }
}

/// JSON-2 (Odoo 19+): `POST /json/2/<model>/<method>`, `Authorization: bearer <api key>`, `X-Odoo-Database`,
/// keyword arguments as the JSON body. Errors are JSON bodies with a 4xx/5xx status.
struct JSON2Transport: OdooTransport {
    let http: OdooHTTP
    let apiKey: String
    let login: String
    var kind: OdooProtocol { .json2 }

    func execute(_ call: OdooCall, timeout: Duration) async throws(OdooError) -> JSONValue {
        var body = call.arguments
        if let ids = call.ids { body["ids"] = .array(ids.map { .number(String($0)) }) }
        if !call.context.isEmpty { body["context"] = .object(call.context) }
        let response = try await http.send(
            method: .POST, path: "/json/2/\(call.model)/\(call.method)",
            headers: [("Authorization", "bearer \(apiKey)"), ("X-Odoo-Database", http.database), ("Accept", "application/json")],
            body: JSONValue.object(body).canonicalText, timeout: timeout, call: call.description)
        guard let value = try? JSONParser(maxDepth: 512).parse(response.body) else {
            throw http.classifyUnparsable(response, call: call.description)
        }
        if response.status == 200 { return value }
        if response.status == 429 || response.status == 503 { throw http.classifyUnparsable(response, call: call.description) }
        var error = OdooError.fromOdooPayload(value, httpStatus: response.status, call: call.description, login: login)
        error.retryAfter = response.retryAfter
        throw error
    }
}

/// JSON-RPC (Odoo 8–19): `POST /jsonrpc`, `object.execute_kw(db, uid, key, model, method, args, kwargs)`.
/// Errors are HTTP 200 with an `error` object whose `data` has the same shape as JSON-2's bodies.
struct JSONRPCTransport: OdooTransport {
    let http: OdooHTTP
    let apiKey: String
    let login: String
    let uid: Int
    var kind: OdooProtocol { .jsonrpc }

    func execute(_ call: OdooCall, timeout: Duration) async throws(OdooError) -> JSONValue {
        var kwargs = call.arguments
        if !call.context.isEmpty { kwargs["context"] = .object(call.context) }
        var args: [JSONValue] = call.ids.map { [.array($0.map { .number(String($0)) })] } ?? []
        // Odoo's call_kw reads create's values from args[0] to shape its answer: they cannot be a kwarg.
        if call.method == "create", let values = kwargs.removeValue(forKey: "vals_list") { args.append(values) }
        return try await Self.rpc(
            http, service: "object", method: "execute_kw",
            args: [.string(http.database), .number(String(uid)), .string(apiKey), .string(call.model), .string(call.method), .array(args), .object(kwargs)],
            timeout: timeout, call: call.description, login: login)
    }

    static func rpc(_ http: OdooHTTP, service: String, method: String, args: [JSONValue], timeout: Duration, call: String, login: String?) async throws(OdooError) -> JSONValue {
        let envelope: JSONValue = [
            "jsonrpc": "2.0", "method": "call", "id": 1,
            "params": ["service": .string(service), "method": .string(method), "args": .array(args)],
        ]
        let response = try await http.send(method: .POST, path: "/jsonrpc", headers: [("Accept", "application/json")], body: envelope.canonicalText, timeout: timeout, call: call)
        guard response.status == 200, let value = try? JSONParser(maxDepth: 512).parse(response.body) else {
            throw http.classifyUnparsable(response, call: call)
        }
        if let error = value["error"] {
            let data = error["data"] ?? error
            throw OdooError.fromOdooPayload(data, httpStatus: nil, call: call, login: login)
        }
        guard value.objectValue != nil else {
            throw OdooError(.unexpectedAnswer, "Odoo's JSON-RPC answer is \(value.kindDescription), not an object", call: call)
        }
        // Odoo leaves `result` out when the method returned None.
        return value["result"] ?? .null
    }
}
