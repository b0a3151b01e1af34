import Foundation
import GRDB
import MillwrightCore

extension SQLiteStore {
    static func registerSubscriptionMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v5-subscriptions") { db in
            // The secret is kept as given (it signs every message, so it cannot be a hash); the database
            // file's directory is 0700. See docs/webhooks.md.
            try db.execute(sql: """
                CREATE TABLE subscriptions (
                    id TEXT PRIMARY KEY,
                    url TEXT NOT NULL,
                    types TEXT NOT NULL,
                    filter TEXT NOT NULL,
                    description TEXT NOT NULL,
                    ordered INTEGER NOT NULL,
                    secret TEXT NOT NULL,
                    previous_secret TEXT,
                    previous_secret_until_us INTEGER,
                    state TEXT NOT NULL,
                    state_reason TEXT,
                    state_since_us INTEGER NOT NULL,
                    disable_after_s INTEGER NOT NULL,
                    failing_since_us INTEGER,
                    headers TEXT NOT NULL,
                    schedule TEXT NOT NULL,
                    created_us INTEGER NOT NULL,
                    updated_us INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v7-subscription-rate-limit") { db in
            try db.execute(sql: "ALTER TABLE subscriptions ADD COLUMN rate_per_second REAL")
            try db.execute(sql: "ALTER TABLE subscriptions ADD COLUMN rate_burst INTEGER")
        }
    }
}

extension SQLiteStore: SubscriptionStore {
    public func insertSubscription(_ s: Subscription) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO subscriptions (id, url, types, filter, description, ordered, secret, previous_secret, previous_secret_until_us,
                        state, state_reason, state_since_us, disable_after_s, failing_since_us, headers, schedule, created_us, updated_us,
                        rate_per_second, rate_burst)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING
                    """,
                arguments: Self.arguments(s))
            return db.changesCount == 1
        }
    }

    public func updateSubscription(_ s: Subscription) async throws -> Bool {
        try await pool.write { db in
            var arguments = Self.arguments(s)
            _ = arguments.append(contentsOf: [s.id])
            try db.execute(
                sql: """
                    UPDATE subscriptions SET id = ?, url = ?, types = ?, filter = ?, description = ?, ordered = ?, secret = ?, previous_secret = ?,
                        previous_secret_until_us = ?, state = ?, state_reason = ?, state_since_us = ?, disable_after_s = ?, failing_since_us = ?,
                        headers = ?, schedule = ?, created_us = ?, updated_us = ?, rate_per_second = ?, rate_burst = ?
                    WHERE id = ?
                    """,
                arguments: arguments)
            return db.changesCount == 1
        }
    }

    public func subscription(id: String) async throws -> Subscription? {
        try await pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM subscriptions WHERE id = ?", arguments: [id]).map(Self.subscription) }
    }

    public func subscriptions() async throws -> [Subscription] {
        try await pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM subscriptions ORDER BY created_us, id").map(Self.subscription) }
    }

    public func deleteSubscription(id: String) async throws -> Bool {
        let now = Self.micros(Date())
        return try await pool.write { db in
            try db.execute(sql: "DELETE FROM subscriptions WHERE id = ?", arguments: [id])
            guard db.changesCount == 1 else { return false }
            // Its waiting messages have nowhere to go: dead letters with the reason, not silent pending rows.
            try db.execute(
                sql: """
                    UPDATE deliveries SET state = 'dead', last_error_code = 'MW-WEBHOOK-0001', last_error = 'the subscription was deleted', updated_us = ?
                    WHERE flow = ? AND state IN ('pending', 'retrying')
                    """,
                arguments: [now, Subscription.flowPrefix + id])
            return true
        }
    }

    public func resend(_ deliveries: [NewDelivery], at: Date) async throws -> [Int64] {
        let now = Self.micros(at)
        return try await pool.write { db in
            var ids: [Int64] = []
            for d in deliveries {
                try db.execute(
                    sql: """
                        INSERT INTO deliveries (flow, event_seq, partition_key, sequence, priority, state, next_attempt_us, created_us, updated_us)
                        VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)
                        ON CONFLICT (flow, event_seq) DO UPDATE SET
                            state = CASE WHEN state = 'in_flight' THEN state ELSE 'pending' END,
                            next_attempt_us = CASE WHEN state = 'in_flight' THEN next_attempt_us ELSE excluded.next_attempt_us END,
                            updated_us = excluded.updated_us
                        """,
                    arguments: [d.flow, d.eventSeq, d.partition, d.sequence, d.priority, now, now, now])
                if let id = try Int64.fetchOne(db, sql: "SELECT id FROM deliveries WHERE flow = ? AND event_seq = ?", arguments: [d.flow, d.eventSeq]) {
                    ids.append(id)
                }
            }
            return ids
        }
    }

    static func arguments(_ s: Subscription) -> StatementArguments {
        let headers = JSONValue.object(s.headers.mapValues(JSONValue.string)).canonicalText
        return [
            s.id, s.url, JSONValue.array(s.types.map(JSONValue.string)).canonicalText, Subscription.filterJSON(s.filter).canonicalText, s.description,
            s.ordered, s.secret, s.previousSecret, s.previousSecretUntil.map(micros), s.state.rawValue, s.stateReason, micros(s.stateSince),
            Int64(s.disableAfter), s.failingSince.map(micros), headers, Subscription.scheduleJSON(s.schedule).canonicalText,
            micros(s.createdAt), micros(s.updatedAt), s.rateLimit?.perSecond, s.rateLimit.map { Int64($0.burst) },
        ]
    }

    static func subscription(_ row: Row) -> Subscription {
        let parse = { (text: String) in (try? JSONParser().parse(text)) ?? .null }
        let types = parse(row["types"]).arrayValue?.compactMap(\.stringValue) ?? []
        let filter = (try? Subscription.parseFilter(parse(row["filter"]), at: .root).get()) ?? []
        var headers: [String: String] = [:]
        for (name, value) in parse(row["headers"]).objectValue ?? [:] { headers[name] = value.stringValue }
        let schedule = parse(row["schedule"]).arrayValue?.compactMap { value -> TimeInterval? in
            guard case .number(let text) = value else { return nil }
            return TimeInterval(text)
        } ?? RetryPolicy.webhookSchedule
        var s = Subscription(
            id: row["id"], url: row["url"], types: types, filter: filter, description: row["description"], ordered: row["ordered"], secret: row["secret"],
            state: Subscription.State(rawValue: row["state"]) ?? .disabled, stateReason: row["state_reason"], stateSince: date(row["state_since_us"]),
            disableAfter: TimeInterval(row["disable_after_s"] as Int64), headers: headers, schedule: schedule,
            createdAt: date(row["created_us"]), updatedAt: date(row["updated_us"]))
        s.previousSecret = row["previous_secret"]
        s.previousSecretUntil = (row["previous_secret_until_us"] as Int64?).map(date)
        s.failingSince = (row["failing_since_us"] as Int64?).map(date)
        if let rate = row["rate_per_second"] as Double? {
            s.rateLimit = Flow.RateLimit(perSecond: rate, burst: (row["rate_burst"] as Int64?).map { Int($0) })
        }
        return s
    }
}
