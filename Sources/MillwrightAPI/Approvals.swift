import Foundation
import Hummingbird
import MillwrightCore

/// Which sensitive actions need a second person's approval (`approvals:` in the configuration).
public struct ApprovalPolicy: Sendable {
    /// The actions that can be put behind an approval, by their audit verb.
    public static let actions = ["service_account.create", "token.create", "token.rotate", "token.revoke", "delivery.replay.bulk"]

    /// Actions that need an approval. Empty (the default): none does.
    public var required: Set<String> = []
    /// How long a request waits for its approver before it expires. Default one day.
    public var expireAfterSeconds: Int = 86_400

    public init(required: Set<String> = [], expireAfterSeconds: Int = 86_400) {
        self.required = required
        self.expireAfterSeconds = expireAfterSeconds
    }

    public func requires(_ action: String) -> Bool { required.contains(action) }
}

/// Four-eyes control over sensitive actions: a request that needs approval is stored (202), and runs only
/// when an admin of *another* service account approves it. Every step is audited.
struct Approvals: Sendable {
    let governance: Governance
    let policy: ApprovalPolicy
    let now: @Sendable () -> Date
    /// Approved bulk replays run here (the delivery routes provide it when the node delivers).
    var bulkReplay: (@Sendable (JSONValue, Governance.Actor) async throws -> JSONValue)?

    var store: any Store { governance.store }

    /// Stores a request for `action` and answers `202 Accepted` with the approval to wait for.
    func request(action: String, target: String, parameters: JSONValue, context: MillwrightRequestContext) async throws -> Response {
        let at = now()
        let approval = ApprovalRecord(
            id: "ap_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""),
            action: action, target: target, request: parameters,
            requestedBy: context.actor.name, requesterAccount: context.principal?.name ?? "anonymous", origin: context.actor.origin,
            requestedAt: at, expiresAt: at.addingTimeInterval(TimeInterval(policy.expireAfterSeconds))
        )
        try await store.insertApproval(approval)
        try await governance.audit("approval.request", target: approval.id, by: context.actor,
                                   after: ["action": .string(action), "target": .string(target), "request": parameters])
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[.location] = "/v1/approvals/\(approval.id)"
        return Response(status: .accepted, headers: headers, body: .init(byteBuffer: ByteBuffer(string: Self.json(approval).canonicalText)))
    }

    /// Approves and runs a pending request. The approver must be another service account than the requester.
    func approve(_ id: String, context: MillwrightRequestContext) async throws -> JSONValue {
        let approval = try await pending(id)
        guard let approver = context.principal, approver.name != approval.requesterAccount else {
            throw Problem(.forbidden, code: ProblemCode.approvalBySameAccount, title: "Forbidden",
                          detail: "A request cannot be approved by the account that made it ('\(approval.requesterAccount)'): another admin must approve it.")
        }
        guard try await store.decideApproval(id: id, status: .approved, by: context.actor.name, at: now(), outcome: nil) else {
            throw Self.notPending(try await store.approval(id: id) ?? approval)
        }
        try await governance.audit("approval.approve", target: id, by: context.actor,
                                   after: ["action": .string(approval.action), "target": .string(approval.target)])
        // The action is audited as the requester's, naming the approver.
        let actor = Governance.Actor(name: "\(approval.requestedBy) approved by \(context.actor.name)", origin: approval.origin)
        do {
            let (result, outcome) = try await run(approval, by: actor)
            try await store.recordApprovalOutcome(id: id, status: .approved, outcome: outcome)
            var decided = approval
            decided.status = .approved
            decided.decidedBy = context.actor.name
            decided.decidedAt = now()
            decided.outcome = outcome
            return .object(["approval": Self.json(decided), "result": result])
        } catch {
            let message = (error as? Governance.Failure)?.message ?? (error as? Problem)?.detail ?? "the action failed; the server log has the cause"
            try await store.recordApprovalOutcome(id: id, status: .failed, outcome: ["error": .string(message)])
            throw error
        }
    }

    /// Rejects a pending request (any admin may, the requester too: a withdrawal).
    func reject(_ id: String, context: MillwrightRequestContext) async throws -> JSONValue {
        let approval = try await pending(id)
        guard try await store.decideApproval(id: id, status: .rejected, by: context.actor.name, at: now(), outcome: nil) else {
            throw Self.notPending(try await store.approval(id: id) ?? approval)
        }
        try await governance.audit("approval.reject", target: id, by: context.actor,
                                   after: ["action": .string(approval.action), "target": .string(approval.target)])
        return Self.json(try await store.approval(id: id) ?? approval)
    }

    /// The approval, if it can still be decided; an overdue one is marked expired.
    func pending(_ id: String) async throws -> ApprovalRecord {
        guard let approval = try await store.approval(id: id) else {
            throw Problem(.notFound, code: ProblemCode.notFound, title: "Not found", detail: "No approval with id '\(id)'.")
        }
        guard approval.status == .pending else { throw Self.notPending(approval) }
        if approval.expiresAt <= now() {
            _ = try await store.decideApproval(id: id, status: .expired, by: "millwright", at: now(), outcome: nil)
            var expired = approval
            expired.status = .expired
            throw Self.notPending(expired)
        }
        return approval
    }

    /// Runs the approved action: what the approver is answered (secrets included, once), and what is kept.
    func run(_ approval: ApprovalRecord, by actor: Governance.Actor) async throws -> (result: JSONValue, outcome: JSONValue) {
        let request = approval.request
        switch approval.action {
        case "service_account.create":
            let account = try await governance.createAccount(name: approval.target, description: request["description"]?.stringValue ?? "", by: actor)
            let json: JSONValue = ["name": .string(account.name), "description": .string(account.description), "created_at": .string(RFC3339.format(account.createdAt))]
            return (json, json)
        case "token.create":
            let scopes = request["scopes"]?.arrayValue?.compactMap(\.stringValue) ?? []
            var expiresAt: Date?
            if case .number(let n)? = request["expires_in_seconds"], let s = Int(n) { expiresAt = now().addingTimeInterval(TimeInterval(s)) }
            let issued = try await governance.issueToken(account: approval.target, scopes: scopes, expiresAt: expiresAt, by: actor)
            return (GovernanceRoutes.issuedJSON(issued), Governance.describe(issued.record))
        case "token.rotate":
            var overlap: TimeInterval = 86_400
            if case .number(let n)? = request["overlap_seconds"], let s = Int(n) { overlap = TimeInterval(s) }
            let issued = try await governance.rotate(approval.target, overlap: overlap, by: actor)
            return (GovernanceRoutes.issuedJSON(issued), Governance.describe(issued.record))
        case "token.revoke":
            let revoked = try await governance.revoke(approval.target, by: actor)
            return (Governance.describe(revoked), Governance.describe(revoked))
        case "delivery.replay.bulk":
            guard let bulkReplay else { throw Governance.Failure(kind: .invalid, message: "this node does not deliver: nothing to replay") }
            let result = try await bulkReplay(request, actor)
            return (result, result)
        default:
            throw Governance.Failure(kind: .invalid, message: "unknown action '\(approval.action)'")
        }
    }

    static func notPending(_ approval: ApprovalRecord) -> Problem {
        Problem(.conflict, code: ProblemCode.conflict, title: "Approval already decided",
                detail: "Approval \(approval.id) is \(approval.status.rawValue), not pending: nothing was done.",
                extensions: ["approval_status": .string(approval.status.rawValue)])
    }

    static func json(_ a: ApprovalRecord) -> JSONValue {
        .object([
            "id": .string(a.id), "action": .string(a.action), "target": .string(a.target), "request": a.request,
            "status": .string(a.status.rawValue), "requested_by": .string(a.requestedBy), "origin": .string(a.origin),
            "requested_at": .string(RFC3339.format(a.requestedAt)), "expires_at": .string(RFC3339.format(a.expiresAt)),
            "decided_by": a.decidedBy.map { .string($0) } ?? .null,
            "decided_at": a.decidedAt.map { .string(RFC3339.format($0)) } ?? .null,
            "outcome": a.outcome ?? .null,
        ])
    }
}

/// `/v1/approvals`: list, read, approve, reject (scope `admin`).
struct ApprovalRoutes {
    let approvals: Approvals

    func register(on group: RouterGroup<MillwrightRequestContext>) {
        group.get("approvals") { request, context in
            try context.require("admin")
            var status: ApprovalRecord.Status?
            var limit = 100
            for (name, value) in request.uri.queryParameters {
                switch String(name) {
                case "status":
                    guard let s = ApprovalRecord.Status(rawValue: String(value)) else {
                        throw GovernanceRoutes.badQuery("status", "must be one of \(ApprovalRecord.Status.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    status = s
                case "limit":
                    limit = try GovernanceRoutes.pageLimit(String(value))
                default:
                    throw GovernanceRoutes.badQuery(String(name), "unknown query parameter; accepted: status, limit")
                }
            }
            let items = try await approvals.store.approvals(status: status, limit: limit)
            return GovernanceRoutes.json(.object(["items": .array(items.map(Approvals.json))]))
        }
        group.get("approvals/{id}") { _, context in
            try context.require("admin")
            let id = context.parameters.get("id") ?? ""
            guard let approval = try await approvals.store.approval(id: id) else {
                throw Problem(.notFound, code: ProblemCode.notFound, title: "Not found", detail: "No approval with id '\(id)'.")
            }
            return GovernanceRoutes.json(Approvals.json(approval))
        }
        group.post("approvals/{id}/approve") { _, context in
            try context.require("admin")
            let id = context.parameters.get("id") ?? ""
            return GovernanceRoutes.json(try await GovernanceRoutes.mapping { try await approvals.approve(id, context: context) })
        }
        group.post("approvals/{id}/reject") { _, context in
            try context.require("admin")
            let id = context.parameters.get("id") ?? ""
            return GovernanceRoutes.json(try await approvals.reject(id, context: context))
        }
    }
}
