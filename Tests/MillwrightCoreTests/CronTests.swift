import Foundation
import MillwrightCore
import Testing

@Suite struct CronTests {
    static func date(_ text: String) -> Date {
        RFC3339.parse(text) ?? Date(timeIntervalSince1970: 0)
    }

    static func next(_ cron: String, after: String, zone: String = "UTC") throws -> String? {
        let schedule = try CronSchedule(cron, timeZone: try #require(TimeZone(identifier: zone)))
        guard let next = schedule.next(after: date(after)) else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: next)
    }

    @Test func nextFirings() throws {
        #expect(try Self.next("0 2 * * *", after: "2027-01-15T08:00:00Z") == "2027-01-16T02:00:00Z")
        #expect(try Self.next("0 2 * * *", after: "2027-01-15T01:59:59Z") == "2027-01-15T02:00:00Z")
        #expect(try Self.next("0 2 * * *", after: "2027-01-15T02:00:00Z") == "2027-01-16T02:00:00Z", "strictly after")
        #expect(try Self.next("*/15 * * * *", after: "2027-01-15T08:07:30Z") == "2027-01-15T08:15:00Z")
        #expect(try Self.next("30 6-18/4 * * mon-fri", after: "2027-01-15T19:00:00Z") == "2027-01-18T06:30:00Z", "Friday evening → Monday 06:30")
        #expect(try Self.next("@monthly", after: "2027-01-15T08:00:00Z") == "2027-02-01T00:00:00Z")
        #expect(try Self.next("0 0 29 feb *", after: "2027-03-01T00:00:00Z") == "2028-02-29T00:00:00Z")
        #expect(try Self.next("0 12 1 * 0", after: "2027-01-02T00:00:00Z") == "2027-01-03T12:00:00Z", "both day fields: either matches (Sunday 3 Jan)")
        #expect(try Self.next("0 0 * * 7", after: "2027-01-15T00:00:00Z") == "2027-01-17T00:00:00Z", "7 is Sunday too")
    }

    @Test func timeZonesAndDaylightSaving() throws {
        #expect(try Self.next("0 2 * * *", after: "2027-01-15T08:00:00Z", zone: "Europe/Berlin") == "2027-01-16T01:00:00Z")
        #expect(try Self.next("0 2 * * *", after: "2027-07-15T08:00:00Z", zone: "Europe/Berlin") == "2027-07-16T00:00:00Z")
        // 28 March 2027: Berlin skips 02:00–03:00; that day has no 02:30, the next one does.
        #expect(try Self.next("30 2 * * *", after: "2027-03-27T12:00:00Z", zone: "Europe/Berlin") == "2027-03-29T00:30:00Z")
    }

    @Test func mistakesAreNamed() {
        func message(_ cron: String) -> String {
            do { _ = try CronSchedule(cron); return "" } catch { return error.message }
        }
        #expect(message("0 2 * *").contains("five fields"))
        #expect(message("61 * * * *").contains("minute '61' is not in 0-59"))
        #expect(message("0 0 * foo *").contains("month 'foo'"))
        #expect(message("0 0 30 feb *").contains("never fires"))
        #expect(message("0 0 * * 5-1").contains("runs backwards"))
        #expect(message("*/0 * * * *").contains("step"))
    }
}
