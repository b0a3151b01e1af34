import Foundation
import HTTPTypes
import HummingbirdTesting
import MillwrightAPI
import MillwrightCore
import MillwrightServer
import MillwrightTesting
import Testing

@Suite("Approvals")
struct ApprovalTests {
    static func requireApproval(_ c: inout MillwrightConfiguration) {
        c.api.approvals = ApprovalPolicy(required: ["token.create", "token.revoke"], expireAfterSeconds: 3_600)
    }

    /// A second admin, of another service account than the bootstrap admin.
    static func secondAdmin(_ store: any Store) async throws -> String {
        try await Governance(store: store).issueToken(account: "alice", scopes: ["admin"], by: operatorActor).token
    }

    @Test func aTokenIsIssuedOnlyWhenAnotherAdminApproves() async throws {
        let clock = TestClock(Date())
        try await withNode(now: clock.closure, configure: Self.requireApproval) { client, store in
            let alice = try await Self.secondAdmin(store)
            let asked = try await client.send(.post, "/v1/service-accounts/mes-bridge/tokens", contentType: "application/json",
                                              body: #"{"scopes":["events:read"],"expires_in_seconds":3600}"#)
            #expect(asked.status == .accepted, "\(asked.text)")
            let id = try #require(asked.json?["id"]?.stringValue)
            #expect(asked.headers[.location] == "/v1/approvals/\(id)")
            #expect(asked.json?["status"] == "pending" && asked.json?["action"] == "token.create" && asked.json?["target"] == "mes-bridge")
            #expect(asked.json?["token"] == nil)
            #expect(try await store.tokens(account: "mes-bridge").isEmpty, "nothing happens before the approval")

            let own = try await client.send(.post, "/v1/approvals/\(id)/approve", contentType: nil)
            #expect(own.status == .forbidden && own.json?["code"] == .string(ProblemCode.approvalBySameAccount))

            let approved = try await client.send(.post, "/v1/approvals/\(id)/approve", token: alice, contentType: nil)
            #expect(approved.status == .ok, "\(approved.text)")
            #expect(approved.json?["approval"]?["status"] == "approved")
            let token = try #require(approved.json?["result"]?["token"]?.stringValue)
            #expect(approved.json?["approval"]?["outcome"]?["token"] == nil, "the secret is answered once, never kept")
            #expect(try await client.send(.get, "/v1/events", token: token, contentType: nil).status == .ok, "the issued token works")
            #expect(try await store.tokens(account: "mes-bridge").first?.expiresAt != nil)

            let again = try await client.send(.post, "/v1/approvals/\(id)/approve", token: alice, contentType: nil)
            #expect(again.status == .conflict && again.json?["approval_status"] == "approved")

            let listed = try await client.send(.get, "/v1/approvals?status=approved", contentType: nil)
            #expect(listed.json?["items"]?.arrayValue?.map { $0["id"] } == [.string(id)])
            let audit = try await store.auditEntries(after: nil, limit: 100).map(\.draft)
            #expect(audit.map(\.action).suffix(4) == ["approval.request", "approval.approve", "service_account.create", "token.create"])
            #expect(audit.last?.actor.contains("approved by") == true && audit.last?.actor.contains("alice") == true, "\(audit.last?.actor ?? "")")
        }
    }

    @Test func rejectedOrExpiredRequestsDoNothing() async throws {
        let clock = TestClock(Date())
        try await withNode(now: clock.closure, configure: Self.requireApproval) { client, store in
            let alice = try await Self.secondAdmin(store)
            let victim = try await GovernanceTokens.issue(store: store, scopes: ["events:read"])
            let prefix = try #require(APIToken.prefix(of: victim))

            let asked = try await client.send(.delete, "/v1/tokens/\(prefix)", contentType: nil)
            #expect(asked.status == .accepted && asked.json?["target"] == .string(prefix))
            let id = try #require(asked.json?["id"]?.stringValue)
            let rejected = try await client.send(.post, "/v1/approvals/\(id)/reject", token: alice, contentType: nil)
            #expect(rejected.status == .ok && rejected.json?["status"] == "rejected")
            #expect(try await client.send(.post, "/v1/approvals/\(id)/approve", token: alice, contentType: nil).status == .conflict)
            #expect(try await client.send(.get, "/v1/events", token: victim, contentType: nil).status == .ok, "still valid")

            let late = try await client.send(.delete, "/v1/tokens/\(prefix)", contentType: nil)
            let lateID = try #require(late.json?["id"]?.stringValue)
            clock.advance(3_601)
            let expired = try await client.send(.post, "/v1/approvals/\(lateID)/approve", token: alice, contentType: nil)
            #expect(expired.status == .conflict && expired.json?["approval_status"] == "expired")
            #expect(try await client.send(.get, "/v1/approvals/\(lateID)", contentType: nil).json?["status"] == "expired")
            #expect(try await client.send(.get, "/v1/events", token: victim, contentType: nil).status == .ok)

            // A request that could never run is refused at once, not queued.
            let invalid = try await client.send(.post, "/v1/service-accounts/x/tokens", contentType: "application/json", body: #"{"scopes":["evnts:read"]}"#)
            #expect(invalid.status == .unprocessableContent)
            let unknown = try await client.send(.delete, "/v1/tokens/mw_nothere", contentType: nil)
            #expect(unknown.status == .notFound)
            #expect(try await store.approvals(status: nil, limit: 10).count == 2)
            // Actions not configured run at once.
            #expect(try await client.send(.post, "/v1/service-accounts", contentType: "application/json", body: #"{"name":"plain"}"#).status == .created)
        }
    }

    @Test func configuration() throws {
        var c = MillwrightConfiguration()
        try c.apply(yaml: "approvals:\n  required_for: [token.create, service_account.create]\n  expire_after_seconds: 600\n", file: "m.yaml")
        #expect(c.api.approvals.required == ["token.create", "service_account.create"] && c.api.approvals.expireAfterSeconds == 600)
        do {
            try c.apply(yaml: "approvals:\n  required_for: [token.revok]\n", file: "m.yaml")
            Issue.record("accepted an unknown action")
        } catch {
            #expect(error.description.hasPrefix("m.yaml:2:18: unknown action 'token.revok' (did you mean 'token.revoke'?)"), "\(error)")
        }
    }
}
