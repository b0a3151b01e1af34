import Foundation
import MillwrightCore
import Testing

@Suite("RFC 3339")
struct RFC3339Tests {
    @Test(arguments: [
        ("2026-11-22T10:15:00Z", 1_795_342_500.0),
        ("2026-11-22T11:15:00+01:00", 1_795_342_500.0),
        ("2026-11-22t10:15:00.250z", 1_795_342_500.25),
        ("2024-02-29T00:00:00-05:30", 1_709_184_600.0),
    ])
    func parses(_ text: String, _ epoch: Double) throws {
        let date = try #require(RFC3339.parse(text))
        #expect(abs(date.timeIntervalSince1970 - epoch) < 0.0005)
    }

    @Test(arguments: [
        "2026-11-22T10:15:00", "2026-11-22 10:15:00Z", "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
        "2026-11-22T24:00:00Z", "2026-11-22T10:60:00Z", "2026-11-22T10:15:00+0100", "23.11.2026 06:03",
        "2026-11-22T10:15:00.Z", "", "1795413600000",
    ])
    func rejects(_ text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test func formatsUTCWithMilliseconds() {
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1_795_342_500.25)) == "2026-11-22T10:15:00.250Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
    }
}
