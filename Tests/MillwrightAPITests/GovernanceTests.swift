import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import MillwrightAPI
import MillwrightCore
import MillwrightSQLite
import Synchronization
import MillwrightTesting
import Testing


func makeStore() throws -> (SQLiteStore, String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mw-gov-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return (try SQLiteStore(path: dir + "/millwright.sqlite"), dir)
}

let operatorActor = Governance.Actor(name: "test", origin: "local")

@Suite("Tokens and audit")
struct GovernanceTests {
    @Test func rotationKeepsTheOldTokenForTheOverlapThenExpiresIt() async throws {
        let (store, dir) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = TestClock(Date(timeIntervalSince1970: 1_795_000_000))
        let verifier = TokenVerifier(store: store, bootstrapToken: nil, cacheTTL: 0, now: { clock.read() })
        let governance = Governance(store: store, now: { clock.read() }, onTokenChange: { verifier.forget(hash: $0) })
        let first = try await governance.issueToken(account: "mes-bridge", scopes: ["events:read"], expiresAt: clock.read().addingTimeInterval(30 * 86_400), by: operatorActor)
        #expect(try await verifier.verify(first.token)?.name == "mes-bridge")

        clock.advance(3_600)
        let second = try await governance.rotate(first.record.prefix, overlap: 600, by: operatorActor)
        #expect(second.record.scopes == ["events:read"] && second.record.name == "mes-bridge")
        #expect(second.record.expiresAt == clock.read().addingTimeInterval(30 * 86_400), "the successor gets a full lifetime")
        clock.advance(599)
        #expect(try await verifier.verify(first.token) != nil, "the old token works during the overlap")
        #expect(try await verifier.verify(second.token) != nil)
        clock.advance(2)
        #expect(try await verifier.verify(first.token) == nil, "and not after it")
        #expect(try await verifier.verify(second.token) != nil)
        try await store.close()
    }

    @Test func expiryAndRevocationApplyAtOnce() async throws {
        let (store, dir) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = TestClock(Date(timeIntervalSince1970: 1_795_000_000))
        let verifier = TokenVerifier(store: store, bootstrapToken: nil, cacheTTL: 60, now: { clock.read() })
        let governance = Governance(store: store, now: { clock.read() }, onTokenChange: { verifier.forget(hash: $0) })
        let expiring = try await governance.issueToken(account: "portal", scopes: ["events:read"], expiresAt: clock.read().addingTimeInterval(10), by: operatorActor)
        #expect(try await verifier.verify(expiring.token) != nil)
        clock.advance(10)
        #expect(try await verifier.verify(expiring.token) == nil, "expired, even while cached")

        let revoked = try await governance.issueToken(account: "portal", scopes: ["events:read"], by: operatorActor)
        #expect(try await verifier.verify(revoked.token) != nil)
        _ = try await governance.revoke(revoked.record.id, by: operatorActor)
        #expect(try await verifier.verify(revoked.token) == nil, "revoked: refused on the next request despite a 60 s cache")
        try await store.close()
    }

    @Test func scopesAreCheckedWhenIssued() async throws {
        #expect(throws: Governance.Failure.self) { try Governance.resolve(scopes: ["evnts:read"]) }
        #expect(throws: Governance.Failure.self) { try Governance.resolve(scopes: ["role:superuser"]) }
        #expect(throws: Governance.Failure.self) { try Governance.resolve(scopes: []) }
        #expect(try Governance.resolve(scopes: ["role:viewer", "events:read"]).contains("schemas:read"))
        #expect(try Governance.resolve(scopes: ["events:publish:mfg.production.*"]) == ["events:publish:mfg.production.*"])
    }

    /// Tampering straight in the database file: the verifier must name the entry.
    @Test(arguments: ["edit", "delete", "reorder", "delete-first"])
    func tamperingIsDetected(_ tamper: String) async throws {
        let (store, dir) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let governance = Governance(store: store)
        for name in ["a", "b", "c", "d"] {
            _ = try await governance.issueToken(account: name, scopes: ["events:read"], by: operatorActor)
        }
        guard case .intact(let n, _) = try await governance.verifyAudit() else {
            Issue.record("a fresh log must verify")
            return
        }
        #expect(n == 8, "an account creation and a token creation each")
        try await store.close()

        let queue = try DatabaseQueue(path: dir + "/millwright.sqlite")
        try await queue.write { db in
            switch tamper {
            case "edit": try db.execute(sql: "UPDATE audit SET actor = 'someone else' WHERE seq = 4")
            case "delete": try db.execute(sql: "DELETE FROM audit WHERE seq = 4")
            case "delete-first": try db.execute(sql: "DELETE FROM audit WHERE seq = 1")
            default:
                // Swap the content of entries 4 and 5, keeping their positions.
                try db.execute(sql: "UPDATE audit SET seq = -4 WHERE seq = 4")
                try db.execute(sql: "UPDATE audit SET seq = 4 WHERE seq = 5")
                try db.execute(sql: "UPDATE audit SET seq = 5 WHERE seq = -4")
            }
        }
        try queue.close()

        let reopened = try SQLiteStore(path: dir + "/millwright.sqlite")
        let result = try await Governance(store: reopened).verifyAudit()
        let expected: Int64 = tamper == "delete-first" ? 1 : 4
        guard case .broken(let seq, let reason) = result else {
            Issue.record("\(tamper) went unnoticed")
            return
        }
        #expect(seq == expected, "\(tamper): \(reason)")
        try await reopened.close()
    }
}

@Suite("Token API")
struct TokenAPITests {
    @Test func issueUseRotateRevokeAudit() async throws {
        try await withNode { client, _ in
            let created = try await client.send(.post, "/v1/service-accounts/mes-bridge/tokens", contentType: "application/json",
                                                body: #"{"scopes":["events:publish:mfg.production.*","events:read"],"expires_in_seconds":3600}"#)
            #expect(created.status == .created)
            let token = try #require(created.json?["token"]?.stringValue)
            let id = try #require(created.json?["id"]?.stringValue)
            #expect(try await client.send(.get, "/v1/events", token: token, contentType: nil).status == .ok)

            let listed = try await client.send(.get, "/v1/service-accounts/mes-bridge/tokens", contentType: nil)
            #expect(listed.json?["items"]?.arrayValue?.count == 1)
            #expect(!listed.text.contains(token), "secrets are never listed")

            let rotated = try await client.send(.post, "/v1/tokens/\(id)/rotate", contentType: "application/json", body: #"{"overlap_seconds":0}"#)
            #expect(rotated.status == .created)
            let successor = try #require(rotated.json?["token"]?.stringValue)
            #expect(try await client.send(.get, "/v1/events", token: token, contentType: nil).status == .unauthorized, "overlap 0: the old token stops at once")
            #expect(try await client.send(.get, "/v1/events", token: successor, contentType: nil).status == .ok)
            #expect(try await client.send(.get, "/v1/service-accounts", token: successor, contentType: nil).status == .forbidden)

            let successorID = try #require(rotated.json?["id"]?.stringValue)
            #expect(try await client.send(.delete, "/v1/tokens/\(successorID)", contentType: nil).status == .ok)
            #expect(try await client.send(.get, "/v1/events", token: successor, contentType: nil).status == .unauthorized, "revoked at once")

            // Found by schemathesis: a lifetime beyond what a timestamp holds crashed the server.
            let forever = try await client.send(.post, "/v1/service-accounts/x/tokens", contentType: "application/json",
                                                body: #"{"scopes":["events:read"],"expires_in_seconds":9223372036854775807}"#)
            #expect(forever.status == .unprocessableContent)
            let farOverlap = try await client.send(.post, "/v1/tokens/\(id)/rotate", contentType: "application/json", body: #"{"overlap_seconds":9000000000000000}"#)
            #expect(farOverlap.status == .unprocessableContent)

            let bad = try await client.send(.post, "/v1/service-accounts/x/tokens", contentType: "application/json", body: #"{"scopes":["evnts:read"]}"#)
            #expect(bad.status == .unprocessableContent)

            let audit = try await client.send(.get, "/v1/audit", contentType: nil)
            let actions = audit.json?["items"]?.arrayValue?.compactMap { $0["action"]?.stringValue } ?? []
            #expect(actions == ["service_account.create", "token.create", "token.rotate", "token.revoke"])
            #expect(!audit.text.contains(token) && !audit.text.contains(successor), "the audit log never holds a secret")
            let verify = try await client.send(.get, "/v1/audit/verify", contentType: nil)
            #expect(verify.json?["intact"] == true)
        }
    }
}
