import Foundation
import Hummingbird
import MillwrightCore

/// `/v1/service-accounts`, `/v1/tokens`, `/v1/audit`: token management and the audit trail (scope `admin`,
/// `audit:read` to read the audit log).
struct GovernanceRoutes {
    let governance: Governance
    let maxBodyBytes: Int
    /// Sensitive actions the configuration puts behind a second person's approval answer 202 instead.
    let approvals: Approvals

    func register(on group: RouterGroup<MillwrightRequestContext>) {
        group.get("service-accounts") { _, context in
            try context.require("admin")
            let accounts = try await governance.store.serviceAccounts()
            let items: [JSONValue] = accounts.map {
                .object(["name": .string($0.name), "description": .string($0.description), "created_at": .string(RFC3339.format($0.createdAt))])
            }
            return Self.json(.object(["items": .array(items)]))
        }
        group.post("service-accounts") { request, context in
            try context.require("admin")
            let body = try await Self.object(request, limit: maxBodyBytes)
            guard let name = body["name"]?.stringValue else {
                throw Self.invalid([FieldError(JSONPointer.root.appending("name"), "is required: the account's name")])
            }
            if approvals.policy.requires("service_account.create") {
                guard Governance.validName(name) else {
                    throw Self.invalid([FieldError(JSONPointer.root.appending("name"), "letters, digits, - _ . @, at most 64")])
                }
                return try await approvals.request(action: "service_account.create", target: name,
                                                   parameters: ["description": .string(body["description"]?.stringValue ?? "")], context: context)
            }
            let account = try await Self.mapping { try await governance.createAccount(name: name, description: body["description"]?.stringValue ?? "", by: context.actor) }
            return Self.json(.object(["name": .string(account.name), "description": .string(account.description), "created_at": .string(RFC3339.format(account.createdAt))]), status: .created)
        }
        group.get("service-accounts/{name}/tokens") { _, context in
            try context.require("admin")
            let name = context.parameters.get("name") ?? ""
            let tokens = try await governance.store.tokens(account: name)
            return Self.json(.object(["items": .array(tokens.map(Governance.describe))]))
        }
        group.post("service-accounts/{name}/tokens") { request, context in
            try context.require("admin")
            let name = context.parameters.get("name") ?? ""
            let body = try await Self.object(request, limit: maxBodyBytes)
            guard let scopes = body["scopes"]?.arrayValue?.compactMap(\.stringValue), !scopes.isEmpty else {
                throw Self.invalid([FieldError(JSONPointer.root.appending("scopes"), "is required: a list of scopes such as [\"events:publish:mfg.production.*\"]")])
            }
            var expiresAt: Date?
            var expiresIn: Int?
            if let seconds = body["expires_in_seconds"] {
                guard case .number(let n) = seconds, let s = Int(n), (1...Governance.maxLifetimeSeconds).contains(s) else {
                    throw Self.invalid([FieldError(JSONPointer.root.appending("expires_in_seconds"), "must be a whole number of seconds from 1 to \(Governance.maxLifetimeSeconds) (10 years)")])
                }
                expiresAt = Date().addingTimeInterval(TimeInterval(s))
                expiresIn = s
            }
            if approvals.policy.requires("token.create") {
                // Checked now, so a request that could never run is not queued for an approver.
                guard Governance.validName(name) else {
                    throw Self.invalid([FieldError(JSONPointer.root.appending("name"), "letters, digits, - _ . @, at most 64")])
                }
                let resolved = try await Self.mapping { try Governance.resolve(scopes: scopes) }
                var parameters: [String: JSONValue] = ["scopes": .array(resolved.map { .string($0) })]
                if let expiresIn { parameters["expires_in_seconds"] = .number(String(expiresIn)) }
                return try await approvals.request(action: "token.create", target: name, parameters: .object(parameters), context: context)
            }
            let issued = try await Self.mapping { try await governance.issueToken(account: name, scopes: scopes, expiresAt: expiresAt, by: context.actor) }
            return Self.json(Self.issuedJSON(issued), status: .created)
        }
        group.post("tokens/{id}/rotate") { request, context in
            try context.require("admin")
            let id = context.parameters.get("id") ?? ""
            let body = try await Self.object(request, limit: maxBodyBytes, optional: true)
            var overlap: TimeInterval = 86_400
            if let value = body["overlap_seconds"] {
                guard case .number(let n) = value, let s = Int(n), (0...Governance.maxLifetimeSeconds).contains(s) else {
                    throw Self.invalid([FieldError(JSONPointer.root.appending("overlap_seconds"), "must be a whole number of seconds from 0 to \(Governance.maxLifetimeSeconds)")])
                }
                overlap = TimeInterval(s)
            }
            if approvals.policy.requires("token.rotate") {
                let token = try await Self.mapping { try await governance.token(id) }
                return try await approvals.request(action: "token.rotate", target: token.prefix,
                                                   parameters: ["overlap_seconds": .number(String(Int(overlap)))], context: context)
            }
            let issued = try await Self.mapping { try await governance.rotate(id, overlap: overlap, by: context.actor) }
            return Self.json(Self.issuedJSON(issued), status: .created)
        }
        group.delete("tokens/{id}") { _, context in
            try context.require("admin")
            let id = context.parameters.get("id") ?? ""
            if approvals.policy.requires("token.revoke") {
                let token = try await Self.mapping { try await governance.token(id) }
                return try await approvals.request(action: "token.revoke", target: token.prefix, parameters: [:], context: context)
            }
            let revoked = try await Self.mapping { try await governance.revoke(id, by: context.actor) }
            return Self.json(Governance.describe(revoked))
        }
        group.get("audit") { request, context in
            try context.require("audit:read")
            var after: Int64 = 0
            var limit = 100
            for (name, value) in request.uri.queryParameters {
                switch String(name) {
                case "after":
                    guard let v = Int64(String(value)), v >= 0 else { throw Self.badQuery("after", "must be an entry number, 0 or more") }
                    after = v
                case "limit":
                    limit = try Self.pageLimit(String(value))
                default:
                    throw Self.badQuery(String(name), "unknown query parameter; accepted: after, limit")
                }
            }
            let entries = try await governance.store.auditEntries(after: after, limit: limit + 1)
            let page = entries.prefix(limit)
            let items: [JSONValue] = page.map { e in
                .object([
                    "seq": .number(String(e.seq)), "at": .string(RFC3339.format(e.draft.at)), "actor": .string(e.draft.actor),
                    "action": .string(e.draft.action), "target": .string(e.draft.target), "origin": .string(e.draft.origin),
                    "before": e.draft.before ?? .null, "after": e.draft.after ?? .null,
                    "previous_hash": .string(e.previousHash), "hash": .string(e.hash),
                ])
            }
            let next: JSONValue = entries.count > limit ? page.last.map { .number(String($0.seq)) } ?? .null : .null
            return Self.json(.object(["items": .array(items), "next_after": next]))
        }
        group.get("audit/verify") { _, context in
            try context.require("audit:read")
            switch try await governance.verifyAudit() {
            case .intact(let n, let head):
                return Self.json(.object(["intact": true, "entries": .number(String(n)), "head": .string(head)]))
            case .broken(let seq, let reason):
                return Self.json(.object(["intact": false, "broken_at": .number(String(seq)), "reason": .string(reason)]))
            }
        }
    }

    static func issuedJSON(_ issued: APIToken.Issued) -> JSONValue {
        guard case .object(var members) = Governance.describe(issued.record) else { return .null }
        members["token"] = .string(issued.token)
        members["note"] = "The token is shown once. Store it now; only its hash is kept."
        return .object(members)
    }

    static func mapping<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let failure as Governance.Failure {
            switch failure.kind {
            case .notFound: throw Problem(.notFound, code: ProblemCode.notFound, title: "Not found", detail: failure.message)
            case .conflict: throw Problem(.conflict, code: ProblemCode.conflict, title: "Conflict", detail: failure.message)
            case .invalid: throw Problem(.unprocessableContent, code: ProblemCode.invalidRequest, title: "Invalid request", detail: failure.message)
            }
        }
    }

    static func object(_ request: Request, limit: Int, optional: Bool = false) async throws -> JSONValue {
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: limit) } catch {
            throw EventRoutes.tooLarge(limit)
        }
        if optional && body.readableBytes == 0 { return .object([:]) }
        let json: JSONValue
        do { json = try JSONParser().parse(body.readableBytesView) } catch { throw Problem.syntax(error) }
        guard case .object = json else {
            throw invalid([FieldError(.root, "the body must be a JSON object")])
        }
        return json
    }

    static func invalid(_ errors: [FieldError]) -> Problem {
        Problem(.unprocessableContent, code: ProblemCode.invalidRequest, title: "Invalid request", detail: "The request body has \(errors.count) problem(s), listed in errors.", errors: errors)
    }

    /// A `limit` query parameter: a whole number from 1 to `max`.
    static func pageLimit(_ value: String, max: Int = 1000) throws -> Int {
        guard let v = Int(value), (1...max).contains(v) else { throw badQuery("limit", "must be a whole number from 1 to \(max)") }
        return v
    }

    static func badQuery(_ name: String, _ detail: String) -> Problem {
        Problem(.badRequest, code: ProblemCode.badQuery, title: "Invalid query", errors: [FieldError(JSONPointer.root.appending(name), detail)])
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        EventRoutes.json(value.canonicalText, status: status)
    }
}

extension MillwrightRequestContext {
    /// The caller as the audit log names it.
    var actor: Governance.Actor {
        Governance.Actor(
            name: principal.map { "\($0.prefix) (\($0.name))" } ?? "anonymous",
            origin: remoteAddress ?? "unknown"
        )
    }
}
