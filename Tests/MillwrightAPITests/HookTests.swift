import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import MillwrightAPI
import MillwrightCore
import MillwrightServer
import MillwrightSQLite
import Synchronization
import MillwrightTesting
import Testing

/// The Standard Webhooks test vector (the reference libraries' own): secret, id, timestamp, payload, signature.
enum Vector {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    static let timestamp: Int64 = 1_614_265_330
    static let payload = #"{"test": 2432232314}"#
    static let signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    static var at: Date { Date(timeIntervalSince1970: TimeInterval(timestamp)) }
}

@Suite("Standard Webhooks verification (test vectors)")
struct StandardWebhooksVectorTests {
    let verifier: StandardWebhooksVerifier
    let body = Array(Vector.payload.utf8)

    init() throws { verifier = try StandardWebhooksVerifier(secret: Vector.secret) }

    func verify(id: String? = Vector.id, timestamp: String? = String(Vector.timestamp), signature: String? = Vector.signature,
                body: [UInt8]? = nil, now: Date = Vector.at, using verifier: StandardWebhooksVerifier? = nil) -> StandardWebhooksVerifier.Failure? {
        do {
            try (verifier ?? self.verifier).verify(id: id, timestamp: timestamp, signatures: signature, body: body ?? self.body, now: now)
            return nil
        } catch {
            return error
        }
    }

    @Test func signingReproducesTheVector() {
        #expect(verifier.sign(id: Vector.id, timestamp: Vector.timestamp, body: body) == Vector.signature)
    }

    @Test func validMessageVerifies() {
        #expect(verify() == nil)
        #expect(verify(now: Vector.at.addingTimeInterval(299)) == nil)
        #expect(verify(now: Vector.at.addingTimeInterval(-299)) == nil, "a sender's clock a little ahead is tolerated")
    }

    @Test func wrongSecretFails() throws {
        let other = try StandardWebhooksVerifier(secret: "whsec_" + Data("another secret entirely".utf8).base64EncodedString())
        #expect(verify(using: other) == .signatureMismatch)
    }

    @Test func expiredOrFutureTimestampFails() {
        #expect(verify(now: Vector.at.addingTimeInterval(301)) == .timestampOutsideTolerance)
        #expect(verify(now: Vector.at.addingTimeInterval(-301)) == .timestampOutsideTolerance)
        #expect(verify(timestamp: "16142653x0") == .invalidTimestamp)
    }

    @Test func tamperedBodyOrIdFails() {
        #expect(verify(body: Array(#"{"test": 2432232315}"#.utf8)) == .signatureMismatch)
        #expect(verify(id: "msg_p5jXN8AQM9LWM0D4loKWxJel") == .signatureMismatch)
        #expect(verify(timestamp: String(Vector.timestamp + 1)) == .signatureMismatch, "the timestamp is signed too")
    }

    @Test func anyOfSeveralSignaturesMayMatch() {
        #expect(verify(signature: "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= " + Vector.signature) == nil)
        #expect(verify(signature: "v2,abc " + Vector.signature + " v1,garbage") == nil)
        #expect(verify(signature: "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=") == .signatureMismatch)
        #expect(verify(signature: "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") == .signatureMismatch, "the version prefix is required")
    }

    @Test func missingHeadersAreNamed() {
        #expect(verify(id: nil) == .missingHeader("webhook-id"))
        #expect(verify(timestamp: nil) == .missingHeader("webhook-timestamp"))
        #expect(verify(signature: "") == .missingHeader("webhook-signature"))
    }

    @Test func secretsMustBeBase64() {
        #expect(throws: StandardWebhooksVerifier.SecretFormatError.self) { try StandardWebhooksVerifier(secret: "whsec_not base64!") }
        #expect(throws: Never.self) { try StandardWebhooksVerifier(secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") }
    }
}

@Suite("Network allow-lists")
struct NetworkAllowListTests {
    @Test func matchesNetworksOfBothFamilies() throws {
        let allow = try NetworkAllowList(["10.20.0.0/16", "192.0.2.7", "2001:db8::/32", "::1"])
        #expect(allow.contains("10.20.255.1") && allow.contains("192.0.2.7") && allow.contains("2001:db8:1::5") && allow.contains("::1"))
        #expect(!allow.contains("10.21.0.1") && !allow.contains("192.0.2.8") && !allow.contains("2001:db9::1") && !allow.contains("garbage"))
        #expect(allow.contains("::ffff:10.20.1.5"), "IPv4-mapped IPv6 peers match as IPv4")
        #expect(try NetworkAllowList(["0.0.0.0/0"]).contains("203.0.113.9"))
        #expect(try NetworkAllowList(["10.20.3.4/12"]).contains("10.31.0.1"))
    }

    @Test(arguments: ["10.0.0.0/33", "10.0.0", "10.0.0.256", "2001:db8:::1", "::1/129", "host.example", "10.0.0.0/x"])
    func refusesWhatIsNotANetwork(_ text: String) {
        #expect(throws: NetworkAllowList.ParseError.self) { try NetworkAllowList([text]) }
    }
}

@Suite("Inbound webhooks")
struct HookTests {
    static let environment = [
        "ACME_SECRET": Vector.secret, "PLC_SECRET": "plc-shared-secret", "ODOO_HOOK_SECRET": "odoo-path-secret-0123456789",
    ]

    static func configure(_ c: inout MillwrightConfiguration) {
        var acme = HookSourceConfiguration(name: "acme", kind: .standardWebhooks)
        acme.secret = .environment("ACME_SECRET")
        acme.mapping.type = "mfg.inventory.counted.v1"
        var plc = HookSourceConfiguration(name: "plc", kind: .sharedSecret)
        plc.secret = .environment("PLC_SECRET")
        plc.header = "X-Hook-Secret"
        plc.mapping.type = "mfg.equipment.downtime.started.v1"
        plc.mapping.data = "/payload"
        plc.mapping.id = try? HookTemplate("{/event_id}")
        plc.mapping.subject = try? HookTemplate("equipment/{/payload/equipment}")
        plc.mapping.source = "plc/line-1"
        var lan = HookSourceConfiguration(name: "lan", kind: .none)
        lan.allow = ["127.0.0.0/8", "::1"]
        lan.mapping.type = "mfg.inventory.counted.v1"
        var far = HookSourceConfiguration(name: "far", kind: .none)
        far.allow = ["192.0.2.0/24"]
        far.mapping.type = "mfg.inventory.counted.v1"
        var odoo = HookSourceConfiguration(name: "odoo", kind: .odoo)
        odoo.secret = .environment("ODOO_HOOK_SECRET")
        odoo.allow = ["127.0.0.1", "::1"]
        c.api.hooks = [acme, plc, lan, far, odoo]
    }

    static let countData = #"{"product":"FURN_7023","location":"WH/Stock","quantity":12,"uom":"H87"}"#

    func signed(_ body: String, id: String, at timestamp: Int64, secret: String = Vector.secret) throws -> [String: String] {
        let verifier = try StandardWebhooksVerifier(secret: secret)
        return ["webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": verifier.sign(id: id, timestamp: timestamp, body: Array(body.utf8))]
    }

    @Test func standardWebhooksEndToEnd() async throws {
        let clock = TestClock(Vector.at.addingTimeInterval(5))
        try await withNode(environment: Self.environment, now: clock.closure, configure: Self.configure) { client, store in
            let headers = try signed(Self.countData, id: "msg_1", at: Vector.timestamp)
            let created = try await client.send(.post, "/v1/hooks/acme", token: nil, contentType: "application/json", headers: headers, body: Self.countData)
            #expect(created.status == .created, "\(created.text)")
            #expect(created.json?["event"]?["id"] == "msg_1" && created.json?["event"]?["source"] == "hooks/acme")
            #expect(created.json?["event"]?["type"] == "mfg.inventory.counted.v1" && created.json?["event"]?["data"]?["product"] == "FURN_7023")

            // The same message again, inside the window: a replay, refused.
            let replay = try await client.send(.post, "/v1/hooks/acme", token: nil, contentType: "application/json", headers: headers, body: Self.countData)
            #expect(replay.status == .conflict && replay.json?["code"] == .string(ProblemCode.webhookReplayed))

            // Tampered body, wrong secret, stale timestamp: 401, saying only which check failed.
            let tampered = try await client.send(.post, "/v1/hooks/acme", token: nil, contentType: "application/json", headers: headers,
                                                 body: Self.countData.replacingOccurrences(of: "12", with: "13"))
            #expect(tampered.status == .unauthorized && tampered.json?["detail"] == "Webhook verification failed: signature mismatch.")
            #expect(tampered.json?["code"] == .string(ProblemCode.webhookUnverified))
            let wrongKey = try signed(Self.countData, id: "msg_2", at: Vector.timestamp, secret: "whsec_" + Data("not it".utf8).base64EncodedString())
            let wrong = try await client.send(.post, "/v1/hooks/acme", token: nil, contentType: "application/json", headers: wrongKey, body: Self.countData)
            #expect(wrong.status == .unauthorized)
            let stale = try signed(Self.countData, id: "msg_3", at: Vector.timestamp - 400)
            let old = try await client.send(.post, "/v1/hooks/acme", token: nil, contentType: "application/json", headers: stale, body: Self.countData)
            #expect(old.status == .unauthorized && old.json?["detail"] == "Webhook verification failed: timestamp outside tolerance.")
            let unsigned = try await client.send(.post, "/v1/hooks/acme", token: adminToken, contentType: "application/json", body: Self.countData)
            #expect(unsigned.status == .unauthorized, "a bearer token does not replace the signature")

            // After the window, the sender's redelivery (re-signed, same id) is a duplicate: no second event.
            clock.advance(600)
            let later = try signed(Self.countData, id: "msg_1", at: Vector.timestamp + 600)
            let redelivered = try await client.send(.post, "/v1/hooks/acme", token: nil, contentType: "application/json", headers: later, body: Self.countData)
            #expect(redelivered.status == .ok && redelivered.json?["seq"] == created.json?["seq"], "\(redelivered.text)")

            // A refused or failed message does not burn its id: a payload that does not validate can be fixed and resent.
            let bad = #"{"product":"FURN_7023","quantity":-1}"#
            let badHeaders = try signed(bad, id: "msg_4", at: Vector.timestamp + 600)
            let invalid = try await client.send(.post, "/v1/hooks/acme", token: nil, contentType: "application/json", headers: badHeaders, body: bad)
            #expect(invalid.status == .unprocessableContent && invalid.json?["code"] == .string(ProblemCode.invalidData))
            let fixed = try signed(Self.countData, id: "msg_4", at: Vector.timestamp + 601)
            #expect(try await client.send(.post, "/v1/hooks/acme", token: nil, contentType: "application/json", headers: fixed, body: Self.countData).status == .created)

            let unknown = try await client.send(.post, "/v1/hooks/nobody", token: nil, contentType: "application/json", headers: headers, body: Self.countData)
            #expect(unknown.status == .notFound && unknown.json?["code"] == .string(ProblemCode.notFound))
            var query = EventQuery()
            query.source = "hooks/acme"
            #expect(try await store.events(query).map(\.id) == ["msg_1", "msg_4"])
        }
    }

    @Test func replayWindowSurvivesARestart() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mw-hooks-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let t0 = Vector.at
        let first = try SQLiteStore(path: path)
        #expect(try await first.recordHookReceipt(source: "acme", id: "msg_1", now: t0, until: t0.addingTimeInterval(300)))
        try await first.close()
        let second = try SQLiteStore(path: path)
        #expect(!(try await second.recordHookReceipt(source: "acme", id: "msg_1", now: t0.addingTimeInterval(10), until: t0.addingTimeInterval(310))))
        try await second.close()
    }

    @Test func sharedSecretWithMapping() async throws {
        try await withNode(environment: Self.environment, configure: Self.configure) { client, _ in
            let body = #"{"event_id":"plc-88","payload":{"equipment":"PRESS-01","started_at":"2026-11-22T11:20:00Z","reason_code":"JAM"}}"#
            let ok = try await client.send(.post, "/v1/hooks/plc", token: nil, contentType: "application/json", headers: ["X-Hook-Secret": "plc-shared-secret"], body: body)
            #expect(ok.status == .created, "\(ok.text)")
            #expect(ok.json?["event"]?["id"] == "plc-88" && ok.json?["event"]?["source"] == "plc/line-1")
            #expect(ok.json?["event"]?["subject"] == "equipment/PRESS-01" && ok.json?["event"]?["data"]?["equipment"] == "PRESS-01")
            let again = try await client.send(.post, "/v1/hooks/plc", token: nil, contentType: "application/json", headers: ["X-Hook-Secret": "plc-shared-secret"], body: body)
            #expect(again.status == .ok, "the id comes from the payload: a resend is a duplicate")

            let wrong = try await client.send(.post, "/v1/hooks/plc", token: nil, contentType: "application/json", headers: ["X-Hook-Secret": "plc-shared-secreT"], body: body)
            #expect(wrong.status == .unauthorized && wrong.json?["detail"] == "Webhook verification failed: secret mismatch.")
            let missing = try await client.send(.post, "/v1/hooks/plc", token: nil, contentType: "application/json", body: body)
            #expect(missing.status == .unauthorized)

            let unmapped = #"{"payload":{"equipment":"PRESS-01","started_at":"2026-11-22T11:20:00Z"}}"#
            let lacking = try await client.send(.post, "/v1/hooks/plc", token: nil, contentType: "application/json", headers: ["X-Hook-Secret": "plc-shared-secret"], body: unmapped)
            #expect(lacking.status == .unprocessableContent && lacking.json?["errors"]?.arrayValue?.first?["pointer"] == "/event_id", "\(lacking.text)")
            let notJSON = try await client.send(.post, "/v1/hooks/plc", token: nil, contentType: "application/json", headers: ["X-Hook-Secret": "plc-shared-secret"], body: "{")
            #expect(notJSON.status == .badRequest)
        }
    }

    @Test func allowListsAndOdooOverTheNetwork() async throws {
        try await withNode(environment: Self.environment, testing: .live, configure: Self.configure) { client, _ in
            let lan = try await client.send(.post, "/v1/hooks/lan", token: nil, contentType: "application/json", body: Self.countData)
            #expect(lan.status == .created, "\(lan.text)")
            let far = try await client.send(.post, "/v1/hooks/far", token: nil, contentType: "application/json", body: Self.countData)
            #expect(far.status == .forbidden && far.json?["code"] == .string(ProblemCode.addressNotAllowed))

            let payload = #"{"_action":"Send Webhook Notification(#12)","_id":42,"_model":"mrp.production","name":"WH/MO/00042","state":"confirmed"}"#
            let odoo = try await client.send(.post, "/v1/hooks/odoo/odoo-path-secret-0123456789", token: nil, contentType: "application/json", body: payload)
            #expect(odoo.status == .created, "\(odoo.text)")
            let event = odoo.json?["event"]
            #expect(event?["type"] == "mw.odoo.record_changed.v1" && event?["subject"] == "odoo/mrp.production/42")
            #expect(event?["data"] == ["model": "mrp.production", "record_id": 42, "action": "Send Webhook Notification(#12)", "fields": ["name", "state"]])
            let second = try await client.send(.post, "/v1/hooks/odoo/odoo-path-secret-0123456789", token: nil, contentType: "application/json", body: payload)
            #expect(second.status == .created, "each Odoo call is its own signal")

            let wrong = try await client.send(.post, "/v1/hooks/odoo/odoo-path-secret-012345678X", token: nil, contentType: "application/json", body: payload)
            #expect(wrong.status == .unauthorized)
            let bare = try await client.send(.post, "/v1/hooks/odoo", token: nil, contentType: "application/json", body: payload)
            #expect(bare.status == .notFound, "an Odoo source is only reachable with its path secret")
            let notOdoo = try await client.send(.post, "/v1/hooks/lan/odoo-path-secret-0123456789", token: nil, contentType: "application/json", body: Self.countData)
            #expect(notOdoo.status == .notFound)
            let noModel = try await client.send(.post, "/v1/hooks/odoo/odoo-path-secret-0123456789", token: nil, contentType: "application/json", body: #"{"_id":42}"#)
            #expect(noModel.status == .unprocessableContent && noModel.json?["errors"]?.arrayValue?.first?["pointer"] == "/_model")
        }
    }

    @Test func concurrencyIsBoundedPerSource() {
        let limiter = HookConcurrency()
        #expect(limiter.enter("a", limit: 2) && limiter.enter("a", limit: 2))
        #expect(!limiter.enter("a", limit: 2), "the third concurrent call is refused")
        #expect(limiter.enter("b", limit: 2), "sources are counted apart")
        limiter.leave("a")
        #expect(limiter.enter("a", limit: 2))
    }

    @Test func missingSecretStopsTheNode() async throws {
        var c = MillwrightConfiguration()
        Self.configure(&c)
        #expect(throws: ConfigurationError.self) { try c.resolvedHooks(environment: [:]) }
        do {
            _ = try c.resolvedHooks(environment: ["ACME_SECRET": "whsec_!!", "PLC_SECRET": "x", "ODOO_HOOK_SECRET": "odoo-path-secret-0123456789"])
            Issue.record("accepted a malformed whsec_ secret")
        } catch {
            #expect(error.description.contains("hooks.acme.secret") && !error.description.contains("!!"), "\(error)")
        }
    }
}

@Suite("Hook configuration")
struct HookConfigurationTests {
    @Test func readsEveryHookSetting() throws {
        var c = MillwrightConfiguration()
        try c.apply(yaml: """
            hooks:
              supplier:
                kind: standard-webhooks
                secret: env:SUPPLIER_SECRET
                tolerance_seconds: 120
                allow: [203.0.113.0/24]
                max_concurrent: 4
                map:
                  type: mfg.goods.received.v1
                  source: supplier/acme
                  id: "{/delivery}"
                  subject: purchase-order/{/purchase_order}
                  time: "{/sent_at}"
                  partitionkey: "{/purchase_order}"
                  data: /body
              odoo-prod:
                kind: odoo
                secret: file:/run/secrets/odoo-hook
                allow: [10.0.5.0/24]
            """, file: "m.yaml")
        #expect(c.api.hooks.map(\.name) == ["supplier", "odoo-prod"])
        let s = c.api.hooks[0]
        #expect(s.kind == .standardWebhooks && s.secret == .environment("SUPPLIER_SECRET") && s.toleranceSeconds == 120 && s.maxConcurrent == 4)
        #expect(s.allow == ["203.0.113.0/24"] && s.mapping.type == "mfg.goods.received.v1" && s.mapping.source == "supplier/acme")
        #expect(s.mapping.subject?.description == "purchase-order/{/purchase_order}" && s.mapping.data == "/body")
        #expect(c.api.hooks[1].kind == .odoo && c.api.hooks[1].secret == .file("/run/secrets/odoo-hook"))
    }

    @Test func theDocumentedExampleIsValid() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/configuration.md")
        let text = try String(contentsOf: url, encoding: .utf8)
        let section = try #require(text.range(of: "## Inbound webhooks"))
        let start = try #require(text.range(of: "```yaml\n", range: section.upperBound..<text.endIndex))
        let end = try #require(text.range(of: "```", range: start.upperBound..<text.endIndex))
        var c = MillwrightConfiguration()
        try c.apply(yaml: String(text[start.upperBound..<end.lowerBound]), file: "docs/configuration.md")
        #expect(c.api.hooks.map(\.kind) == [.standardWebhooks, .sharedSecret, .none, .odoo])
    }

    @Test(arguments: [
        ("hooks:\n  a:\n    kind: standard-webhooks\n    secret: whsec_abc\n    map: {type: mfg.lot.created.v1}\n", "m.yaml:4:13: secrets are given by reference only"),
        ("hooks:\n  a:\n    kind: signed\n", "m.yaml:3:11: expected one of standard-webhooks, shared-secret, none, odoo"),
        ("hooks:\n  a:\n    kind: none\n    map: {type: mfg.lot.created.v1}\n", "m.yaml:3:5: hook source 'a' of kind none needs allow"),
        ("hooks:\n  a:\n    kind: none\n    allow: [10.0.0.0/33]\n    map: {type: mfg.lot.created.v1}\n", "m.yaml:4:13: '10.0.0.0/33': the prefix length"),
        ("hooks:\n  a:\n    kind: shared-secret\n    secret: env:S\n    map: {type: mfg.lot.created.v1}\n", "m.yaml:3:5: hook source 'a' of kind shared-secret needs a header"),
        ("hooks:\n  a:\n    kind: none\n    allow: [10.0.0.1]\n    map: {type: mfg.lot.create.v1}\n", "m.yaml:5:17: unknown canonical type 'mfg.lot.create.v1' (did you mean 'mfg.lot.created.v1'?)"),
        ("hooks:\n  a:\n    kind: none\n    allow: [10.0.0.1]\n    map: {type: mfg.lot.created.v1, subject: 'lot/{order}'}\n", "m.yaml:5:46: 'lot/{order}': '{order}' must hold a JSON pointer"),
        ("hooks:\n  a:\n    kind: odoo\n    secret: env:S\n    allow: [10.0.0.1]\n    map: {type: mfg.lot.created.v1}\n", "m.yaml:6:17: an odoo source always emits mw.odoo.record_changed.v1"),
        ("hooks:\n  a b:\n    kind: none\n", "m.yaml:2:3: a hook source name is 1 to 64 letters"),
        ("hooks:\n  a:\n    kind: none\n    allow: [10.0.0.1]\n    retries: 3\n", "m.yaml:5:5: unknown key 'retries'"),
        ("hooks:\n  a:\n    kind: none\n    allow: [10.0.0.1]\n", "m.yaml:3:5: hook source 'a' needs map.type"),
    ])
    func mistakesNameTheirPlace(_ yaml: String, _ expected: String) {
        expectConfigurationMistake(yaml, file: "m.yaml", startsWith: expected)
    }
}
