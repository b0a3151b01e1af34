import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import MillwrightAPI
import MillwrightCore
import MillwrightServer
import MillwrightTesting
import Testing

@Suite("Rate limits")
struct RateLimitTests {
    @Test func tokenBucketRefillsWithTheClock() {
        let clock = TestClock(Date(timeIntervalSince1970: 1_800_000_000))
        let limiter = RateLimiter(configuration: .init(standard: RateLimit(perSecond: 2, burst: 3)), now: clock.closure)
        #expect((0..<3).map { _ in limiter.take(tokenID: "t1", account: "a") } == [nil, nil, nil], "the burst passes")
        #expect(limiter.take(tokenID: "t1", account: "a") == 1, "then one request per half second; Retry-After rounds up to 1")
        #expect(limiter.take(tokenID: "t2", account: "a") == nil, "each token has its own bucket")
        clock.advance(0.25)
        #expect(limiter.take(tokenID: "t1", account: "a") == 1)
        clock.advance(0.25)
        #expect(limiter.take(tokenID: "t1", account: "a") == nil)
        clock.advance(60)
        #expect((0..<4).map { _ in limiter.take(tokenID: "t1", account: "a") } == [nil, nil, nil, 1], "a long pause refills only up to the burst")
    }

    @Test func retryAfterIsWholeSecondsAtLeastOne() {
        let clock = TestClock(Date(timeIntervalSince1970: 1_800_000_000))
        let limiter = RateLimiter(configuration: .init(standard: RateLimit(perSecond: 0.1, burst: 1)), now: clock.closure)
        #expect(limiter.take(tokenID: "t", account: "a") == nil)
        #expect(limiter.take(tokenID: "t", account: "a") == 10)
        clock.advance(9.5)
        #expect(limiter.take(tokenID: "t", account: "a") == 1)
        clock.advance(-100)
        #expect(limiter.take(tokenID: "t", account: "a") == 1, "a clock stepped back refills nothing and breaks nothing")
    }

    @Test func accountOverridesAndNoLimit() {
        let clock = TestClock(Date(timeIntervalSince1970: 1_800_000_000))
        let limiter = RateLimiter(configuration: .init(standard: RateLimit(perSecond: 1, burst: 1), accounts: ["bulk": RateLimit(perSecond: 1, burst: 5)]), now: clock.closure)
        #expect((0..<5).allSatisfy { _ in limiter.take(tokenID: "b", account: "bulk") == nil })
        #expect(limiter.take(tokenID: "b", account: "bulk") == 1)
        #expect(limiter.take(tokenID: "s", account: "small") == nil && limiter.take(tokenID: "s", account: "small") == 1)
        let open = RateLimiter(configuration: .init(), now: clock.closure)
        #expect((0..<1000).allSatisfy { _ in open.take(tokenID: "t", account: "a") == nil })
    }

    @Test func bucketsAreBounded() {
        let clock = TestClock(Date(timeIntervalSince1970: 1_800_000_000))
        let limiter = RateLimiter(configuration: .init(standard: RateLimit(perSecond: 10, burst: 10)), maxBuckets: 100, now: clock.closure)
        for i in 0..<100 { _ = limiter.take(tokenID: "t\(i)", account: "a") }
        clock.advance(2)
        _ = limiter.take(tokenID: "fresh", account: "a")
        #expect(limiter.buckets.withLock { $0.count } == 1, "buckets full again are forgotten")
    }

    @Test func overTheLimitIs429WithRetryAfter() async throws {
        let clock = TestClock(Date())
        try await withNode(now: clock.closure, configure: { $0.api.rateLimit = .init(standard: RateLimit(perSecond: 1, burst: 2)) }) { client, store in
            for _ in 0..<2 { #expect(try await client.send(.get, "/v1/schemas", contentType: nil).status == .ok) }
            let limited = try await client.send(.get, "/v1/schemas", contentType: nil)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] == "1")
            #expect(limited.headers[.contentType] == "application/problem+json" && limited.json?["code"] == .string(ProblemCode.tooManyRequests))
            let other = try await GovernanceTokens.issue(store: store, scopes: ["schemas:read"])
            #expect(try await client.send(.get, "/v1/schemas", token: other, contentType: nil).status == .ok, "another token is not slowed down")
            let anonymous = try await client.send(.get, "/v1/schemas", token: nil, contentType: nil)
            #expect(anonymous.status == .unauthorized, "authentication comes first")
            clock.advance(1)
            #expect(try await client.send(.get, "/v1/schemas", contentType: nil).status == .ok)
        }
    }

    @Test func configurationAndEnvironment() throws {
        var c = MillwrightConfiguration()
        try c.apply(yaml: """
            limits:
              rate:
                per_second: 0.5
                accounts:
                  mes-bridge: {per_second: 500, burst: 1_000}
            """, file: "m.yaml")
        #expect(c.api.rateLimit.standard == RateLimit(perSecond: 0.5, burst: 1))
        #expect(c.api.rateLimit.accounts["mes-bridge"] == RateLimit(perSecond: 500, burst: 1000))
        try c.apply(environment: ["MILLWRIGHT_RATE_PER_SECOND": "20"])
        #expect(c.api.rateLimit.standard == RateLimit(perSecond: 20, burst: 40))
        try c.apply(environment: ["MILLWRIGHT_RATE_BURST": "7"])
        #expect(c.api.rateLimit.standard == RateLimit(perSecond: 20, burst: 7))
        try c.apply(environment: ["MILLWRIGHT_RATE_PER_SECOND": "0"])
        #expect(c.api.rateLimit.standard == nil && c.api.rateLimit.accounts.count == 1)
        #expect(throws: ConfigurationError.self) { try c.apply(environment: ["MILLWRIGHT_RATE_PER_SECOND": "fast"]) }
        #expect(throws: ConfigurationError.self) { try c.apply(environment: ["MILLWRIGHT_RATE_BURST": "5"]) }
    }

    @Test(arguments: [
        ("limits:\n  rate:\n    per_second: -1\n", "m.yaml:3:17: must be from 0 to 1000000"),
        ("limits:\n  rate:\n    burst: 5\n", "m.yaml:3:12: burst needs per_second"),
        ("limits:\n  rate:\n    per_second: 5\n    bursts: 5\n", "m.yaml:4:5: unknown key 'bursts' (did you mean 'burst'?)"),
        ("limits:\n  rate:\n    accounts:\n      a: {burst: 3}\n", "m.yaml:4:18: burst needs per_second"),
    ])
    func mistakesNameTheirPlace(_ yaml: String, _ expected: String) {
        expectConfigurationMistake(yaml, file: "m.yaml", startsWith: expected)
    }
}
