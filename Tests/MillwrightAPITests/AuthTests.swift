import Foundation
import HTTPTypes
import HummingbirdTesting
import MillwrightAPI
import MillwrightCore
import Testing

@Suite("Access")
struct AuthTests {
    @Test func v1NeedsABearerToken() async throws {
        try await withNode { client, _ in
            for (method, uri) in [(HTTPRequest.Method.get, "/v1/events"), (.post, "/v1/events"), (.get, "/v1/schemas"), (.get, "/v1/schemas/mfg.lot.created.v1"), (.get, "/v1/events/1")] {
                let none = try await client.send(method, uri, token: nil, body: completion(id: "a"))
                #expect(none.status == .unauthorized, "\(method) \(uri)")
                #expect(none.headers[.wwwAuthenticate] == "Bearer realm=\"millwright\"")
                #expect(none.headers[.contentType] == "application/problem+json")
                #expect(try await client.send(method, uri, token: "mw_nope_nope", body: completion(id: "a")).status == .unauthorized)
            }
            var basic = HTTPFields()
            basic[.authorization] = "Basic YWRtaW46YWRtaW4="
            let wrongScheme = try await client.execute(uri: "/v1/events", method: .get, headers: basic)
            #expect(wrongScheme.status == .unauthorized)
            #expect(try await client.send(.get, "/healthz", token: nil, contentType: nil).status == .ok)
            #expect(try await client.send(.get, "/readyz", token: nil, contentType: nil).status != .unauthorized)
        }
    }

    @Test func scopesLimitWhatATokenMayDo() async throws {
        try await withNode { client, store in
            let issued = APIToken.issue(name: "mes-bridge", scopes: ["events:publish:mfg.production.*", "events:read"], now: Date())
            try await store.insertToken(issued.record)
            let token = issued.token
            #expect(try await client.send(.post, "/v1/events", token: token, body: completion(id: "s1")).status == .created)
            let forbidden = try await client.send(.post, "/v1/events", token: token, body: count(id: "s2"))
            #expect(forbidden.status == .forbidden)
            #expect(forbidden.json?["missing_scope"] == "events:publish:mfg.inventory.counted.v1")
            #expect(try await client.send(.get, "/v1/events", token: token, contentType: nil).status == .ok)
            #expect(try await client.send(.get, "/v1/schemas", token: token, contentType: nil).status == .forbidden)

            let batch = "[" + completion(id: "s3") + "," + count(id: "s4") + "]"
            let results = try await client.send(.post, "/v1/events", token: token, contentType: "application/cloudevents-batch+json", body: batch).json?["results"]?.arrayValue
            #expect(results?.map { $0["status"]?.stringValue ?? "" } == ["created", "rejected"])
            #expect(results?[1]["problem"]?["status"] == .number("403"))
        }
    }

    @Test func expiredTokensAreRefused() async throws {
        try await withNode { client, store in
            let issued = APIToken.issue(name: "old", scopes: ["admin"], now: Date(), expiresAt: Date().addingTimeInterval(-1))
            try await store.insertToken(issued.record)
            #expect(try await client.send(.get, "/v1/events", token: issued.token, contentType: nil).status == .unauthorized)
        }
    }

    @Test func tokensAreStoredHashedWithAnIdentifyingPrefix() {
        let issued = APIToken.issue(name: "x", scopes: ["admin"], now: Date())
        #expect(issued.token.hasPrefix(issued.record.prefix + "_"))
        #expect(issued.record.hash == APIToken.hash(issued.token))
        #expect(!issued.record.hash.contains(issued.token))
        #expect(issued.token.count >= 50)
    }

    @Test(arguments: [
        ("admin", "anything:at:all", true),
        ("events:publish", "events:publish:mfg.lot.created.v1", true),
        ("events:publish:mfg.production.*", "events:publish:mfg.production.completed.v1", true),
        ("events:publish:mfg.production.*", "events:publish:mfg.production_order.released.v1", false),
        ("events:read", "events:readonly", false),
        ("events:read", "events", false),
    ])
    func scopeMatching(_ scope: String, _ action: String, _ granted: Bool) {
        #expect(Principal.scope(scope, grants: action) == granted)
    }
}
