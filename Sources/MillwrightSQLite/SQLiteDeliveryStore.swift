import Foundation
import GRDB
import MillwrightCore

extension SQLiteStore {
    static func registerDeliveryMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v-deliveries") { db in
            try db.execute(sql: """
                CREATE TABLE deliveries (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    flow TEXT NOT NULL,
                    event_seq INTEGER NOT NULL REFERENCES events(seq),
                    partition_key TEXT NOT NULL,
                    sequence INTEGER,
                    priority INTEGER NOT NULL,
                    state TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_us INTEGER NOT NULL,
                    lease_owner TEXT,
                    lease_until_us INTEGER,
                    last_error_code TEXT,
                    last_error TEXT,
                    result TEXT,
                    created_us INTEGER NOT NULL,
                    updated_us INTEGER NOT NULL,
                    UNIQUE (flow, event_seq)
                );
                CREATE INDEX deliveries_due ON deliveries(state, next_attempt_us);
                CREATE INDEX deliveries_partition ON deliveries(partition_key, id);
                CREATE INDEX deliveries_event ON deliveries(event_seq);
                CREATE TABLE delivery_attempts (
                    delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
                    number INTEGER NOT NULL,
                    started_us INTEGER NOT NULL,
                    duration_us INTEGER NOT NULL,
                    outcome TEXT NOT NULL,
                    error_code TEXT,
                    error TEXT,
                    result TEXT,
                    PRIMARY KEY (delivery_id, number)
                ) WITHOUT ROWID;
                CREATE TABLE router_cursor (
                    name TEXT PRIMARY KEY,
                    seq INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE xrefs (
                    system TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    external_id TEXT NOT NULL,
                    value TEXT NOT NULL,
                    PRIMARY KEY (system, kind, external_id)
                ) WITHOUT ROWID;
                CREATE TABLE operation_journal (
                    key TEXT PRIMARY KEY,
                    plan TEXT NOT NULL,
                    created_us INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
    }
}

extension SQLiteStore: DeliveryStore {
    public func routerCursor() async throws -> Int64 {
        try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT seq FROM router_cursor WHERE name = 'router'") ?? 0
        }
    }

    public func enqueue(_ deliveries: [NewDelivery], cursor: Int64, at: Date) async throws {
        let now = Self.micros(at)
        try await pool.write { db in
            let insert = try db.makeStatement(sql: """
                INSERT INTO deliveries (flow, event_seq, partition_key, sequence, priority, state, next_attempt_us, created_us, updated_us)
                VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT (flow, event_seq) DO NOTHING
                """)
            for d in deliveries {
                try insert.execute(arguments: [d.flow, d.eventSeq, d.partition, d.sequence, d.priority, d.notBefore.map(Self.micros) ?? now, now, now])
            }
            try db.execute(
                sql: "INSERT INTO router_cursor (name, seq) VALUES ('router', ?) ON CONFLICT (name) DO UPDATE SET seq = max(seq, excluded.seq)",
                arguments: [cursor])
        }
    }

    public func claim(owner: String, now: Date, lease: TimeInterval, limit: Int, flows: Set<String>?, gaps: [String: GapPolicy]) async throws -> [Delivery] {
        let nowUS = Self.micros(now)
        let leaseUntil = nowUS + Int64(lease * 1_000_000)
        return try await pool.write { db in
            // d is claimable when due and nothing in its partition comes first: a live in-flight delivery, or
            // an unfinished one before it (by sequence when both have one, else by arrival).
            var sql = """
                SELECT d.* FROM deliveries d
                WHERE ((d.state IN ('pending', 'retrying') AND d.next_attempt_us <= :now)
                       OR (d.state = 'in_flight' AND d.lease_until_us < :now))
                  AND NOT EXISTS (
                      SELECT 1 FROM deliveries e
                      WHERE e.partition_key = d.partition_key AND e.id != d.id
                        AND ((e.state = 'in_flight' AND e.lease_until_us >= :now)
                             OR (e.state IN ('pending', 'retrying', 'in_flight')
                                 AND CASE WHEN e.sequence IS NOT NULL AND d.sequence IS NOT NULL
                                          THEN e.sequence < d.sequence OR (e.sequence = d.sequence AND e.id < d.id)
                                          ELSE e.id < d.id END)))
                """
            var arguments: [String: (any DatabaseValueConvertible)?] = ["now": nowUS, "limit": limit * 4]
            if let flows {
                let names = flows.sorted()
                let placeholders = names.indices.map { ":f\($0)" }.joined(separator: ", ")
                sql += " AND d.flow IN (\(placeholders))"
                for (i, name) in names.enumerated() { arguments["f\(i)"] = name }
            }
            sql += " ORDER BY d.priority, d.next_attempt_us, d.id LIMIT :limit"
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments))
            var claimed: [Delivery] = []
            for row in rows where claimed.count < limit {
                var delivery = Self.delivery(row)
                if let sequence = delivery.sequence, let policy = gaps[delivery.flow],
                    let last = try Int64.fetchOne(db, sql: """
                        SELECT max(sequence) FROM deliveries
                        WHERE partition_key = ? AND state IN ('done', 'dead') AND sequence IS NOT NULL
                        """, arguments: [delivery.partition]),
                    sequence > last + 1,
                    // Not a gap when the missing sequences are in the log under the event's partition key,
                    // routed elsewhere or nowhere (an operation report no flow takes, a downtime partitioned
                    // by machine): only events that never arrived are waited for.
                    try Int64.fetchOne(db, sql: """
                        SELECT count(DISTINCT CAST(json_extract(e.envelope, '$.sequence') AS INTEGER)) FROM events e
                        WHERE e.partition_key = (SELECT partition_key FROM events WHERE seq = ?)
                          AND CAST(json_extract(e.envelope, '$.sequence') AS INTEGER) > ?
                          AND CAST(json_extract(e.envelope, '$.sequence') AS INTEGER) < ?
                        """, arguments: [delivery.eventSeq, last, sequence]) ?? 0 < sequence - last - 1
                {
                    // The partition's next sequence has not arrived: hold, then deliver or dead-letter.
                    if now.timeIntervalSince(delivery.createdAt) < policy.hold { continue }
                    if policy.deadLetter {
                        let reason = "sequence gap in partition \(delivery.partition): expected \(last + 1), got \(sequence); the missing events did not arrive within \(Int(policy.hold)) s"
                        try db.execute(
                            sql: "UPDATE deliveries SET state = 'dead', last_error_code = 'MW-FLOW-0007', last_error = ?, updated_us = ? WHERE id = ?",
                            arguments: [reason, nowUS, delivery.id])
                        continue
                    }
                }
                try db.execute(
                    sql: "UPDATE deliveries SET state = 'in_flight', lease_owner = ?, lease_until_us = ?, attempts = attempts + 1, updated_us = ? WHERE id = ?",
                    arguments: [owner, leaseUntil, nowUS, delivery.id])
                delivery.state = .inFlight
                delivery.leaseOwner = owner
                delivery.leaseUntil = Self.date(leaseUntil)
                delivery.attempts += 1
                claimed.append(delivery)
            }
            return claimed
        }
    }

    public func complete(_ id: Int64, owner: String, attempt: DeliveryAttempt, as completion: DeliveryCompletion, at: Date) async throws -> Bool {
        let now = Self.micros(at)
        return try await pool.write { db in
            guard let holder = try String.fetchOne(db, sql: "SELECT lease_owner FROM deliveries WHERE id = ? AND state = 'in_flight'", arguments: [id]),
                holder == owner
            else { return false }
            switch completion {
            case .done(let result):
                try db.execute(
                    sql: "UPDATE deliveries SET state = 'done', lease_owner = NULL, lease_until_us = NULL, result = ?, updated_us = ? WHERE id = ?",
                    arguments: [result, now, id])
            case .retry(let due, let code, let error):
                try db.execute(
                    sql: """
                        UPDATE deliveries SET state = 'retrying', lease_owner = NULL, lease_until_us = NULL, next_attempt_us = ?,
                            last_error_code = ?, last_error = ?, updated_us = ? WHERE id = ?
                        """,
                    arguments: [Self.micros(due), code, error, now, id])
            case .dead(let code, let error):
                try db.execute(
                    sql: """
                        UPDATE deliveries SET state = 'dead', lease_owner = NULL, lease_until_us = NULL, last_error_code = ?, last_error = ?,
                            updated_us = ? WHERE id = ?
                        """,
                    arguments: [code, error, now, id])
            }
            try db.execute(
                sql: """
                    INSERT INTO delivery_attempts (delivery_id, number, started_us, duration_us, outcome, error_code, error, result)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (delivery_id, number) DO NOTHING
                    """,
                arguments: [id, attempt.number, Self.micros(attempt.startedAt), attempt.durationMicroseconds, attempt.outcome.rawValue, attempt.errorCode, attempt.error, attempt.result])
            return true
        }
    }

    public func deliveries(_ query: DeliveryQuery) async throws -> [Delivery] {
        try await pool.read { db in
            var clauses: [String] = []
            var arguments: [(any DatabaseValueConvertible)?] = []
            if let states = query.states, !states.isEmpty {
                clauses.append("state IN (" + states.map { _ in "?" }.joined(separator: ", ") + ")")
                arguments += states.map(\.rawValue)
            }
            if let flow = query.flow {
                clauses.append("flow = ?")
                arguments.append(flow)
            }
            if let seqs = query.eventSeqs {
                if seqs.isEmpty { return [] }
                clauses.append("event_seq IN (" + seqs.map { _ in "?" }.joined(separator: ", ") + ")")
                arguments += seqs
            }
            if let after = query.after {
                clauses.append("id > ?")
                arguments.append(after)
            }
            let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
            arguments.append(query.limit)
            return try Row.fetchAll(db, sql: "SELECT * FROM deliveries \(whereSQL) ORDER BY id LIMIT ?", arguments: StatementArguments(arguments))
                .map(Self.delivery)
        }
    }

    public func delivery(id: Int64) async throws -> Delivery? {
        try await pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM deliveries WHERE id = ?", arguments: [id]).map(Self.delivery) }
    }

    public func attempts(deliveryID: Int64) async throws -> [DeliveryAttempt] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY number", arguments: [deliveryID]).map { row in
                DeliveryAttempt(
                    deliveryID: row["delivery_id"], number: row["number"], startedAt: Self.date(row["started_us"]),
                    durationMicroseconds: row["duration_us"], outcome: DeliveryAttempt.Outcome(rawValue: row["outcome"]) ?? .retry,
                    errorCode: row["error_code"], error: row["error"], result: row["result"])
            }
        }
    }

    public func deliveryCounts(flow: String?) async throws -> [DeliveryState: Int] {
        try await pool.read { db in
            let rows = flow == nil
                ? try Row.fetchAll(db, sql: "SELECT state, count(*) AS n FROM deliveries GROUP BY state")
                : try Row.fetchAll(db, sql: "SELECT state, count(*) AS n FROM deliveries WHERE flow = ? GROUP BY state", arguments: [flow])
            var counts: [DeliveryState: Int] = [:]
            for row in rows { if let state = DeliveryState(rawValue: row["state"]) { counts[state] = row["n"] } }
            return counts
        }
    }

    public func oldestPending(flow: String?) async throws -> Date? {
        try await pool.read { db in
            let sql = "SELECT min(created_us) FROM deliveries WHERE state IN ('pending', 'retrying', 'in_flight')" + (flow == nil ? "" : " AND flow = ?")
            let value = try Int64.fetchOne(db, sql: sql, arguments: flow.map { [$0] } ?? [])
            return value.map(Self.date)
        }
    }

    public func replay(_ id: Int64, at: Date) async throws -> Bool {
        let now = Self.micros(at)
        return try await pool.write { db in
            try db.execute(
                sql: "UPDATE deliveries SET state = 'pending', next_attempt_us = ?, updated_us = ? WHERE id = ? AND state = 'dead'",
                arguments: [now, now, id])
            return db.changesCount == 1
        }
    }

    public func journalPlan(key: String) async throws -> String? {
        try await pool.read { db in try String.fetchOne(db, sql: "SELECT plan FROM operation_journal WHERE key = ?", arguments: [key]) }
    }

    public func recordJournalPlan(key: String, plan: String, at: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO operation_journal (key, plan, created_us) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING",
                arguments: [key, plan, Self.micros(at)])
        }
    }

    static func delivery(_ row: Row) -> Delivery {
        Delivery(
            id: row["id"], flow: row["flow"], eventSeq: row["event_seq"], partition: row["partition_key"], sequence: row["sequence"], priority: row["priority"],
            state: DeliveryState(rawValue: row["state"]) ?? .pending, attempts: row["attempts"], nextAttemptAt: date(row["next_attempt_us"]),
            leaseOwner: row["lease_owner"], leaseUntil: (row["lease_until_us"] as Int64?).map(date), lastErrorCode: row["last_error_code"],
            lastError: row["last_error"], result: row["result"], createdAt: date(row["created_us"]), updatedAt: date(row["updated_us"]))
    }
}

extension SQLiteStore: CrossReferenceStore {
    public func xref(system: String, kind: String, externalID: String) async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM xrefs WHERE system = ? AND kind = ? AND external_id = ?", arguments: [system, kind, externalID])
        }
    }

    public func putXrefs(_ xrefs: [CrossReference]) async throws {
        try await pool.write { db in
            let statement = try db.makeStatement(sql: """
                INSERT INTO xrefs (system, kind, external_id, value) VALUES (?, ?, ?, ?)
                ON CONFLICT (system, kind, external_id) DO UPDATE SET value = excluded.value
                """)
            for x in xrefs { try statement.execute(arguments: [x.system, x.kind, x.externalID, x.value]) }
        }
    }

    public func xrefs(system: String?, kind: String?, limit: Int) async throws -> [CrossReference] {
        try await pool.read { db in
            var clauses: [String] = []
            var arguments: [(any DatabaseValueConvertible)?] = []
            if let system { clauses.append("system = ?"); arguments.append(system) }
            if let kind { clauses.append("kind = ?"); arguments.append(kind) }
            arguments.append(limit)
            let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
            return try Row.fetchAll(db, sql: "SELECT * FROM xrefs \(whereSQL) ORDER BY system, kind, external_id LIMIT ?", arguments: StatementArguments(arguments)).map {
                CrossReference(system: $0["system"], kind: $0["kind"], externalID: $0["external_id"], value: $0["value"])
            }
        }
    }

    public func deleteXref(system: String, kind: String, externalID: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM xrefs WHERE system = ? AND kind = ? AND external_id = ?", arguments: [system, kind, externalID])
            return db.changesCount == 1
        }
    }
}
