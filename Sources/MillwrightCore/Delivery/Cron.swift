import Foundation

/// A cron schedule (five fields: minute hour day-of-month month day-of-week) in a time zone, for flows
/// that deliver at set times (`sync: {schedule: "0 2 * * *"}`). Fields take `*`, numbers, ranges `a-b`,
/// steps `*/n` and `a-b/n`, lists `a,b`, month and day names (`jan`, `mon`), and the macros `@hourly`,
/// `@daily`, `@weekly`, `@monthly`, `@yearly`. As in Vixie cron, when both day fields are restricted a
/// day matches either of them; day-of-week 0 and 7 are Sunday.
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    public let expression: String
    public let timeZone: TimeZone
    let minutes: Set<Int>
    let hours: Set<Int>
    let days: Set<Int>
    let months: Set<Int>
    let weekdays: Set<Int>
    let daysRestricted: Bool
    let weekdaysRestricted: Bool

    public var description: String { "\(expression) (\(timeZone.identifier))" }

    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public init(_ expression: String, timeZone: TimeZone = TimeZone(identifier: "UTC") ?? .current) throws(ParseError) {
        let trimmed = expression.trimmingCharacters(in: .whitespaces)
        let macros = [
            "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
            "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
        ]
        let text = macros[trimmed.lowercased()] ?? trimmed
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { String($0).lowercased() }
        guard fields.count == 5 else {
            throw ParseError(message: "a cron schedule has five fields (minute hour day-of-month month day-of-week), e.g. \"0 2 * * *\"; '\(expression)' has \(fields.count)")
        }
        let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        self.expression = trimmed
        self.timeZone = timeZone
        minutes = try Self.field(fields[0], name: "minute", range: 0...59, names: [:])
        hours = try Self.field(fields[1], name: "hour", range: 0...23, names: [:])
        days = try Self.field(fields[2], name: "day-of-month", range: 1...31, names: [:])
        months = try Self.field(fields[3], name: "month", range: 1...12, names: Dictionary(uniqueKeysWithValues: monthNames.enumerated().map { ($1, $0 + 1) }))
        let weekdays = try Self.field(fields[4], name: "day-of-week", range: 0...7, names: Dictionary(uniqueKeysWithValues: dayNames.enumerated().map { ($1, $0) }))
        self.weekdays = Set(weekdays.map { $0 % 7 })
        daysRestricted = !fields[2].hasPrefix("*")
        weekdaysRestricted = !fields[4].hasPrefix("*")
        // A schedule that never fires (30 February) is a mistake, not a quiet flow.
        guard next(after: Date(timeIntervalSince1970: 0)) != nil else {
            throw ParseError(message: "the cron schedule '\(expression)' never fires")
        }
    }

    static func field(_ text: String, name: String, range: ClosedRange<Int>, names: [String: Int]) throws(ParseError) -> Set<Int> {
        func value(_ token: Substring) throws(ParseError) -> Int {
            if let n = Int(token), range.contains(n) { return n }
            if let n = names[String(token)] { return n }
            throw ParseError(message: "\(name) '\(token)' is not in \(range.lowerBound)-\(range.upperBound)\(names.isEmpty ? "" : " or a name such as \(names.keys.sorted().prefix(2).joined(separator: ", "))")")
        }
        var result = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw ParseError(message: "\(name) field '\(text)' has an empty list item") }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw ParseError(message: "\(name) '\(part)' has more than one '/'") }
            var step = 1
            if pieces.count == 2 {
                guard let n = Int(pieces[1]), n > 0 else { throw ParseError(message: "\(name) step '\(pieces[1])' is not a positive number") }
                step = n
            }
            let base = pieces[0]
            let lower: Int
            let upper: Int
            if base == "*" {
                (lower, upper) = (range.lowerBound, range.upperBound)
            } else if let dash = base.firstIndex(of: "-") {
                lower = try value(base[..<dash])
                upper = try value(base[base.index(after: dash)...])
                guard lower <= upper else { throw ParseError(message: "\(name) range '\(base)' runs backwards") }
            } else {
                lower = try value(base)
                upper = pieces.count == 2 ? range.upperBound : lower
            }
            result.formUnion(stride(from: lower, through: upper, by: step))
        }
        return result
    }

    var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    func dayMatches(day: Int, weekday: Int) -> Bool {
        let byDay = days.contains(day)
        let byWeekday = weekdays.contains(weekday)
        if daysRestricted && weekdaysRestricted { return byDay || byWeekday }
        return byDay && byWeekday
    }

    /// The first firing strictly after `date`, within eight years (nil if none).
    public func next(after date: Date) -> Date? {
        let calendar = calendar
        var t = Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60)
        let limit = date.addingTimeInterval(8 * 366 * 86_400)
        while t <= limit {
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: t)
            guard let month = c.month, let day = c.day, let hour = c.hour, let minute = c.minute, let weekday = c.weekday else { return nil }
            if !months.contains(month) {
                guard let start = calendar.dateInterval(of: .month, for: t)?.end else { return nil }
                t = start
            } else if !dayMatches(day: day, weekday: weekday - 1) {
                guard let start = calendar.dateInterval(of: .day, for: t)?.end else { return nil }
                t = start
            } else if !hours.contains(hour) {
                guard let start = calendar.dateInterval(of: .hour, for: t)?.end else { return nil }
                t = start
            } else if !minutes.contains(minute) {
                t = t.addingTimeInterval(60)
            } else {
                return t
            }
        }
        return nil
    }
}
