import Foundation
import MillwrightCore
import Synchronization

/// A request as the HTTP layer hands it over.
struct OdooHTTPRequest: Sendable {
    var method: String
    var path: String
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

struct OdooHTTPResponse: Sendable {
    var status: Int
    var contentType: String
    var headers: [(String, String)] = []
    var body: String

    static func json(_ value: JSONValue, status: Int = 200, headers: [(String, String)] = []) -> OdooHTTPResponse {
        OdooHTTPResponse(status: status, contentType: "application/json; charset=utf-8", headers: headers, body: value.canonicalText)
    }

    static func html(_ text: String, status: Int, headers: [(String, String)] = []) -> OdooHTTPResponse {
        OdooHTTPResponse(status: status, contentType: "text/html; charset=utf-8", headers: headers, body: text)
    }
}

enum OdooHTTPOutcome: Sendable {
    case respond(OdooHTTPResponse, after: Duration?)
    case drop
}

/// The simulator's state and request handling, independent of the network.
final class OdooSimulatorCore: Sendable {
    struct State: Sendable {
        var database: OdooDatabase
        var faults: [OdooFaultRule] = []
        var calls: [OdooCallRecord] = []
        /// Webhooks fired by committed calls, not yet sent.
        var outbox: [OdooWebhookCall] = []
        /// Webhooks sent (or dropped), in order.
        var webhooks: [OdooWebhookCall] = []
        var dropWebhooks = false
    }

    let configuration: OdooSimulatorConfiguration
    let state: Mutex<State>

    init(configuration: OdooSimulatorConfiguration) {
        self.configuration = configuration
        state = Mutex(State(database: Seed.database(now: OdooSimulatorCore.timestamp(configuration.clock()))))
    }

    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }

    func uid(forAPIKey key: String) -> Int? {
        if key == configuration.adminAPIKey { return Seed.adminUID }
        if key == configuration.mesBridgeAPIKey { return Seed.mesBridgeUID }
        return nil
    }

    // MARK: Routing

    func handle(_ request: OdooHTTPRequest) -> OdooHTTPOutcome {
        let path = request.path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.path
        if path == "/web/version" {
            return run(model: nil, method: "version", protocol: .web) {
                .json(["version": "19.0", "version_info": [19, 0, 0, "final", 0, ""]])
            }
        }
        if path.hasPrefix("/json/2/") {
            return handleJSON2(request, path: path)
        }
        if path == "/jsonrpc" && request.method == "POST" {
            return handleJSONRPC(request)
        }
        return run(model: nil, method: nil, protocol: .web) { .html(Self.notFoundPage, status: 404) }
    }

    private func handleJSON2(_ request: OdooHTTPRequest, path: String) -> OdooHTTPOutcome {
        let parts = path.dropFirst("/json/2/".count).split(separator: "/").map(String.init)
        let model = parts.first
        let method = parts.count > 1 ? parts[1] : nil
        if let database = request.header("X-Odoo-Database"), database != configuration.database {
            return run(model: model, method: method, protocol: .json2) { .html(Self.noDatabasePage, status: 404) }
        }
        guard request.method == "POST", parts.count == 2, let model, let method else {
            return fail(.notFound("Did you mean POST /json/2/<model>/<method>?"), model: model, method: method)
        }
        guard Self.isJSON(request, alsoAccepting: []) else {
            return run(model: model, method: method, protocol: .json2) {
                Self.unsupportedMediaType(route: "/json/2/&lt;__model__&gt;/&lt;__method__&gt;", type: "json2", accept: "application/json")
            }
        }
        guard let authorization = request.header("Authorization"),
              authorization.lowercased().hasPrefix("bearer ") else {
            return fail(.unauthorized("User not authenticated, use an API Key with a Bearer Authorization header."), model: model, method: method)
        }
        let key = String(authorization.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        guard let uid = uid(forAPIKey: key) else {
            return fail(.unauthorized("Invalid apikey"), model: model, method: method)
        }
        let body: JSONValue
        do {
            body = request.body.isEmpty ? .object([:]) : try JSONParser().parse(request.body)
        } catch {
            return fail(.badRequest("could not parse the body as json: \(Self.pythonJSONMessage(error))"), model: model, method: method)
        }
        // Odoo 19 calls the method without arguments when the body is JSON but not an object.
        var kwargs = body.objectValue ?? [:]
        let ids = kwargs.removeValue(forKey: "ids").map { value in (value.arrayValue ?? [value]).compactMap(\.intValue) }
        return run(model: model, method: method, protocol: .json2) {
            do {
                return .json(try self.execute(model: model, method: method, ids: ids, kwargs: kwargs, uid: uid))
            } catch let fault as OdooFault {
                return .json(fault.body, status: fault.status, headers: fault.headers)
            } catch {
                return .json(OdooFault.valueError("\(error)").body, status: 500)
            }
        }
    }

    private func handleJSONRPC(_ request: OdooHTTPRequest) -> OdooHTTPOutcome {
        guard Self.isJSON(request, alsoAccepting: ["application/json-rpc"]) else {
            return run(model: nil, method: nil, protocol: .jsonRPC) {
                Self.unsupportedMediaType(route: "/jsonrpc", type: "jsonrpc", accept: "application/json, application/json-rpc")
            }
        }
        guard let envelope = try? JSONParser().parse(request.body) else {
            return run(model: nil, method: nil, protocol: .jsonRPC) { .html("Invalid JSON data", status: 400) }
        }
        let id = envelope["id"] ?? .null
        let params = envelope["params"]?.objectValue ?? [:]
        let service = params["service"]?.stringValue ?? ""
        let method = params["method"]?.stringValue ?? ""
        let args = params["args"]?.arrayValue ?? []
        let targetModel = service == "object" && args.count > 3 ? args[3].stringValue : nil
        let targetMethod = service == "object" && args.count > 4 ? args[4].stringValue : method
        return run(model: targetModel, method: targetMethod, protocol: .jsonRPC) {
            do {
                let result = try self.executeRPC(service: service, method: method, args: args)
                return .json(["jsonrpc": "2.0", "id": id, "result": result])
            } catch let fault as OdooFault {
                return .json(["jsonrpc": "2.0", "id": id, "error": ["code": 0, "message": "Odoo Server Error", "data": fault.body]])
            } catch {
                return .json(["jsonrpc": "2.0", "id": id, "error": ["code": 0, "message": "Odoo Server Error",
                                                                     "data": OdooFault.valueError("\(error)").body]])
            }
        }
    }

    private func executeRPC(service: String, method: String, args: [JSONValue]) throws -> JSONValue {
        switch (service, method) {
        case ("common", "version"):
            return ["protocol_version": 1, "server_serie": "19.0", "server_version": "19.0",
                    "server_version_info": [19, 0, 0, "final", 0, ""]]
        case ("common", "login"), ("common", "authenticate"):
            guard args.count >= 3, args[0].stringValue == configuration.database,
                  let key = args[2].stringValue, let uid = uid(forAPIKey: key),
                  state.withLock({ $0.database.string("res.users", uid, "login") }) == args[1].stringValue else { return .bool(false) }
            return .int(uid)
        case ("object", "execute_kw"):
            guard args.count >= 5, let uid = args[1].intValue, let key = args[2].stringValue,
                  self.uid(forAPIKey: key) == uid, args[0].stringValue == configuration.database else {
                throw OdooFault.accessDenied()
            }
            guard let model = args[3].stringValue, let name = args[4].stringValue else { throw OdooFault.accessDenied() }
            let positional = args.count > 5 ? (args[5].arrayValue ?? []) : []
            var kwargs = args.count > 6 ? (args[6].objectValue ?? [:]) : [:]
            let exists = state.withLock { $0.database.specs[model] != nil }
            guard exists else { throw OdooFault.userError("Object \(model) doesn't exist") }
            let (ids, named) = Self.positionalArguments(model: model, method: name, positional)
            for (key, value) in named where kwargs[key] == nil { kwargs[key] = value }
            return try execute(model: model, method: name, ids: ids, kwargs: kwargs, uid: uid, jsonRPC: true)
        default:
            throw OdooFault.notFound("The method '\(service).\(method)' does not exist")
        }
    }

    /// Maps `execute_kw`'s positional arguments onto the names JSON-2 uses.
    static func positionalArguments(model: String, method: String, _ args: [JSONValue]) -> (ids: [Int]?, kwargs: [String: JSONValue]) {
        let names: [String]
        var takesIDs = false
        switch method {
        case "search": names = ["domain", "offset", "limit", "order"]
        case "search_read": names = ["domain", "fields", "offset", "limit", "order"]
        case "search_count": names = ["domain", "limit"]
        case "create": names = ["vals_list"]
        case "load": names = ["fields", "data"]
        case "read_group": names = ["domain", "fields", "groupby", "offset", "limit", "orderby", "lazy"]
        case "formatted_read_group": names = ["domain", "groupby", "aggregates", "having", "offset", "limit", "order"]
        case "check": names = ["model", "mode", "raise_exception"]
        case "check_access_rights": names = ["operation", "raise_exception"]
        case "context_get": names = []
        case "read": names = ["fields"]; takesIDs = true
        case "write": names = ["vals"]; takesIDs = true
        case "has_access": names = ["operation"]; takesIDs = true
        case "action_feedback": names = ["feedback"]; takesIDs = true
        default: names = []; takesIDs = true
        }
        var rest = args
        var ids: [Int]?
        if takesIDs, !rest.isEmpty {
            let first = rest.removeFirst()
            ids = (first.arrayValue ?? [first]).compactMap(\.intValue)
        }
        var kwargs: [String: JSONValue] = [:]
        for (name, value) in zip(names, rest) { kwargs[name] = value }
        return (ids, kwargs)
    }

    /// One call as one transaction: it runs on a copy that replaces the database only on success.
    func execute(model: String, method: String, ids: [Int]?, kwargs: [String: JSONValue], uid: Int, jsonRPC: Bool = false) throws -> JSONValue {
        let now = Self.timestamp(configuration.clock())
        return try state.withLock { state in
            var copy = state.database
            copy.now = now
            let result = try copy.call(model: model, method: method, ids: ids, kwargs: kwargs, uid: uid, jsonRPC: jsonRPC)
            // After the commit, as Odoo's postcommit hook: the automation rules' webhooks.
            state.outbox += copy.webhooks(since: state.database)
            state.database = copy
            return result
        }
    }

    // MARK: Webhooks

    /// Sends the webhooks committed calls fired, one at a time, as Odoo does after its commit (and before
    /// it answers the call that fired them). Returns them with their outcome.
    func flushWebhooks(_ sender: OdooWebhookSender) async -> [OdooWebhookCall] {
        var sent: [OdooWebhookCall] = []
        while true {
            let next: (OdooWebhookCall, Bool)? = state.withLock { state in
                guard !state.outbox.isEmpty else { return nil }
                return (state.outbox.removeFirst(), state.dropWebhooks)
            }
            guard let (pending, drop) = next else { break }
            var call = pending
            if drop {
                call.dropped = true
            } else {
                call.status = await sender.send(call)
            }
            state.withLock { $0.webhooks.append(call) }
            sent.append(call)
        }
        return sent
    }

    // MARK: Faults and the call log

    /// Runs `body` unless an injected fault says otherwise, and logs the call.
    private func run(model: String?, method: String?, protocol kind: OdooSimulatedProtocol, _ body: () -> OdooHTTPResponse) -> OdooHTTPOutcome {
        let fault: OdooSimulatedFault? = state.withLock { state in
            guard let index = state.faults.firstIndex(where: { $0.matches(model: model, method: method) }) else { return nil }
            let rule = state.faults[index]
            if rule.remaining <= 1 { state.faults.remove(at: index) } else { state.faults[index].remaining -= 1 }
            return rule.fault
        }
        let outcome: OdooHTTPOutcome
        switch fault {
        case nil:
            outcome = .respond(body(), after: nil)
        case .serverError?:
            outcome = .respond(Self.faultResponse(.valueError("Simulated server error (injected fault)"), kind), after: nil)
        case .serializationFailure?:
            outcome = .respond(Self.faultResponse(.serializationFailure(), kind), after: nil)
        case .overloaded(let seconds)?:
            outcome = .respond(.html("<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n",
                                     status: 503, headers: [("Retry-After", String(seconds))]), after: nil)
        case .dropConnection(let applying)?:
            if applying { _ = body() }
            outcome = .drop
        case .delay(let duration)?:
            outcome = .respond(body(), after: duration)
        }
        var record = OdooCallRecord(model: model, method: method, protocol: kind, status: nil, errorName: nil, fault: fault)
        if case .respond(let response, _) = outcome {
            record.status = response.status
            if let parsed = try? JSONParser().parse(response.body) {
                record.errorName = parsed["name"]?.stringValue ?? parsed["error"]?["data"]?["name"]?.stringValue
            }
        }
        state.withLock { $0.calls.append(record) }
        return outcome
    }

    private static func faultResponse(_ fault: OdooFault, _ kind: OdooSimulatedProtocol) -> OdooHTTPResponse {
        if kind == .jsonRPC {
            return .json(["jsonrpc": "2.0", "id": .null, "error": ["code": 0, "message": "Odoo Server Error", "data": fault.body]])
        }
        return .json(fault.body, status: fault.status, headers: fault.headers)
    }

    private func fail(_ fault: OdooFault, model: String?, method: String?) -> OdooHTTPOutcome {
        run(model: model, method: method, protocol: .json2) { .json(fault.body, status: fault.status, headers: fault.headers) }
    }

    static func isJSON(_ request: OdooHTTPRequest, alsoAccepting others: [String]) -> Bool {
        let type = request.header("Content-Type")?.split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        } ?? ""
        return type == "application/json" || others.contains(type)
    }

    /// Werkzeug's 415 page, as Odoo 19 answers a JSON route called without a JSON content type.
    static func unsupportedMediaType(route: String, type: String, accept: String) -> OdooHTTPResponse {
        .html("""
            <!doctype html>
            <html lang=en>
            <title>415 Unsupported Media Type</title>
            <h1>Unsupported Media Type</h1>
            <p>Request inferred type is compatible with [&#39;http&#39;] but &#39;\(route)&#39; is type=&#39;\(type)&#39;.<br><br>Please verify the Content-Type request header and try again.</p>
            """, status: 415, headers: [("Accept", accept)])
    }

    static func pythonJSONMessage(_ error: any Error) -> String {
        if let syntax = error as? JSONSyntaxError {
            return "Expecting value: line \(syntax.line) column \(syntax.column) (char \(syntax.offset))"
        }
        return "Expecting value: line 1 column 1 (char 0)"
    }

    static let noDatabasePage = """
        <!DOCTYPE html>
        <title>404 Not Found</title>
        <h1>Not Found</h1>
        <p>No database is selected and the requested URL was not found in the server-wide controllers.</p>
        <p>Please verify the hostname, <a href=/web/login>login</a> and try again.</p>

        <!-- Alternatively, use the X-Odoo-Database header. -->

        """

    static let notFoundPage = """
        <!doctype html>
        <html lang=en>
        <title>404 Not Found</title>
        <h1>Not Found</h1>
        <p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>

        """
}
